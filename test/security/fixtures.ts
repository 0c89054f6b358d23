// Shared tools of the attack tests: fingerprints of files that must not
// change, a second process that holds the store's write lock, file systems
// that can be filled or made read-only (when this machine lets us mount).

import { execa, type ResultPromise } from 'execa';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import {
  closeSync,
  fstatSync,
  ftruncateSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');

/** Everything about a file that an attack could change: content, mode, owner, times, size, kind. */
export interface Fingerprint {
  sha256: string | null;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  rdev: number;
  /** Blocks allocated: a write into a sparse file shows here (its content is not hashed). */
  blocks: number;
}

export function fingerprint(path: string): Fingerprint {
  const st = lstatSync(path);
  return {
    // Files over 64 MB (the sparse ones) are fingerprinted by size, blocks and times, which any write changes.
    sha256: st.isFile() && st.size <= 64 * 1024 * 1024 ? createHash('sha256').update(readFileSync(path)).digest('hex') : null,
    mode: st.mode,
    uid: st.uid,
    gid: st.gid,
    size: st.size,
    mtimeMs: st.mtimeMs,
    ctimeMs: st.ctimeMs,
    rdev: st.rdev,
    blocks: st.blocks,
  };
}

/** The files beside `path` whose names start with its name (-wal, -shm, -journal, temporary stores). */
export function companions(path: string): string[] {
  const name = basename(path);
  return readdirSync(dirname(path)).filter((f) => f !== name && (f.startsWith(name) || f.startsWith(`.${name}`)));
}

export const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

/** True when this process may mount a tmpfs (root with CAP_SYS_ADMIN): disk-full and read-only tests need it. */
export const canMount: boolean = (() => {
  if (!isRoot) return false;
  const dir = mkdtempSync(join(tmpdir(), 'portalctl-mount-probe-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir], { stdio: 'ignore' });
    execFileSync('umount', [dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
})();

/** A small tmpfs of `size` (e.g. "2m") at `dir`; returns how to make it read-only and how to remove it. */
export function tmpfs(dir: string, size: string): { readOnly(): void; readWrite(): void; unmount(): void } {
  mkdirSync(dir, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir]);
  return {
    readOnly: () => execFileSync('mount', ['-o', 'remount,ro', dir]),
    readWrite: () => execFileSync('mount', ['-o', 'remount,rw', dir]),
    unmount: () => execFileSync('umount', ['-l', dir]),
  };
}

/**
 * Another process that takes the store's write lock (BEGIN IMMEDIATE) and
 * keeps it until released — as a long prune or a stuck administrator would.
 */
export async function holdWriteLock(
  db: string,
  opts: { forMs?: number; killedAfterMs?: number } = {},
): Promise<{ release(): Promise<void>; process: ResultPromise }> {
  // With forMs the holder lets go by itself (killedAfterMs: it dies by SIGKILL, no ROLLBACK): the waiting
  // command may be blocked in SQLite's busy wait, unable to tell it.
  const script = `
    const Database = require('better-sqlite3');
    const db = new Database(process.argv[1], { timeout: 10000 });
    db.exec('BEGIN IMMEDIATE');
    process.stdout.write('locked\\n');
    const done = () => { db.exec('ROLLBACK'); db.close(); process.exit(0); };
    process.stdin.on('data', done);
    if (Number(process.argv[2]) > 0) setTimeout(done, Number(process.argv[2]));
    if (Number(process.argv[3]) > 0) setTimeout(() => process.kill(process.pid, 'SIGKILL'), Number(process.argv[3]));
  `;
  const child = execa('node', ['-e', script, db, String(opts.forMs ?? 0), String(opts.killedAfterMs ?? 0)], { cwd: ROOT, stdin: 'pipe', reject: false });
  await new Promise<void>((resolveLocked, reject) => {
    let seen = '';
    child.stdout!.on('data', (c: Buffer) => {
      seen += c.toString();
      if (seen.includes('locked')) resolveLocked();
    });
    child.once('exit', (code) => reject(new Error(`the lock holder exited (${code}) before taking the lock`)));
  });
  return {
    process: child,
    async release() {
      if (child.exitCode === null && child.signalCode === null) child.stdin!.write('go\n');
      await child;
    },
  };
}

/** A password and every form a careless program could leak it in. */
export function leakForms(user: string, password: string): string[] {
  return [
    password,
    encodeURIComponent(password),
    Buffer.from(password).toString('base64'),
    Buffer.from(`\0${user}\0${password}`).toString('base64'),
    Buffer.from(`${user}\0${user}\0${password}`).toString('base64'),
  ];
}

/** Fails the test when any form of the secret shows up in `text`, naming where. */
export function expectNoSecret(where: string, text: string, forms: string[]): void {
  for (const f of forms) {
    if (text.includes(f)) throw new Error(`${where} leaks a secret form ${JSON.stringify(f)}:\n${text}`);
  }
}

/** The Step 2 token of the newest email (the highest message id) to user `userId` in a mail folder. */
export async function tokenInMail(mailDir: string, userId = 1): Promise<string> {
  const { simpleParser } = await import('mailparser');
  const msg = (f: string) => Number(new RegExp(`-user${userId}-msg(\\d+)-`).exec(f)?.[1] ?? -1);
  const emls = readdirSync(mailDir)
    .filter((f) => f.endsWith('.eml') && msg(f) >= 0)
    .sort((a, b) => msg(a) - msg(b));
  if (emls.length === 0) throw new Error(`no .eml file for user ${userId} in ${mailDir}`);
  const file = join(mailDir, emls[emls.length - 1]!);
  const mail = await simpleParser(readFileSync(file));
  const m = /token=([A-Za-z0-9_-]{27})/.exec(mail.text ?? '');
  if (!m) throw new Error(`no Step 2 token in ${file}`);
  return m[1]!;
}

/** Writes a CSV of `n` people (p1@example.org …) and returns its path. */
export function peopleCsv(dir: string, n: number, name = 'people.csv'): string {
  const path = join(dir, name);
  const rows = Array.from({ length: n }, (_, i) => `p${i + 1}@example.org,First${i + 1},Last${i + 1}`);
  writeFileSync(path, `email,first_name,last_name\n${rows.join('\n')}\n`);
  return path;
}

/** Fills the file system that holds `dir` with one file, to the last byte or leaving `leave` bytes; returns its path (remove it to free the space). */
export function fillFileSystem(dir: string, leave = 0): string {
  const filler = join(dir, 'filler');
  const fd = openSync(filler, 'w');
  try {
    for (const size of [1 << 20, 1 << 16, 4096, 512, 1]) {
      const chunk = Buffer.alloc(size, 0x61);
      for (;;) {
        try {
          writeSync(fd, chunk);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
          throw err;
        }
      }
    }
    if (leave > 0) ftruncateSync(fd, Math.max(0, fstatSync(fd).size - leave));
  } finally {
    closeSync(fd);
  }
  return filler;
}
