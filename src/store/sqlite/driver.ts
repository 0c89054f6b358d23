// The SQLite driver, better-sqlite3, with its native addon required from
// where better-sqlite3 builds it: the driver's JavaScript may be bundled into
// dist/bundle/, far from it. Only when the addon is not there does the driver
// look for it itself (the `bindings` package tries a dozen paths). This module
// is imported only when a store is opened, so --help and --version never load
// the driver.

import Database from 'better-sqlite3';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

let driver: typeof Database | undefined;

export function loadDriver(): typeof Database {
  if (driver) return driver;
  const require = createRequire(import.meta.url);
  let addon: object | undefined;
  try {
    addon = require(join(dirname(require.resolve('better-sqlite3')), '..', 'build', 'Release', 'better_sqlite3.node')) as object;
  } catch {
    // a build elsewhere: the driver finds it
  }
  if (!addon) return (driver = Database);
  const bound = function (filename?: string | Buffer, options?: Database.Options) {
    return new Database(filename, { ...options, nativeBinding: addon as never });
  } as unknown as typeof Database;
  return (driver = bound);
}
