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
import { closeSync, constants, fchmodSync, fstatSync, linkSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StoreError, EXIT } from '../../errors.js';
import { foldKey, nameKey, searchKey } from '../keys.js';
import { quote } from '../../text.js';

export type DB = Database.Database;

/** The newest migration in migrations/sqlite/ (a test keeps the two in step). */
export const LATEST_SQLITE_VERSION = 4;
/** "Port": marks a SQLite file as a portalctl store. */
export const APPLICATION_ID = 1349481076;
export const BUSY_TIMEOUT_MS = 5000;

export const SQLITE_MIGRATIONS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'migrations', 'sqlite');

const HEADER = Buffer.from('SQLite format 3\0', 'latin1');

export interface OpenOptions {
  /** Create the store when the path does not exist (the default store, or `portals add`). */
  create: boolean;
  /** Open read-only when the file cannot be written (a read-only file system, say). */
  readOnlyFallback?: boolean;
  /** Apply migrations and tighten file modes (false: doctor, which only looks). */
  migrate?: boolean;
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

function loadDriver(): typeof Database {
  // Required here, not imported at the top, so that --help, --version and
  // completion never load the native module.
  return createRequire(import.meta.url)('better-sqlite3') as typeof Database;
}

/** The SQL functions migrations and statements use: the store's key rules. */
function registerFunctions(db: DB): void {
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

function configure(db: DB): void {
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  registerFunctions(db);
}

/** A new, empty, migrated store at `path`, made under a temporary name and linked into place. */
function createStore(path: string): void {
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
    const db = new (loadDriver())(temp, { timeout: BUSY_TIMEOUT_MS });
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
    createStore(path);
    created = true;
    what = inspect(path);
  }
  const Driver = loadDriver();
  // Before SQLite opens the file, never after: closing any descriptor of the
  // store or its -wal/-shm releases every POSIX lock this process holds on it,
  // SQLite's included — another process then rebuilds the shared-memory index
  // under this one (SQLITE_PROTOCOL, SIGBUS). SQLite creates -wal and -shm
  // with the store's own mode.
  if (opts.migrate !== false) tightenModes(path);
  let db: DB;
  let readOnly = false;
  try {
    db = new Driver(path, { timeout: BUSY_TIMEOUT_MS, fileMustExist: true });
    if (what.kind === 'legacy') checkLegacy(db, path);
    if (opts.migrate === false) registerFunctions(db);
    else configure(db);
  } catch (err) {
    if (err instanceof StoreError) throw err;
    const code = (err as { code?: string }).code;
    if (opts.readOnlyFallback && (code === 'SQLITE_READONLY' || code === 'SQLITE_CANTOPEN' || code === 'SQLITE_IOERR_SHMOPEN')) {
      db = new Driver(path, { timeout: BUSY_TIMEOUT_MS, fileMustExist: true, readonly: true });
      registerFunctions(db);
      readOnly = true;
    } else throw sqliteError(err, path);
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
    throw sqliteError(err, path);
  }
  return { db, created, readOnly };
}

/** A file without our application_id is ours only if it has the tables of portalctl's first releases. */
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
  const ours = version >= 1 && version <= 3 && LEGACY_TABLES.every((t) => tables.includes(t));
  if (!ours) {
    db.close();
    throw refuse(path, tables.length === 0 ? 'is an empty SQLite database that portalctl did not create' : 'is a SQLite database of another application');
  }
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

interface Migration {
  version: number;
  file: string;
}

export function listSqliteMigrations(dir = SQLITE_MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir)
    .map((file) => ({ file, m: /^(\d+)_.+\.sql$/.exec(file) }))
    .filter((x): x is { file: string; m: RegExpExecArray } => x.m !== null)
    .map(({ file, m }) => ({ version: Number(m[1]), file }))
    .sort((a, b) => a.version - b.version);
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
export function sqliteError(err: unknown, path?: string): Error {
  if (err instanceof StoreError || !(err instanceof Error)) return err as Error;
  const e = err as { code?: string; message: string };
  const where = path ? ` ${quote(path, 200)}` : '';
  const code = e.code ?? '';
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new StoreError('store_busy', `The store${where} stayed locked by another portalctl process for more than ${BUSY_TIMEOUT_MS / 1000} s; try again.`);
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
