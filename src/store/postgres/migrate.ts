// The PostgreSQL schema: numbered .sql files in migrations/postgres/, applied
// in order, each in one transaction together with its row in
// portalctl_migrations. The whole run holds a session-level advisory lock, so
// ten processes starting at once migrate once: the first applies, the others
// wait, then find the schema current. A schema newer than this code knows is
// refused; a database without portalctl_migrations holds no store.

import type pg from 'pg';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { StoreError } from '../../errors.js';
import { INSTALL_ROOT } from '../../install-root.js';
import { listMigrationFiles, type MigrationFile } from '../migration-files.js';

/** The newest migration in migrations/postgres/ (a test keeps the two in step). */
export const LATEST_POSTGRES_VERSION = 2;

export const POSTGRES_MIGRATIONS_DIR = join(INSTALL_ROOT, 'migrations', 'postgres');

/** pg_advisory_lock key of the migration runner ("portalctl migrate"). */
export const MIGRATION_LOCK = 0x706f7274_0001n;
/** pg_advisory_xact_lock key that serialises event appends, so event ids become visible in order. */
export const EVENTS_LOCK = 0x706f7274_0002n;

export const MIGRATIONS_TABLE = 'portalctl_migrations';

export function listPostgresMigrations(dir = POSTGRES_MIGRATIONS_DIR): MigrationFile[] {
  return listMigrationFiles(dir);
}

/** The schema version, or undefined when the database holds no portalctl store. One round trip when there is one. */
export async function postgresSchemaVersion(c: pg.ClientBase): Promise<number | undefined> {
  try {
    const v = await c.query<{ v: number | null }>(`SELECT max(version) AS v FROM ${MIGRATIONS_TABLE}`);
    return Number(v.rows[0]?.v ?? 0);
  } catch (err) {
    if ((err as { code?: string }).code === '42P01') return undefined; // no such table: no store here
    throw err;
  }
}

export function tooNew(current: number, latest: number): StoreError {
  return new StoreError(
    'store_too_new',
    `The store has schema version ${current}, newer than this portalctl knows (${latest}); upgrade portalctl before using this store.`,
  );
}

/**
 * Brings the schema to `latest` under the migration lock. `create`: may a
 * database without a store get one? Returns the version found before.
 */
export async function migratePostgres(c: pg.ClientBase, opts: { latest?: number; dir?: string } = {}): Promise<void> {
  const latest = opts.latest ?? LATEST_POSTGRES_VERSION;
  const dir = opts.dir ?? POSTGRES_MIGRATIONS_DIR;
  // A migration waits for another process's migration, not for the usual lock timeout.
  await c.query(`SET lock_timeout = '120s'`);
  await c.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK.toString()]);
  try {
    for (const m of listPostgresMigrations(dir)) {
      if (m.version > latest) continue;
      await c.query('BEGIN');
      try {
        await c.query(
          `CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE} (version integer PRIMARY KEY, file text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
        );
        const current = Number((await c.query<{ v: number | null }>(`SELECT max(version) AS v FROM ${MIGRATIONS_TABLE}`)).rows[0]?.v ?? 0);
        if (current > latest) throw tooNew(current, latest);
        if (current >= m.version) {
          await c.query('COMMIT');
          continue;
        }
        await c.query(readFileSync(join(dir, m.file), 'utf8'));
        await c.query(`INSERT INTO ${MIGRATIONS_TABLE} (version, file) VALUES ($1, $2)`, [m.version, m.file]);
        await c.query('COMMIT');
      } catch (err) {
        await c.query('ROLLBACK').catch(() => {});
        if ((err as { code?: string }).code === '42P07') {
          throw new StoreError(
            'store_invalid',
            `The database already holds tables of another application (${(err as Error).message}); give portalctl a database of its own. Nothing was changed.`,
          );
        }
        throw err;
      }
    }
  } finally {
    await c.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK.toString()]).catch(() => {});
    await c.query('RESET lock_timeout').catch(() => {});
  }
}
