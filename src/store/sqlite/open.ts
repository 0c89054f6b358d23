// Opening a SQLite store without ever harming a file that is not one.
//
// A path is looked at before it is opened: it must be a regular file (not a
// symbolic link, device, FIFO or folder) holding a SQLite database that
// carries portalctl's application_id — or a store of portalctl's first
// releases, which had none. Anything else is refused (exit 2) untouched: no
// chmod, no journal file, no migration. A new store is built under a temporary
// name and linked into place, so a half-made store is never left at the path.
//
// Migrations are numbered .sql files in migrations/sqlite/; the code knows the
// newest number, so a current store never reads the folder. Each migration is
// applied in one immediate transaction together with PRAGMA user_version.

import type Database from 'better-sqlite3';
import { loadDriver } from './driver.js';
import {
  accessSync,
  closeSync,
  constants,
  existsSync,
  fchmodSync,
  fstatSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
} from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { StoreError, EXIT } from '../../errors.js';
import { foldKey, nameKey, searchKey } from '../keys.js';
import { quote } from '../../text.js';
import { APPLICATION_ID, LATEST_SQLITE_VERSION } from './facts.js';
import { INSTALL_ROOT } from '../../install-root.js';
import { listMigrationFiles, type MigrationFile } from '../migration-files.js';

export type DB = Database.Database;

export { APPLICATION_ID, LATEST_SQLITE_VERSION };
export const BUSY_TIMEOUT_MS = 5000;

export const SQLITE_MIGRATIONS_DIR = join(INSTALL_ROOT, 'migrations', 'sqlite');

const HEADER = Buffer.from('SQLite format 3\0', 'latin1');

export interface OpenOptions {
  /** Create the store when the path does not exist (the default store, or `portals add`). */
  create: boolean;
  /** Open read-only when the file cannot be written (a read-only file system, say). */
  readOnlyFallback?: boolean;
  /** Apply migrations and tighten file modes (false: doctor, which only looks). */
  migrate?: boolean;
  /** How long to wait for another process's write lock (PORTALCTL_BUSY_TIMEOUT_MS; default BUSY_TIMEOUT_MS). */
  busyTimeoutMs?: number;
}

function refuse(path: string, why: string, code = 'store_invalid'): StoreError {
  return new StoreError(code, `${quote(path, 200)} ${why}; nothing was changed. Check --db / PORTALCTL_DB.`, EXIT.usage);
}

type PathKind = { kind: 'missing' } | { kind: 'ours' } | { kind: 'legacy' } | { kind: 'new-empty' };

/** What is at the path, read without following links and without changing it. */
function inspect(path: string): PathKind {
  let st;
  try {
    st = lstatSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { kind: 'missing' };
    throw new StoreError('store_unavailable', `Cannot look at the store ${quote(path, 200)}: ${code ?? (err as Error).message}.`);
  }
  if (st.isSymbolicLink()) throw refuse(path, 'is a symbolic link; give the path of the store itself');
  if (st.isDirectory()) throw refuse(path, 'is a folder, not a store file');
  if (!st.isFile()) throw refuse(path, 'is not a regular file (a device, FIFO or socket)');
  if (st.size === 0) throw refuse(path, 'is an empty file, not a portalctl store');
  const header = Buffer.alloc(100);
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    throw new StoreError('store_unavailable', `Cannot read the store ${quote(path, 200)}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}.`);
  }
  try {
    readSync(fd, header, 0, 100, 0);
  } finally {
    closeSync(fd);
  }
  if (!header.subarray(0, 16).equals(HEADER)) throw refuse(path, 'is not a SQLite database, so not a portalctl store');
  const applicationId = header.readUInt32BE(68);
  if (applicationId === APPLICATION_ID) return { kind: 'ours' };
  if (applicationId !== 0) throw refuse(path, `is the SQLite database of another application (application_id ${applicationId})`);
  return { kind: 'legacy' };
}

const LEGACY_TABLES = ['audit', 'link_attempts', 'link_tokens', 'outbox', 'portals', 'registrations', 'users'];

/** The SQL functions migrations and statements use: the store's key rules. */
export function registerFunctions(db: DB): void {
  db.function('portalctl_fold', { deterministic: true }, (s: unknown) => (typeof s === 'string' ? foldKey(s) : s));
  db.function('portalctl_search_key', { deterministic: true }, (first: unknown, last: unknown, email: unknown, username: unknown) =>
    searchKey({ firstName: String(first), lastName: String(last), email: String(email), username: username === null ? null : String(username) }),
  );
  db.function('portalctl_name_key', { deterministic: true }, (first: unknown, last: unknown) => nameKey(String(first), String(last)));
}

/** The version of the SQLite library portalctl runs, or "unavailable". */
export function sqliteLibraryVersion(): string {
  try {
    const db = new (loadDriver())(':memory:');
    try {
      return String((db.prepare('SELECT sqlite_version() AS v').get() as { v: string }).v);
    } finally {
      db.close();
    }
  } catch {
    return 'unavailable';
  }
}

/** WAL pages after which a commit copies the WAL back into the store (SQLite's default: 1,000). */
export const WAL_AUTOCHECKPOINT = 10_000;

function configure(db: DB): void {
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  // The WAL is copied back into the store every 10,000 pages (40 MB) instead of SQLite's 1,000: a
  // removal of many users in batches dirties thousands of pages a batch, and checkpointing after
  // nearly every batch cost a quarter of prune's time (100k store, 50k removed: 14.3 s -> 10.7 s).
  // Commands that write little never reach either mark; the last connection to close checkpoints.
  // A removal raises it further (SqliteStore.roomForRemovals).
  db.pragma(`wal_autocheckpoint = ${WAL_AUTOCHECKPOINT}`);
  registerFunctions(db);
}

/** A new, empty, migrated store at `path`, made under a temporary name and linked into place. */
function createStore(path: string, timeout: number): void {
  const dir = dirname(path);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new StoreError(
      'store_unavailable',
      `Cannot create the folder of the store ${quote(dir, 200)}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}. Set PORTALCTL_DB or --db to a writable path.`,
    );
  }
  const temp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.new`);
  let fd: number | undefined;
  try {
    fd = openSync(temp, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY | constants.O_NOFOLLOW, 0o600);
    fchmodSync(fd, 0o600); // whatever the umask
    closeSync(fd);
    fd = undefined;
    const db = new (loadDriver())(temp, { timeout });
    try {
      configure(db);
      migrate(db);
    } finally {
      db.close(); // checkpoints and removes the -wal and -shm files
    }
    try {
      linkSync(temp, path); // fails if another process created the store meanwhile: theirs wins
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  } catch (err) {
    if (err instanceof StoreError) throw err;
    throw new StoreError(
      'store_unavailable',
      `Cannot create the store at ${quote(path, 200)}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}. Set PORTALCTL_DB or --db to a writable path.`,
    );
  } finally {
    if (fd !== undefined) closeSync(fd);
    rmSync(temp, { force: true });
    for (const suffix of ['-wal', '-shm', '-journal']) rmSync(temp + suffix, { force: true });
  }
}

export interface Opened {
  db: DB;
  /** True when the store was created by this call. */
  created: boolean;
  readOnly: boolean;
}

/**
 * Opens the SQLite store at `path`, creating it only when `create` allows.
 * A path that does not exist and may not be created is `store_missing`.
 */
export function openSqlite(path: string, opts: OpenOptions): Opened {
  const timeout = opts.busyTimeoutMs ?? BUSY_TIMEOUT_MS;
  let what = inspect(path);
  let created = false;
  if (what.kind === 'missing') {
    if (!opts.create) {
      throw new StoreError(
        'store_missing',
        `There is no store at ${quote(path, 200)}; check --db / PORTALCTL_DB (a new store is created only by \`portalctl portals add\`).`,
        EXIT.usage,
      );
    }
    createStore(path, timeout);
    created = true;
    what = inspect(path);
  }
  const Driver = loadDriver();
  let db: DB;
  let readOnly = false;
  try {
    // A file without our application_id is looked at through a read-only
    // connection, closed again before anything is changed.
    if (what.kind === 'legacy') checkLegacy(new Driver(path, { timeout, fileMustExist: true, readonly: true }), path);
    // Before SQLite opens the files for good: closing any other descriptor of
    // a file drops every POSIX lock this process holds on it, SQLite's
    // included, and another process would then reset the WAL index under our
    // feet (SIGBUS, "locking protocol").
    if (opts.migrate !== false) tightenModes(path);
    db = new Driver(path, { timeout, fileMustExist: true });
    if (opts.migrate === false) registerFunctions(db);
    else configure(db);
  } catch (err) {
    if (err instanceof StoreError) throw err;
    const code = (err as { code?: string }).code ?? '';
    const cannotWrite = code.startsWith('SQLITE_READONLY') || code === 'SQLITE_CANTOPEN' || code === 'SQLITE_IOERR_SHMOPEN';
    if (opts.readOnlyFallback && cannotWrite) {
      db = openReadOnly(Driver, path, timeout);
      readOnly = true;
    } else if (cannotWrite && !writable(path)) {
      throw new StoreError(
        'store_readonly',
        `The store ${quote(path, 200)} is on a read-only file system or not writable by this user; this command needs to write to it, so nothing was changed.`,
      );
    } else throw sqliteError(err, path, timeout);
  }
  try {
    if (opts.migrate === false) {
      // doctor: report what is on disk, as it is
    } else if (!readOnly) {
      migrate(db);
    } else if (schemaVersion(db) < LATEST_SQLITE_VERSION) {
      throw new StoreError('store_readonly', `The store ${quote(path, 200)} is read-only and needs an upgrade; run portalctl once with write access to it.`);
    }
  } catch (err) {
    db.close();
    throw sqliteError(err, path, timeout);
  }
  return { db, created, readOnly };
}

/** False when the file system is read-only or the file not ours to write. */
function writable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** Stores larger than this are not read into memory when the file system is read-only. */
const MAX_IN_MEMORY_BYTES = 256 * 1024 * 1024;

/**
 * Opens the store for reading only. A store in WAL mode needs its -shm file,
 * which a read-only file system (or a folder this user may not write) does not
 * let SQLite create; then, provided no
 * -wal file holds changes the main file lacks (a cleanly closed store has
 * none), the store is read into memory and opened from there — the file
 * itself is never written.
 */
function openReadOnly(Driver: typeof Database, path: string, timeout: number): DB {
  let db = new Driver(path, { timeout, fileMustExist: true, readonly: true });
  try {
    schemaVersion(db); // the first read is where a missing -shm shows
  } catch (err) {
    db.close();
    const code = (err as { code?: string }).code ?? '';
    // CANTOPEN: a read-only file system; READONLY_DIRECTORY: a folder this user may not write (a store
    // the helpdesk may read, owned by the service's user). Either way no -shm can be made.
    if (code !== 'SQLITE_CANTOPEN' && code !== 'SQLITE_READONLY_DIRECTORY') throw sqliteError(err, path);
    if (existsSync(`${path}-wal`)) {
      throw new StoreError(
        'store_readonly',
        `The store ${quote(path, 200)} has changes in its -wal file (it is in use, or was not closed cleanly), and reading those needs write access to its folder, which this user lacks; run this as the store's owner, or let this user write the folder.`,
      );
    }
    const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      const st = fstatSync(fd);
      if (st.size > MAX_IN_MEMORY_BYTES) {
        throw new StoreError(
          'store_readonly',
          `The store ${quote(path, 200)} is on a read-only file system and too large to read into memory; copy it to a writable place to read it.`,
        );
      }
      const image = Buffer.alloc(st.size);
      let off = 0;
      while (off < st.size) {
        const n = readSync(fd, image, off, st.size - off, off);
        if (n === 0) break;
        off += n;
      }
      // Bytes 18-19 say "WAL"; an image in memory has no -shm, so it is read as a rollback-journal database.
      image[18] = 1;
      image[19] = 1;
      db = new Driver(image.subarray(0, off), { readonly: true });
    } finally {
      closeSync(fd);
    }
  }
  registerFunctions(db);
  return db;
}

/** A file without our application_id is ours only if it has the tables of portalctl's first releases. Closes `db`. */
function checkLegacy(db: DB, path: string): void {
  let tables: string[];
  let version: number;
  try {
    tables = (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`).all() as { name: string }[]).map((r) => r.name);
    version = schemaVersion(db);
  } catch (err) {
    db.close();
    throw sqliteError(err, path);
  }
  db.close();
  const ours = version >= 1 && version <= 3 && LEGACY_TABLES.every((t) => tables.includes(t));
  if (!ours)
    throw refuse(path, tables.length === 0 ? 'is an empty SQLite database that portalctl did not create' : 'is a SQLite database of another application');
}

function tightenModes(path: string): void {
  // The store holds names, addresses and who linked which account: owner only.
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    let fd: number | undefined;
    try {
      fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
      if (fstatSync(fd).isFile()) fchmodSync(fd, 0o600);
    } catch {
      // not there yet, or not ours to change
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }
}

export function schemaVersion(db: DB): number {
  return db.pragma('user_version', { simple: true }) as number;
}

export function listSqliteMigrations(dir = SQLITE_MIGRATIONS_DIR): MigrationFile[] {
  return listMigrationFiles(dir);
}

export function migrate(db: DB, dir = SQLITE_MIGRATIONS_DIR, latest = LATEST_SQLITE_VERSION): void {
  const current = schemaVersion(db);
  if (current > latest) {
    throw new StoreError(
      'store_too_new',
      `The store has schema version ${current}, newer than this portalctl knows (${latest}); upgrade portalctl before using this store.`,
    );
  }
  if (current === latest) return;
  for (const m of listSqliteMigrations(dir)) {
    if (m.version <= current || m.version > latest) continue;
    const sql = readFileSync(join(dir, m.file), 'utf8');
    // Rebuilding a table must not cascade into its children: foreign keys are
    // off around the transaction (SQLite ignores the pragma inside one) and
    // checked before it commits.
    db.pragma('foreign_keys = OFF');
    try {
      db.transaction(() => {
        // Another process may have applied it while we waited for the lock.
        if (schemaVersion(db) >= m.version) return;
        db.exec(sql);
        const broken = db.pragma('foreign_key_check') as unknown[];
        if (broken.length > 0) throw new StoreError('store_corrupt', `Migration ${m.file} left ${broken.length} broken references; the store was not changed.`);
        db.pragma(`user_version = ${m.version}`);
      }).immediate();
    } finally {
      db.pragma('foreign_keys = ON');
    }
  }
}

/** SQLite errors as one-line messages an administrator can act on. */
/** "5 s", "300 ms". */
function span(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${Math.round(ms / 100) / 10} s`;
}

export function sqliteError(err: unknown, path?: string, busyTimeoutMs = BUSY_TIMEOUT_MS): Error {
  if (err instanceof StoreError || !(err instanceof Error)) return err as Error;
  const e = err as { code?: string; message: string };
  const where = path ? ` ${quote(path, 200)}` : '';
  const code = e.code ?? '';
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new StoreError('store_busy', `The store${where} stayed locked by another process for more than ${span(busyTimeoutMs)}; try again.`);
  }
  if (code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT')) {
    return new StoreError('store_corrupt', `The store${where} is damaged (${e.message}); restore it from a backup.`);
  }
  if (code.startsWith('SQLITE_CONSTRAINT')) {
    return new StoreError('store_conflict', `Another portalctl process changed the same records at the same moment (${e.message}); try again.`);
  }
  if (code === 'SQLITE_FULL' || code.startsWith('SQLITE_IOERR')) {
    return new StoreError('store_io', `The store${where} could not be written (${e.message}): is the disk full?`);
  }
  if (code.startsWith('SQLITE_READONLY')) {
    return new StoreError('store_readonly', `The store${where} is read-only (${e.message}); this command needs to write to it.`);
  }
  if (code.startsWith('SQLITE_')) return new StoreError('store_error', `The store${where} could not be used: ${e.message}.`);
  return err;
}
