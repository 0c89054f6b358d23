// Opening the store: one SQLite file, created on first use with mode 0600,
// in WAL mode with a busy timeout so that an administrator's command and the
// nightly prune can share it. Migrations are numbered .sql files, each applied
// in one immediate transaction together with PRAGMA user_version.

import type Database from 'better-sqlite3';
import { createRequire } from 'node:module';
import { chmodSync, closeSync, mkdirSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PortalctlError, RefusedError } from '../errors.js';

export type DB = Database.Database;

export const MIGRATIONS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'migrations');

export const BUSY_TIMEOUT_MS = 5000;

interface Migration {
  version: number;
  file: string;
}

function listMigrations(dir = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir)
    .map((file) => ({ file, m: /^(\d+)_.+\.sql$/.exec(file) }))
    .filter((x): x is { file: string; m: RegExpExecArray } => x.m !== null)
    .map(({ file, m }) => ({ version: Number(m[1]), file }))
    .sort((a, b) => a.version - b.version);
}

/** The newest schema version this build of portalctl knows. */
export function latestSchemaVersion(): number {
  const all = listMigrations();
  return all.length ? all[all.length - 1]!.version : 0;
}

export function migrate(db: DB, dir = MIGRATIONS_DIR): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  const all = listMigrations(dir);
  const latest = all.length ? all[all.length - 1]!.version : 0;
  if (current > latest) {
    throw new RefusedError(
      'store_too_new',
      `The store ${db.name} has schema version ${current}, newer than this portalctl knows (${latest}); upgrade portalctl before using this store.`,
    );
  }
  for (const m of all) {
    if (m.version <= current) continue;
    const sql = readFileSync(join(dir, m.file), 'utf8');
    db.transaction(() => {
      // Another process may have applied it while we waited for the lock.
      if ((db.pragma('user_version', { simple: true }) as number) >= m.version) return;
      db.exec(sql);
      db.pragma(`user_version = ${m.version}`);
    }).immediate();
  }
}

export function openDatabase(path: string): DB {
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    // Create the file ourselves so it never exists with a wider mode.
    closeSync(openSync(path, 'a', 0o600));
    chmodSync(path, 0o600);
  } catch (err) {
    throw new RefusedError('store_unavailable', `Cannot create the store at ${path}: ${(err as Error).message}. Set PORTALCTL_DB or --db to a writable path.`);
  }
  let db: DB;
  try {
    // Required here, not imported at the top, so that --help, --version and
    // completion never load the native module.
    const BetterSqlite3 = createRequire(import.meta.url)('better-sqlite3') as typeof Database;
    db = new BetterSqlite3(path, { timeout: BUSY_TIMEOUT_MS });
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
  } catch (err) {
    throw storeError(err, path);
  }
  // SQLite creates -wal and -shm with the main file's mode; tighten any left from before.
  for (const suffix of ['-wal', '-shm']) {
    try {
      chmodSync(path + suffix, 0o600);
    } catch {
      // not there yet
    }
  }
  try {
    migrate(db);
  } catch (err) {
    db.close();
    throw storeError(err, path);
  }
  return db;
}

/** SQLite errors as one-line messages an administrator can act on. */
export function storeError(err: unknown, path?: string): PortalctlError {
  if (err instanceof PortalctlError) return err;
  const e = err as { code?: string; message?: string };
  if (e.code === 'SQLITE_BUSY' || e.code === 'SQLITE_LOCKED') {
    return new RefusedError(
      'store_busy',
      `The store${path ? ` ${path}` : ''} stayed locked by another portalctl process for more than ${BUSY_TIMEOUT_MS / 1000} s; nothing was changed. Try again.`,
    );
  }
  if (e.code === 'SQLITE_NOTADB' || e.code === 'SQLITE_CORRUPT') {
    return new RefusedError('store_corrupt', `The file${path ? ` ${path}` : ''} is not a usable portalctl store (${e.message}). Check --db / PORTALCTL_DB.`);
  }
  if (typeof e.code === 'string' && e.code.startsWith('SQLITE_')) {
    return new RefusedError('store_error', `The store${path ? ` ${path}` : ''} could not be used: ${e.message}.`);
  }
  throw err;
}
