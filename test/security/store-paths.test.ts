// Issue 14, High: `--db` must never touch a path before it is known to be a
// portalctl store (or a new one it may create). Each attack points portalctl
// at something that is not a store and checks that the thing is left exactly
// as it was — content, mode, times — and that no -journal/-wal/-shm appears.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { execa } from 'execa';
import { execFileSync } from 'node:child_process';
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN } from '../helpers/cli.js';
import { GRANTS, world, type World } from '../helpers/run.js';
import { canMount, companions, fingerprint, isRoot, tmpfs } from './fixtures.js';

const PASSWD = 'root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\nalice:x:1000:1000:Alice:/home/alice:/bin/bash\n';

/** Commands that read, write, create a store, or only look at it. */
const COMMANDS: string[][] = [
  ['users', 'list'],
  ['portals', 'list'],
  ['outbox', 'list'],
  ['users', 'invite', '--email', 'a@example.org', '--first-name', 'A', '--last-name', 'B'],
  GRANTS,
  ['prune', '--yes'],
];

let w: World;
beforeAll(() => {
  w = world();
});
afterAll(() => w.close());

/** Runs every command against `path` (as --db and as PORTALCTL_DB) and checks the refusal and that nothing changed. */
async function attack(path: string, code = 'store_invalid', { target = path }: { target?: string } = {}) {
  const before = fingerprint(path);
  const targetBefore = fingerprint(target);
  const beside = companions(target);
  for (const argv of COMMANDS) {
    for (const how of ['flag', 'env'] as const) {
      const r = how === 'flag' ? await w.run(['--json', '--db', path, ...argv]) : await w.run(['--json', ...argv], { env: { PORTALCTL_DB: path } });
      expect(r.exitCode, `${argv.join(' ')} (${how}): ${r.stderr}`).toBe(2);
      expect(JSON.parse(r.stderr).error.code).toBe(code);
      expect(r.stderr).toMatch(/nothing was changed/);
    }
  }
  // doctor only looks, and says what is wrong.
  const d = await w.run(['--json', '--db', path, 'doctor']);
  expect(d.exitCode).toBe(1);
  expect(JSON.parse(d.stdout).checks.find((c: { name: string }) => c.name === 'store').status).toBe('fail');
  expect(fingerprint(path)).toEqual(before);
  expect(fingerprint(target)).toEqual(targetBefore);
  expect(companions(target)).toEqual(beside);
}

describe('--db at something that is not a store', () => {
  it('a copy of /etc/passwd (mode 0644, old mtime): refused, not a byte, mode or time changed', async () => {
    const passwd = join(w.dir, 'passwd');
    writeFileSync(passwd, PASSWD, { mode: 0o644 });
    chmodSync(passwd, 0o644);
    utimesSync(passwd, new Date('2020-01-01T00:00:00Z'), new Date('2020-01-01T00:00:00Z'));
    await attack(passwd);
    expect(lstatSync(passwd).mode & 0o777).toBe(0o644);
  });

  it('a symbolic link to it: refused without following, the target untouched', async () => {
    const passwd = join(w.dir, 'passwd2');
    writeFileSync(passwd, PASSWD, { mode: 0o644 });
    const link = join(w.dir, 'store-link.db');
    symlinkSync(passwd, link);
    await attack(link, 'store_invalid', { target: passwd });
  });

  it('a symbolic link to a real store: refused too (the link could be swapped); the store untouched', async () => {
    const real = world();
    try {
      expect((await real.run(GRANTS)).exitCode).toBe(0);
      const link = join(w.dir, 'link-to-store.db');
      symlinkSync(real.db, link);
      await attack(link, 'store_invalid', { target: real.db });
    } finally {
      real.close();
    }
  });

  it('a FIFO: refused at once, never opened for reading (which would block)', async () => {
    const fifo = join(w.dir, 'fifo.db');
    execFileSync('mkfifo', [fifo]);
    const started = Date.now();
    await attack(fifo);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('a folder: refused', async () => {
    const dir = join(w.dir, 'folder.db');
    mkdirSync(dir);
    await attack(dir);
  });

  it('/dev/zero: refused without reading it', async () => {
    const before = fingerprint('/dev/zero');
    const r = await w.run(['--db', '/dev/zero', 'users', 'list']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/not a regular file/);
    expect(fingerprint('/dev/zero')).toEqual(before);
  });

  it('a sparse 1 GB file: refused from its header, fast, unchanged', async () => {
    const big = join(w.dir, 'sparse.db');
    execFileSync('truncate', ['-s', '1G', big]);
    const started = Date.now();
    await attack(big);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('an empty file: refused (it does not silently become a store), left empty', async () => {
    const empty = join(w.dir, 'empty.db');
    writeFileSync(empty, '', { mode: 0o644 });
    await attack(empty);
    expect(lstatSync(empty).size).toBe(0);
  });

  it("another application's SQLite database (tables, journal_mode DELETE, 0644): refused, not a byte changed, no -wal/-shm/-journal", async () => {
    const bookmarks = join(w.dir, 'bookmarks.sqlite');
    const db = new Database(bookmarks);
    db.pragma('journal_mode = DELETE');
    db.exec(`CREATE TABLE bookmarks (id INTEGER PRIMARY KEY, url TEXT, title TEXT); CREATE TABLE tags (name TEXT);`);
    db.prepare('INSERT INTO bookmarks (url, title) VALUES (?, ?)').run('https://example.org', 'Example');
    db.close();
    chmodSync(bookmarks, 0o644);
    await attack(bookmarks);
    const check = new Database(bookmarks, { readonly: true });
    expect(check.pragma('journal_mode', { simple: true })).toBe('delete');
    expect(check.pragma('user_version', { simple: true })).toBe(0);
    check.close();
  });

  it('a SQLite database carrying another application_id, even one with our table names: refused', async () => {
    const other = join(w.dir, 'other-app.sqlite');
    const db = new Database(other);
    db.pragma('journal_mode = DELETE');
    db.pragma('application_id = 1234');
    db.exec('CREATE TABLE users (id INTEGER PRIMARY KEY)');
    db.close();
    await attack(other);
  });

  it('an empty SQLite database portalctl did not create: refused', async () => {
    const blank = join(w.dir, 'blank.sqlite');
    const db = new Database(blank);
    db.pragma('journal_mode = DELETE');
    db.pragma('user_version = 7');
    db.close();
    await attack(blank);
  });

  it.runIf(isRoot)('a device node made for the test (a second /dev/null): refused, its mode kept', async () => {
    const dev = join(w.dir, 'null-device');
    execFileSync('mknod', ['-m', '666', dev, 'c', '1', '3']);
    await attack(dev);
    expect(lstatSync(dev).mode & 0o777).toBe(0o666);
  });
});

describe('--db /dev/null, by a real process', () => {
  it('leaves /dev/null exactly as it was and creates no /dev/null-journal', async () => {
    const before = fingerprint('/dev/null');
    const beside = companions('/dev/null');
    for (const argv of [['users', 'list'], GRANTS, ['doctor']]) {
      const r = await execa('node', [BIN, '--db', '/dev/null', ...argv], { reject: false, extendEnv: false, env: { ...w.env, PATH: process.env.PATH } });
      expect(r.exitCode, r.stderr).toBe(argv[0] === 'doctor' ? 1 : 2);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    }
    const after = fingerprint('/dev/null');
    expect({ mode: after.mode, uid: after.uid, gid: after.gid, rdev: after.rdev }).toEqual({
      mode: before.mode,
      uid: before.uid,
      gid: before.gid,
      rdev: before.rdev,
    });
    expect(companions('/dev/null')).toEqual(beside);
  });
});

// Needs mount(8) rights (root with CAP_SYS_ADMIN); elsewhere this is skipped and says so.
describe.runIf(canMount)('a store on a read-only file system', () => {
  it('read-only commands work (the store is opened read-only); a change is refused as store_readonly and the store is intact', async () => {
    const ro = world();
    const fs = tmpfs(join(ro.dir, 'ro'), '4m');
    try {
      const db = join(ro.dir, 'ro', 'store', 'portalctl.db');
      ro.env.PORTALCTL_DB = db;
      expect((await ro.run(GRANTS)).exitCode).toBe(0);
      expect((await ro.run(['users', 'invite', '--email', 'a@example.org', '--first-name', 'A', '--last-name', 'B'])).exitCode).toBe(0);
      const before = fingerprint(db);
      fs.readOnly();
      for (const argv of [['users', 'list'], ['portals', 'list'], ['outbox', 'list'], ['audit'], ['users', 'show', '1'], ['users', 'whoami-login', '1']]) {
        const r = await ro.run(argv);
        expect(r.exitCode, `${argv.join(' ')}: ${r.stderr}`).toBe(0);
        expect(r.stderr).not.toMatch(/Cannot create the store/);
      }
      expect((await ro.json(['users', 'list'])).users).toHaveLength(1);
      const r = await ro.run(['--json', 'users', 'invite', '--email', 'b@example.org', '--first-name', 'B', '--last-name', 'C']);
      expect(r.exitCode).toBe(1);
      expect(JSON.parse(r.stderr).error.code).toBe('store_readonly');
      expect(fingerprint(db)).toEqual(before);
    } finally {
      fs.unmount();
      ro.close();
    }
  });
});

// A store the helpdesk may read but not write: owned by the service's user, in a folder only it may write.
describe.runIf(isRoot)('a store this user may read but not write, in a folder it may not write', () => {
  it('read-only commands work without writing anything; a change is refused as store_readonly', async () => {
    const owner = world();
    const shared = mkdtempSync(join(tmpdir(), 'portalctl-shared-'));
    try {
      const db = join(shared, 'portalctl.db');
      owner.env.PORTALCTL_DB = db;
      expect((await owner.run(GRANTS)).exitCode).toBe(0);
      expect((await owner.run(['users', 'invite', '--email', 'a@example.org', '--first-name', 'A', '--last-name', 'B'])).exitCode).toBe(0);
      chmodSync(shared, 0o755);
      chmodSync(db, 0o644);
      const before = fingerprint(db);
      const home = mkdtempSync(join(tmpdir(), 'portalctl-helpdesk-'));
      chmodSync(home, 0o777);
      const asHelpdesk = (argv: string[]) =>
        execa('node', [BIN, '--db', db, ...argv], {
          reject: false,
          extendEnv: false,
          uid: 65534,
          gid: 65534,
          env: {
            PATH: process.env.PATH,
            HOME: home,
            XDG_CONFIG_HOME: join(home, 'c'),
            XDG_DATA_HOME: join(home, 'd'),
            PORTALCTL_NOW: owner.env.PORTALCTL_NOW ?? '',
          },
        });
      for (const argv of [
        ['users', 'list'],
        ['users', 'whoami-login', '1'],
        ['users', 'show', 'a@example.org'],
      ]) {
        const r = await asHelpdesk(argv);
        expect(r.exitCode, `${argv.join(' ')}: ${r.stderr}`).toBe(0);
      }
      const r = await asHelpdesk(['--json', 'users', 'invite', '--email', 'b@example.org', '--first-name', 'B', '--last-name', 'C']);
      expect(r.exitCode).toBe(1);
      expect(JSON.parse(r.stderr).error.code).toBe('store_readonly');
      expect(fingerprint(db)).toEqual(before);
      expect(companions(db)).toEqual([]);
      // While the owner's serve has it open (a -wal file), the reader cannot see the changes: it says why, not "needs to write".
      writeFileSync(`${db}-wal`, '');
      const busy = await asHelpdesk(['--json', 'users', 'list']);
      expect(busy.exitCode).toBe(1);
      expect(JSON.parse(busy.stderr).error).toMatchObject({ code: 'store_readonly', message: expect.stringContaining('run this as the store') });
      rmSync(home, { recursive: true, force: true });
    } finally {
      rmSync(shared, { recursive: true, force: true });
      owner.close();
    }
  });
});
