// The lifecycle end to end, in-process through the real main(), on SQLite and
// on PostgreSQL: invite → link → resend → prune → audit → events, the
// Unicode look-ups, doctor, and what a named store that does not exist does.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/open.js';
import { at, GRANTS, world, type World } from '../helpers/run.js';
import { newStore, STORE_KINDS, type TestStore } from '../helpers/stores.js';

/** The Step 2 link of the newest .eml written for `to`. */
function linkFor(dir: string, to: string): string {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.eml'))
    .sort();
  for (const f of files.reverse()) {
    const raw = readFileSync(join(dir, f), 'utf8')
      .replace(/=\r?\n/g, '')
      .replace(/=3D/g, '=');
    if (!new RegExp(`^To: .*${to.replace(/[.+]/g, '\\$&')}`, 'mi').test(raw)) continue;
    const m = /(https:\/\/[^\s"<>]*\/register\/link\?token=[A-Za-z0-9_-]+)/.exec(raw);
    if (m) return m[1]!;
  }
  throw new Error(`no email to ${to} in ${dir}`);
}

describe.each(STORE_KINDS)('on %s', (kind) => {
  let ts: TestStore;
  let w: World;
  let mail: string;
  beforeAll(async () => {
    ts = await newStore(kind, { bare: true });
    w = world(ts.env);
    mail = kind === 'sqlite' ? join(ts.location, '..', 'mail') : join(w.dir, 'data', 'portalctl', 'mail');
  }, 60_000);
  afterAll(async () => {
    w.close();
    await ts.cleanup();
  }, 60_000);

  it('a named store that does not exist: store_missing (exit 2) for everything but portals add', async () => {
    for (const argv of [['users', 'list'], ['prune', '--yes'], ['portals', 'list'], ['audit'], ['outbox', 'send']]) {
      const r = await w.run(['--json', ...argv]);
      expect(r.exitCode, argv.join(' ')).toBe(2);
      expect(JSON.parse(r.stderr).error.code).toBe('store_missing');
    }
    const add = await w.run(GRANTS);
    expect(add.exitCode, add.stderr).toBe(0);
  });

  it('invite → link → resend → prune → audit → events', async () => {
    const inv = await w.json(['users', 'invite', '--email', 'Joerg.Mueller@example.org', '--first-name', 'Jörg', '--last-name', 'Müller']);
    const jorg = inv.users[0];
    expect(jorg).toMatchObject({ status: 'pending', portal: 'grants', registrationExpiresAt: at(7) });
    await w.json(['users', 'invite', '--email', 'old@example.org', '--first-name', 'Old', '--last-name', 'Timer']);
    // Link with a mixed-case account; whoami and search find it under any case.
    const link = linkFor(mail, 'Joerg.Mueller@example.org');
    const linked = await w.json(['link', link, '--service', 'ims', '--account', 'JMüller'], { now: at(1) });
    expect(linked.users[0]).toMatchObject({ id: jorg.id, status: 'linked', username: 'JMüller', loginService: 'ims' });
    const again = await w.run(['--json', 'link', link, '--service', 'nih', '--account', 'other'], { now: at(1) });
    expect(JSON.parse(again.stderr).error.code).toBe('link_used');
    expect((await w.json(['users', 'list', '--search', 'MÜLLER'])).users.map((u: { id: number }) => u.id)).toEqual([jorg.id]);
    expect((await w.json(['users', 'list', '--search', 'jmüller'])).users.map((u: { id: number }) => u.id)).toEqual([jorg.id]);
    expect((await w.json(['users', 'whoami-login', 'JOERG.MUELLER@EXAMPLE.ORG'])).users[0].username).toBe('JMüller');

    // Resend to old@: the first link stops working, the new one works.
    const oldLink = linkFor(mail, 'old@example.org');
    await w.json(['users', 'resend-registration', 'old@example.org'], { now: at(2) });
    const newLink = linkFor(mail, 'old@example.org');
    expect(newLink).not.toBe(oldLink);
    const sup = await w.run(['--json', 'link', oldLink, '--service', 'nih', '--account', 'old'], { now: at(3) });
    expect(JSON.parse(sup.stderr).error.code).toBe('link_superseded');

    // An expired link tried with Ölaf: access-check finds the attempt when asked for ölaf.
    const exp = await w.run(['--json', 'link', newLink, '--service', 'ims', '--account', 'Ölaf'], { now: at(10) });
    expect(JSON.parse(exp.stderr).error.code).toBe('link_expired');
    const check = await w.run(['--json', 'users', 'access-check', '--service', 'ims', '--account', 'ölaf'], { now: at(10) });
    const diag = JSON.parse(check.stdout);
    expect(diag.linked).toBe(false);
    expect(diag.users.map((u: { email: string }) => u.email)).toEqual(['old@example.org']);

    // Prune at +40 days: old@ goes (unlinked, past removal, link expired); Jörg stays.
    const pruned = await w.json(['prune', '--yes'], { now: at(40) });
    expect(pruned.removed.map((u: { email: string }) => u.email)).toEqual(['old@example.org']);
    expect((await w.json(['users', 'list'], { now: at(40) })).users.map((u: { id: number }) => u.id)).toEqual([jorg.id]);

    const audit = (await w.json(['audit'])).audit as { action: string; userEmail: string }[];
    expect(audit.map((a) => a.action)).toEqual(expect.arrayContaining(['portal-add', 'invite', 'link', 'resend-registration', 'prune']));
    const oldTrail = await w.json(['audit', '--user', 'OLD@example.org']);
    expect(oldTrail.audit.map((a: { action: string }) => a.action).sort()).toEqual(['invite', 'prune', 'resend-registration']);

    // The event log, oldest first, ids increasing.
    const store = await openStore({ value: ts.location, explicit: true }, { create: false, password: ts.env.PGPASSWORD, env: {} });
    try {
      const events = await store.read((tx) => tx.events.since(0, 100));
      const ids = events.map((e) => e.id);
      expect(ids).toEqual([...ids].sort((a, b) => a - b));
      expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(['invited', 'email_sent', 'linked', 'link_failed', 'expired', 'removed']));
      expect(events.filter((e) => e.type === 'removed').map((e) => e.email)).toEqual(['old@example.org']);
    } finally {
      await store.close();
    }
  });

  it('doctor reports the store kind, server version, migration level and round trip', async () => {
    const r = await w.json(['doctor']);
    const store = r.checks.find((c: { name: string }) => c.name === 'store');
    expect(store.status).toBe('ok');
    expect(store.detail).toMatch(kind === 'sqlite' ? /SQLite \d+\.\d+/ : /PostgreSQL \d+/);
    expect(store.detail).toMatch(/round trip \d+(\.\d+)? ms/);
    expect(r.checks.find((c: { name: string }) => c.name === 'store schema').detail).toMatch(/^migration \d+ \(current\)/);
    if (kind === 'postgres') expect(JSON.stringify(r)).not.toContain(ts.env.PGPASSWORD);
  });
});
