// What portalctl knows about its SQLite stores without opening one or loading
// the native driver: `--version` answers from these alone, so it starts about
// as fast as Node itself.

import { closeSync, openSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** The newest migration in migrations/sqlite/ (a test keeps the two in step). */
export const LATEST_SQLITE_VERSION = 7;
/** "Port": marks a SQLite file as a portalctl store. */
export const APPLICATION_ID = 1349481076;

/**
 * The SQLite version better-sqlite3 is built from, read from the header it
 * compiles (deps/sqlite3/sqlite3.h, which a custom SQLite build replaces
 * too), so that `--version` need not load the native module. Undefined when
 * the header is not there.
 */
export function bundledSqliteVersion(): string | undefined {
  try {
    const main = createRequire(import.meta.url).resolve('better-sqlite3');
    // The define is near the top of a large file: its first 16 KiB will do.
    const fd = openSync(join(dirname(main), '..', 'deps', 'sqlite3', 'sqlite3.h'), 'r');
    const head = Buffer.alloc(16384);
    let n: number;
    try {
      n = readSync(fd, head, 0, head.length, 0);
    } finally {
      closeSync(fd);
    }
    return /^#define SQLITE_VERSION\s+"([0-9.]+)"/m.exec(head.toString('latin1', 0, n))?.[1];
  } catch {
    return undefined;
  }
}
