// Issue 9, third defect: SQLite errors from statements that bypassed the
// store's wrapper (the streamed listings, the copy, the checks) surfaced as
// "internal error". Every command that reads a damaged store says so in its
// own words — store_corrupt, exit 1 — whichever path its statements take.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { closeSync, existsSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { GRANTS, world, type World } from '../helpers/run.js';

let w: World;
beforeEach(async () => {
  w = world();
  expect((await w.run(GRANTS)).exitCode).toBe(0);
  for (const who of ['jane', 'john']) {
    const r = await w.run(['users', 'invite', '--email', `${who}@example.org`, '--first-name', who, '--last-name', 'Doe']);
    expect(r.exitCode, r.stderr).toBe(0);
  }
});
afterEach(() => w.close());

/** Overwrites the pages of the given tables (and their indexes), or of every table: reading them fails with SQLITE_CORRUPT; the store still opens. */
function damage(tables: string[] | 'all'): void {
  const db = new Database(w.db);
  db.pragma('wal_checkpoint(TRUNCATE)');
  const pageSize = db.pragma('page_size', { simple: true }) as number;
  const pages = (
    db
      .prepare(
        `SELECT d.pageno AS p FROM dbstat d JOIN sqlite_schema s ON s.name = d.name
         WHERE s.name NOT LIKE 'sqlite_%' AND (:all OR s.tbl_name IN (SELECT value FROM json_each(:tables)))`,
      )
      .all({ all: tables === 'all' ? 1 : 0, tables: JSON.stringify(tables === 'all' ? [] : tables) }) as { p: number }[]
  ).map((r) => r.p);
  db.close();
  expect(pages.length).toBeGreaterThan(0);
  for (const f of [`${w.db}-wal`, `${w.db}-shm`]) if (existsSync(f)) rmSync(f);
  const fd = openSync(w.db, 'r+');
  try {
    for (const p of pages) writeSync(fd, Buffer.alloc(256, 0xff), 0, 256, (p - 1) * pageSize);
  } finally {
    closeSync(fd);
  }
}

async function expectCorrupt(argv: string[]): Promise<void> {
  // --csv is a format of its own (with --json it is a usage error): its error is read as text.
  if (argv.includes('--csv')) {
    const r = await w.run(argv);
    expect(r.exitCode, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/^error: .*is damaged/m);
    expect(r.stderr).not.toMatch(/internal/);
    return;
  }
  const r = await w.run(['--json', ...argv]);
  expect(r.exitCode, r.stderr).toBe(1);
  expect(JSON.parse(r.stderr).error).toMatchObject({ code: 'store_corrupt', message: expect.stringContaining('is damaged') });
}

// The portal is read first by almost every command: only the tables a command streams are damaged, so the error comes from the stream.
describe('a damaged table read as a stream (the portals table intact)', () => {
  it.each([
    ['users list', ['users', 'registrations']],
    ['users list --csv', ['users', 'registrations']],
    ['audit', ['audit']],
    ['events', ['events']],
    ['outbox list', ['outbox']],
    ['prune --dry-run --yes', ['users', 'registrations']],
    ['store copy --to COPY', ['users']],
  ])('%s: store_corrupt (exit 1), never an internal error', async (command, tables) => {
    damage(tables);
    await expectCorrupt(command.split(' ').map((a) => (a === 'COPY' ? join(w.dir, 'copy.db') : a)));
  });
});

describe('a damaged store', () => {
  beforeEach(() => damage('all'));

  it.each([
    ['users list'],
    ['users list --csv'],
    ['users list --status pending'],
    ['users show 1'],
    ['users access-check --service nih --account jdoe'],
    ['portals list'],
    ['outbox list'],
    ['outbox send'],
    ['audit'],
    ['events'],
    ['prune --dry-run'],
    ['remind --dry-run'],
    ['users resend-registration 1'],
  ])('%s: store_corrupt (exit 1), never an internal error', async (command) => {
    await expectCorrupt(command.split(' '));
  });

  it('store copy (every table damaged): store_corrupt', async () => {
    const target = join(w.dir, 'copy.db');
    const r = await w.run(['--json', 'store', 'copy', '--to', target]);
    expect(r.exitCode, r.stderr).toBe(1);
    expect(JSON.parse(r.stderr).error.code).toBe('store_corrupt');
  });

  it('doctor: the integrity check fails; no internal error', async () => {
    const r = await w.run(['--json', 'doctor']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).not.toMatch(/internal/);
    const checks = JSON.parse(r.stdout).checks as { name: string; status: string; detail: string }[];
    expect(checks.find((c) => c.name === 'store integrity')).toMatchObject({
      status: 'fail',
      detail: expect.stringMatching(/malformed|problem/),
    });
  });
});

describe('a damaged audit trail', () => {
  it('a write it refuses says what was not done, and not to "try again" after "restore it from a backup"', async () => {
    damage(['audit', 'events']);
    const r = await w.run(['users', 'invite', '--email', 'zz@example.org', '--first-name', 'Z', '--last-name', 'Z']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/is damaged \(.*\); restore it from a backup; nothing was changed: "zz@example.org" was not invited\.\n$/);
    expect(r.stderr).not.toMatch(/[Tt]ry again/);
  });
});
