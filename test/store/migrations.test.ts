// A store made by portalctl's first release (migrations 0001–0003) is
// upgraded in place by 0004: every row kept, links still working, ids never
// reused, keys recomputed with the Unicode-aware rule, the application_id set.

import { afterEach, describe, expect, it } from 'vitest';
import { chmodSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { VERSION } from '../../src/cli/version-number.js';
import { mintToken, tokenDigest } from '../../src/domain/tokens.js';
import { APPLICATION_ID, LATEST_SQLITE_VERSION, listSqliteMigrations, migrate, registerFunctions, SQLITE_MIGRATIONS_DIR } from '../../src/store/sqlite/open.js';
import { SqliteStore } from '../../src/store/sqlite/store.js';
import { GRANTS, world, type World } from '../helpers/run.js';
import { tempDir } from '../helpers/tmp.js';

const T = '2026-11-01T09:00:00.000Z';
const LATER = '2026-11-20T09:00:00.000Z';

let dir: string;
let w: World | undefined;
afterEach(() => {
  w?.close();
  w = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Applies the first release's migrations the way its runner did: each file with its user_version. */
function firstReleaseStore(path: string): Database.Database {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  for (const m of listSqliteMigrations().filter((x) => x.version <= 3)) {
    db.transaction(() => {
      db.exec(readFileSync(join(SQLITE_MIGRATIONS_DIR, m.file), 'utf8'));
      db.pragma(`user_version = ${m.version}`);
    }).immediate();
  }
  return db;
}

describe('upgrading a store of the first release', () => {
  it('keeps every row and link, never reuses the id of a pruned user, sets application_id and recomputes keys Unicode-aware', async () => {
    dir = tempDir('portalctl-mig');
    const path = join(dir, 'portalctl.db');
    const token = mintToken();
    const db = firstReleaseStore(path);
    expect(db.pragma('user_version', { simple: true })).toBe(3);
    db.exec(`
      INSERT INTO portals (id, slug, name, base_url, admin_email, register_url, created_at)
        VALUES (1, 'grants', 'Grants Portal', 'https://grants.example.org', 'admin@example.org', 'https://grants.example.org/register', '${T}');
      -- The first release folded keys with toLowerCase(): "straße" and "STRASSE" were two accounts.
      INSERT INTO users (id, portal_id, first_name, last_name, email, email_key, login_service, username, username_key, linked_at, removal_due_at, created_at)
        VALUES (1, 1, 'Jürgen', 'MÜLLER', 'J.Mueller@Example.org', 'j.mueller@example.org', 'nih', 'Straße', 'straße', '${T}', NULL, '${T}'),
               (2, 1, 'Ann', 'Lee', 'ann@example.org', 'ann@example.org', NULL, NULL, NULL, NULL, '2026-12-01T09:00:00.000Z', '${T}'),
               (3, 1, 'Old', 'Timer', 'old@example.org', 'old@example.org', NULL, NULL, NULL, NULL, '2026-11-10T09:00:00.000Z', '${T}');
      INSERT INTO registrations (id, user_id, email, created_at, sent_at, expires_at, state, used_at, used_service, used_username)
        VALUES (1, 1, 'J.Mueller@Example.org', '${T}', '${T}', '2026-11-08T09:00:00.000Z', 'used', '${T}', 'nih', 'Straße'),
               (2, 2, 'ann@example.org', '${LATER}', '${LATER}', '2026-11-27T09:00:00.000Z', 'active', NULL, NULL, NULL),
               (3, 3, 'old@example.org', '${T}', '${T}', '2026-11-08T09:00:00.000Z', 'active', NULL, NULL, NULL);
      INSERT INTO outbox (id, registration_id, state, attempts, created_at, updated_at, sent_at, claimed_by, claimed_at)
        VALUES (1, 1, 'sent', 1, '${T}', '${T}', '${T}', NULL, NULL),
               (2, 2, 'sent', 1, '${LATER}', '${LATER}', '${LATER}', 'host:1', '${LATER}');
      INSERT INTO link_attempts (at, user_id, registration_id, service, username, outcome, actor)
        VALUES ('${T}', 1, 1, 'nih', 'Straße', 'linked', 'admin');
      INSERT INTO audit (at, actor, action, portal, user_id, user_email, after)
        VALUES ('${T}', 'admin', 'invite', 'grants', 3, 'old@example.org', '{"registrationId":3}'),
               ('${LATER}', 'cron', 'prune', 'grants', 3, 'old@example.org', NULL);
    `);
    db.prepare('INSERT INTO link_tokens (digest, registration_id, minted_at) VALUES (?, 2, ?)').run(tokenDigest(token), LATER);
    // The first release's prune: the user with the highest id goes, the audit trail remembers it.
    db.exec('DELETE FROM users WHERE id = 3');
    db.close();
    chmodSync(path, 0o644); // the first release left the mode to the umask

    w = world({ PORTALCTL_DB: path, PORTALCTL_NOW: LATER });
    const list = await w.json(['users', 'list']);
    expect(list.users.map((u: { id: number; email: string }) => [u.id, u.email])).toEqual([
      [1, 'J.Mueller@Example.org'],
      [2, 'ann@example.org'],
    ]);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const up = new Database(path, { readonly: true });
    expect(up.pragma('user_version', { simple: true })).toBe(LATEST_SQLITE_VERSION);
    expect(up.pragma('application_id', { simple: true })).toBe(APPLICATION_ID);
    expect(up.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(up.prepare('SELECT username_key FROM users WHERE id = 1').get()).toEqual({ username_key: 'strasse' });
    expect(up.prepare('SELECT claimed_by, kind FROM outbox WHERE id = 2').get()).toEqual({ claimed_by: 'host:1', kind: 'registration' });
    expect(up.prepare('SELECT count(*) AS n FROM audit WHERE user_id = 3').get()).toEqual({ n: 2 });
    up.close();

    // Keys follow the Unicode rule now: MÜLLER is found as müller, Straße is STRASSE.
    expect((await w.json(['users', 'list', '--search', 'müller'])).users.map((u: { id: number }) => u.id)).toEqual([1]);
    expect((await w.json(['users', 'access-check', '--service', 'nih', '--account', 'STRASSE'])).linked).toBe(true);
    expect((await w.json(['users', 'whoami-login', 'j.mueller@example.org'])).users[0].username).toBe('Straße');
    // The link in Ann's email still works.
    expect((await w.json(['link', token, '--service', 'ims', '--account', 'ann'])).users[0]).toMatchObject({ id: 2, status: 'linked' });
    // User 3 was pruned before the upgrade: "user 3" keeps meaning that person.
    const next = await w.json(['users', 'invite', '--email', 'new@example.org', '--first-name', 'New', '--last-name', 'Person']);
    expect(next.users[0].id).toBe(4);
    expect((await w.json(['audit', '--user', '3'])).audit.map((a: { action: string }) => a.action)).toEqual(['prune', 'invite']);
  });

  it('never reuses an id after the newest user is pruned on the current schema either', async () => {
    w = world();
    expect((await w.run(GRANTS)).exitCode).toBe(0);
    const a = await w.json(['users', 'invite', '--email', 'a@example.org', '--first-name', 'A', '--last-name', 'A']);
    expect((await w.run(['prune', '--yes'], { now: '2027-02-01T00:00:00Z' })).exitCode).toBe(0);
    const b = await w.json(['users', 'invite', '--email', 'b@example.org', '--first-name', 'B', '--last-name', 'B'], { now: '2027-02-01T00:00:00Z' });
    expect(b.users[0].id).toBeGreaterThan(a.users[0].id);
  });

  it('refuses a store written by a newer portalctl, changing nothing (exit 1)', async () => {
    w = world();
    await w.run(GRANTS);
    const db = new Database(w.db);
    db.pragma('user_version = 999');
    db.close();
    const r = await w.run(['users', 'list']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toBe(
      `error: The store has schema version 999, newer than this portalctl knows (${LATEST_SQLITE_VERSION}); upgrade portalctl before using this store.\n`,
    );
    const json = await w.run(['--json', 'users', 'list']);
    expect(JSON.parse(json.stderr).error.code).toBe('store_too_new');
  });
});

describe('upgrading a round-two store (0005: the outbox rebuilt)', () => {
  it('keeps every message with its id, goes on with the ids past a deleted newest one, and still refuses a kind or state it does not know', () => {
    dir = tempDir('portalctl-mig');
    const db = new Database(join(dir, 'portalctl.db'));
    registerFunctions(db);
    migrate(db, SQLITE_MIGRATIONS_DIR, 4);
    db.exec(`
      INSERT INTO portals (id, slug, name, base_url, admin_email, register_url, created_at)
        VALUES (1, 'grants', 'Grants Portal', 'https://grants.example.org', 'admin@example.org', 'https://grants.example.org/register', '${T}');
      INSERT INTO users (id, portal_id, first_name, last_name, email, email_key, removal_due_at, created_at, search_key, name_key)
        VALUES (1, 1, 'Ann', 'Lee', 'ann@example.org', 'ann@example.org', '${LATER}', '${T}', 'ann lee', 'lee, ann');
      INSERT INTO registrations (id, user_id, email, created_at, sent_at, expires_at, state)
        VALUES (1, 1, 'ann@example.org', '${T}', '${T}', '${LATER}', 'active');
      INSERT INTO outbox (id, registration_id, kind, state, attempts, last_error, created_at, updated_at, sent_at, next_attempt_at, claimed_by, claimed_at)
        VALUES (1, 1, 'registration', 'sent', 1, NULL, '${T}', '${T}', '${T}', NULL, NULL, NULL),
               (2, 1, 'reminder', 'failed', 3, '450 mailbox busy', '${T}', '${LATER}', NULL, '${LATER}', 'host:7', '${LATER}'),
               (3, 1, 'removal_warning', 'queued', 0, NULL, '${LATER}', '${LATER}', NULL, NULL, NULL, NULL);
      DELETE FROM outbox WHERE id = 3;
    `);
    const before = db.prepare('SELECT * FROM outbox ORDER BY id').all();
    migrate(db);
    expect(db.pragma('user_version', { simple: true })).toBe(LATEST_SQLITE_VERSION);
    expect(db.prepare('SELECT * FROM outbox ORDER BY id').all()).toEqual(before);
    const enqueue = db.prepare('INSERT INTO outbox (registration_id, kind, state, created_at, updated_at) VALUES (1, ?, ?, ?, ?)');
    // Message 3 was deleted before the upgrade: "message 3" keeps meaning that one.
    expect(enqueue.run('reminder', 'queued', LATER, LATER).lastInsertRowid).toBe(4);
    expect(() => enqueue.run('newsletter', 'queued', LATER, LATER)).toThrow(/CHECK constraint failed/);
    expect(() => enqueue.run('reminder', 'lost', LATER, LATER)).toThrow(/CHECK constraint failed/);
    expect(
      db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'outbox' ORDER BY name")
        .all()
        .map((r) => (r as { name: string }).name),
    ).toEqual(['outbox_pending', 'outbox_registration']);
    // Deleting the registration still takes its messages with it.
    db.pragma('foreign_keys = ON');
    db.exec('DELETE FROM registrations WHERE id = 1');
    expect(db.prepare('SELECT count(*) AS n FROM outbox').get()).toEqual({ n: 0 });
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    db.close();
  });
});

describe('the migration runner', () => {
  it('applies versions in numeric order, not text order, each with its user_version', () => {
    dir = tempDir('portalctl-mig');
    writeFileSync(join(dir, '0002_b.sql'), 'CREATE TABLE b (x); INSERT INTO a VALUES (2);');
    writeFileSync(join(dir, '10_c.sql'), 'INSERT INTO a VALUES (10);');
    writeFileSync(join(dir, '1_a.sql'), 'CREATE TABLE a (v);');
    writeFileSync(join(dir, 'notes.txt'), 'not a migration');
    const db = new Database(':memory:');
    migrate(db, dir, 10);
    expect(db.pragma('user_version', { simple: true })).toBe(10);
    expect((db.prepare('SELECT group_concat(v) AS v FROM a').get() as { v: string }).v).toBe('2,10');
    db.close();
  });

  it('applies a migration whole or not at all', () => {
    dir = tempDir('portalctl-mig');
    writeFileSync(join(dir, '0001_a.sql'), 'CREATE TABLE a (v);');
    writeFileSync(join(dir, '0002_broken.sql'), 'CREATE TABLE b (x); INSERT INTO nowhere VALUES (1);');
    const db = new Database(':memory:');
    expect(() => migrate(db, dir, 2)).toThrow(/nowhere/);
    expect(db.pragma('user_version', { simple: true })).toBe(1);
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'b'").get()).toBeUndefined();
    db.close();
  });

  it('knows the newest migration: LATEST_SQLITE_VERSION is the last file in migrations/sqlite/', () => {
    const files = listSqliteMigrations();
    expect(files.map((m) => m.version)).toEqual(files.map((_, i) => i + 1));
    expect(LATEST_SQLITE_VERSION).toBe(files[files.length - 1]!.version);
  });

  it('builds a new store at the latest version', () => {
    dir = tempDir('portalctl-mig');
    const store = SqliteStore.open(join(dir, 'new.db'), { create: true });
    expect(store.db.pragma('user_version', { simple: true })).toBe(LATEST_SQLITE_VERSION);
    void store.close();
  });
});

describe('the version', () => {
  it("src/cli/version-number.ts is package.json's version", () => {
    const pkg = JSON.parse(readFileSync(resolve(import.meta.dirname, '../../package.json'), 'utf8')) as { version: string };
    expect(VERSION).toBe(pkg.version);
  });
});
