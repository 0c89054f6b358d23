// The store file: private, WAL, and never a file that is not a portalctl store.
// A path that is something else is refused untouched (exit 2).

import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { APPLICATION_ID } from '../../src/store/sqlite/open.js';
import { SqliteStore } from '../../src/store/sqlite/store.js';
import { codeOf, emlLinkFor, GRANTS, runCli, world, type World } from '../helpers/run.js';
import { tempDir } from '../helpers/tmp.js';

let w: World;
afterEach(() => w?.close());

describe('a new store', () => {
  it("is made by `portals add` only, mode 0600, in WAL mode, marked as portalctl's, and holds no usable link", async () => {
    w = world();
    const first = await w.run(['users', 'list']);
    expect(first.exitCode).toBe(2);
    expect(first.stderr).toBe(`error: There is no store at "${w.db}"; check --db / PORTALCTL_DB (a new store is created only by \`portalctl portals add\`).\n`);
    expect(existsSync(w.db)).toBe(false);
    expect(JSON.parse((await w.run(['--json', 'outbox', 'list'])).stderr).error.code).toBe('store_missing');

    expect((await w.run(GRANTS)).exitCode).toBe(0);
    expect(statSync(w.db).mode & 0o777).toBe(0o600);
    expect(statSync(join(w.dir, 'store')).mode & 0o777).toBe(0o700);
    expect(await w.json(['users', 'invite', '--email', 'jane@example.org', '--first-name', 'Jane', '--last-name', 'Doe'])).toBeTruthy();
    const token = new URL(emlLinkFor(w.mailDir, 'jane@example.org')).searchParams.get('token')!;
    const db = new Database(w.db, { readonly: true });
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('application_id', { simple: true })).toBe(APPLICATION_ID);
    db.close();
    // A copy of the store files does not let anyone link an account.
    const bytes = [w.db, `${w.db}-wal`]
      .filter(existsSync)
      .map((f) => readFileSync(f).toString('latin1'))
      .join('');
    expect(bytes).not.toContain(token);
    expect(bytes).toContain('jane@example.org');
  });

  it('the default store (no PORTALCTL_DB) is created on first use under $XDG_DATA_HOME', async () => {
    w = world({ PORTALCTL_DB: '' });
    const r = await w.run(['users', 'list']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('There is no portal yet');
    expect(statSync(join(w.dir, 'data', 'portalctl', 'portalctl.db')).mode & 0o777).toBe(0o600);
  });

  it('an empty --db or --portal (`--db "$STORE"` with STORE unset) is refused before any store is opened or made', async () => {
    w = world();
    expect((await w.run(GRANTS)).exitCode).toBe(0);
    const before = readFileSync(w.db);
    for (const args of [
      ['--db', '', 'prune', '--yes'],
      ['--db=', 'portals', 'add', 'other', '--name', 'O', '--url', 'https://o.example.org', '--admin-email', 'a@example.org'],
      ['--portal', ' ', 'prune', '--yes'],
    ]) {
      const r = await w.run(['--json', ...args]);
      expect(r.exitCode, args.join(' ')).toBe(2);
      expect(JSON.parse(r.stderr).error).toMatchObject({ code: 'missing_value', message: expect.stringMatching(/^--(db|portal) is empty: /) });
    }
    // Neither the store PORTALCTL_DB names nor the default one was touched.
    expect(readFileSync(w.db).equals(before)).toBe(true);
    expect(existsSync(join(w.dir, 'data', 'portalctl'))).toBe(false);
  });

  it('a URL of another kind (mysql://, sqlite:///…) is refused, not made a file in a folder "mysql:"', async () => {
    w = world();
    expect((await w.run(GRANTS)).exitCode).toBe(0);
    const cwd = process.cwd();
    for (const [args, named] of [
      [
        [
          '--db',
          'mysql://portal:hunter2@db.example.org/portal',
          'portals',
          'add',
          'x',
          '--name',
          'X',
          '--url',
          'https://x.example.org',
          '--admin-email',
          'a@example.org',
        ],
        'The store is a "mysql://" URL',
      ],
      [['--db', `sqlite://${w.db}`, 'users', 'list'], 'The store is a "sqlite://" URL'],
      [['store', 'copy', '--to', 'mysql://portal:hunter2@db.example.org/portal'], '--to is a "mysql://" URL'],
    ] as const) {
      const r = await w.run(['--json', ...args]);
      expect(r.exitCode, args.join(' ')).toBe(2);
      const error = JSON.parse(r.stderr).error;
      expect(error).toMatchObject({ code: 'invalid_store_url', message: expect.stringContaining(named) });
      expect(error.message).not.toContain('hunter2');
    }
    expect(existsSync(join(cwd, 'mysql:'))).toBe(false);
  });

  it('such a URL in the config file is refused as a URL, not made a path beside the file; its password shown nowhere', async () => {
    w = world();
    const dir = join(w.dir, 'config', 'portalctl');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ db: 'mysql://portal:hunter2@db.example.org/portal' }), { mode: 0o600 });
    const env = { PORTALCTL_DB: undefined };
    const add = await w.run(['--json', 'portals', 'add', 'x', '--name', 'X', '--url', 'https://x.example.org', '--admin-email', 'a@example.org'], { env });
    expect(add.exitCode).toBe(2);
    expect(JSON.parse(add.stderr).error).toMatchObject({ code: 'invalid_store_url', message: expect.stringContaining('The store is a "mysql://" URL') });
    expect(existsSync(join(dir, 'mysql:'))).toBe(false);
    // config and doctor show where emails would go: the data folder, not a folder "beside" the URL.
    const data = join(w.dir, 'data', 'portalctl', 'mail');
    for (const args of [['config'], ['doctor'], ['--json', 'config'], ['--json', 'doctor']]) {
      const r = await w.run(args, { env });
      expect(r.stdout + r.stderr, args.join(' ')).not.toContain('hunter2');
      expect(r.stdout + r.stderr, args.join(' ')).toContain(data);
    }
    // The same for the flag.
    const flag = await w.run(['--db', 'mysql://portal:hunter2@db.example.org/portal', 'config']);
    expect(flag.stdout + flag.stderr).not.toContain('hunter2');
    expect(flag.stdout).toContain(data);
  });
});

describe('a path that is not a portalctl store is refused untouched (exit 2)', () => {
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const cases: [string, (p: string) => void, RegExp][] = [
    [
      'a text file',
      (p) => writeFileSync(p, 'this is not a database, just some text long enough to have a header', { mode: 0o644 }),
      /is not a SQLite database/,
    ],
    ['an empty file', (p) => writeFileSync(p, '', { mode: 0o644 }), /is an empty file/],
    ['a folder', (p) => mkdirSync(p), /is a folder/],
    [
      "another application's SQLite database",
      (p) => {
        const db = new Database(p);
        db.pragma('application_id = 42');
        db.exec('CREATE TABLE t (x)');
        db.close();
      },
      /another application \(application_id 42\)/,
    ],
    [
      'a SQLite database without our tables',
      (p) => {
        const db = new Database(p);
        db.exec('CREATE TABLE notes (x)');
        db.close();
      },
      /a SQLite database of another application/,
    ],
  ];

  it.each(cases)('%s', async (_what, make, message) => {
    dir = tempDir('portalctl-open');
    const path = join(dir, 'thing.db');
    make(path);
    const before = statSync(path);
    for (const argv of [['users', 'list'], GRANTS]) {
      const r = await runCli(['--json', '--db', path, ...argv], { HOME: dir, XDG_CONFIG_HOME: dir, PORTALCTL_NOW: '2026-11-28T14:00:00Z' });
      expect(r.exitCode).toBe(2);
      const err = JSON.parse(r.stderr).error;
      expect(err.code).toBe('store_invalid');
      expect(err.message).toMatch(message);
      expect(err.message).toContain('nothing was changed');
    }
    const after = statSync(path);
    expect([after.mode, after.size, after.mtimeMs]).toEqual([before.mode, before.size, before.mtimeMs]);
    expect(existsSync(`${path}-wal`)).toBe(false);
  });

  it('a symbolic link, even to a real store', async () => {
    dir = tempDir('portalctl-open');
    const real = join(dir, 'real.db');
    await (await SqliteStore.open(real, { create: true })).close();
    symlinkSync(real, join(dir, 'link.db'));
    expect(await codeOf(() => SqliteStore.open(join(dir, 'link.db'), { create: true }))).toBe('store_invalid');
    expect(await codeOf(() => SqliteStore.open(join(dir, 'missing.db'), { create: false }))).toBe('store_missing');
  });
});

describe('store copy --quiet', () => {
  it('prints nothing on success, as every command that changes something; without it, the counts', async () => {
    w = world();
    expect((await w.run(GRANTS)).exitCode).toBe(0);
    const quiet = await w.run(['--quiet', 'store', 'copy', '--to', join(w.dir, 'quiet.db')]);
    expect(quiet).toMatchObject({ exitCode: 0, stdout: '', stderr: '' });
    expect(existsSync(join(w.dir, 'quiet.db'))).toBe(true);
    const told = await w.run(['store', 'copy', '--to', join(w.dir, 'told.db')]);
    expect(told.stdout).toMatch(/^Table\tRows\n/);
  });
});
