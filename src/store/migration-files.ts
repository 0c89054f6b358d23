// The migration files of a dialect (migrations/sqlite, migrations/postgres),
// shipped beside dist/: `NNNN_what.sql`, applied in order of NNNN. Read only
// when a store is created or upgraded, never on an ordinary start.

import { readdirSync } from 'node:fs';
import { StoreError } from '../errors.js';
import { quote } from '../text.js';

export interface MigrationFile {
  version: number;
  file: string;
}

/**
 * The migrations in `dir`, in order. A folder that cannot be read is an
 * install that lost part of itself: said so, instead of as a store that
 * cannot be created ("set PORTALCTL_DB to a writable path" would send the
 * administrator after the wrong thing).
 */
export function listMigrationFiles(dir: string): MigrationFile[] {
  let files: string[];
  try {
    files = readdirSync(dir);
  } catch (err) {
    throw new StoreError(
      'store_unavailable',
      `portalctl's store migrations cannot be read from ${quote(dir, 200)} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): this installation of portalctl is incomplete; reinstall it.`,
    );
  }
  return files
    .map((file) => ({ file, m: /^(\d+)_.+\.sql$/.exec(file) }))
    .filter((x): x is { file: string; m: RegExpExecArray } => x.m !== null)
    .map(({ file, m }) => ({ version: Number(m[1]), file }))
    .sort((a, b) => a.version - b.version);
}
