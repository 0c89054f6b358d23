// Which store a location names, and opening it: a postgres:// URL is the
// PostgreSQL store (loaded only then), anything else a SQLite file.

import { UsageError } from '../errors.js';
import { quote } from '../text.js';
import type { Store } from './types.js';

export interface StoreLocation {
  /** A SQLite path or a postgres:// URL. */
  value: string;
  /** Named by --db, PORTALCTL_DB or the config file (else: the default path). */
  explicit: boolean;
}

export interface StoreOpenOptions {
  /** May a missing store be created? The default store always may; a named one only for `portals add`. */
  create: boolean;
  /** The command only reads: a read-only file is fine. */
  readOnly?: boolean;
  /** Look, change nothing: no migration, no change of file modes (doctor). */
  inspectOnly?: boolean;
  /** PostgreSQL password from the config file's passwordFile (used after the URL and PGPASSWORD, before ~/.pgpass). */
  password?: string;
  env?: NodeJS.ProcessEnv;
  /** How long a SQLite store waits for another process's write lock (PORTALCTL_BUSY_TIMEOUT_MS). */
  busyTimeoutMs?: number;
}

export function isPostgresUrl(value: string): boolean {
  return /^postgres(?:ql)?:\/\//i.test(value);
}

/** The scheme of a store given as a URL (`postgres`, `mysql`, …); undefined for a file path. */
export function urlScheme(value: string): string | undefined {
  return /^\s*([a-z][a-z0-9+.-]*):\/\//i.exec(value)?.[1];
}

/**
 * A URL of another kind (mysql://, sqlite:///…, file:///…) names no store portalctl can open: refused,
 * not taken for a relative file path (a SQLite file "x" in a folder "mysql:" here).
 */
export function checkStoreLocation(value: string, what: string): void {
  const scheme = urlScheme(value);
  if (scheme === undefined || isPostgresUrl(value.trim())) return;
  const plain = /^(sqlite3?|file)$/i.test(scheme) ? ` (the path alone, without ${scheme}://)` : '';
  // Only the scheme is shown: the rest of a URL may hold a password.
  throw new UsageError(
    `${what} is a ${quote(`${scheme}://`)} URL, which portalctl cannot use: give a postgres:// URL or the path of a SQLite file${plain}.`,
    'invalid_store_url',
  );
}

export async function openStore(location: StoreLocation, opts: StoreOpenOptions): Promise<Store> {
  checkStoreLocation(location.value, location.explicit ? 'The store' : 'The default store');
  if (isPostgresUrl(location.value)) {
    const { PostgresStore } = await import('./postgres/store.js');
    return PostgresStore.open(location.value, { create: opts.create, password: opts.password, env: opts.env ?? process.env, migrate: !opts.inspectOnly });
  }
  const { SqliteStore } = await import('./sqlite/store.js');
  return SqliteStore.open(location.value, {
    create: !opts.inspectOnly && (opts.create || !location.explicit),
    readOnlyFallback: opts.readOnly,
    migrate: !opts.inspectOnly,
    busyTimeoutMs: opts.busyTimeoutMs,
  });
}
