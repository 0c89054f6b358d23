// A fresh store of either kind for tests that run on both: a SQLite file in a
// temporary folder, or a new database on the run's shared PostgreSQL server.

import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../src/store/open.js';
import type { Store, StoreKind } from '../../src/store/types.js';
import { sharedPostgres } from './postgres.js';

export const STORE_KINDS: StoreKind[] = ['sqlite', 'postgres'];

export interface TestStore {
  kind: StoreKind;
  /** The SQLite path or the postgres:// URL (no password in it). */
  location: string;
  /** The environment that points portalctl at it (PORTALCTL_DB, PGPASSWORD). */
  env: Record<string, string>;
  /** Opens it (again), creating it if asked. */
  open(create?: boolean): Promise<Store>;
  cleanup(): Promise<void>;
}

let template: Promise<string> | undefined;
/** A database migrated once per test worker, copied for each new store (CREATE DATABASE … TEMPLATE): no migration per test. */
function migratedTemplate(): Promise<string> {
  template ??= (async () => {
    const pg = await sharedPostgres();
    // Random, not pid + time: worker threads share one pid and start together.
    const url = await pg.createDatabase(`tpl_${randomBytes(6).toString('hex')}`);
    const s = await openStore({ value: url, explicit: true }, { create: true, password: pg.password, env: {} });
    await s.close();
    return new URL(url).pathname.slice(1);
  })();
  // A failure is the test's that asked, not every later one's: the next world tries again.
  template.catch(() => {
    template = undefined;
  });
  return template;
}

/**
 * A new store. SQLite: a path in a new folder, created by open(true).
 * PostgreSQL: a new database, migrated (an empty store) unless `bare` (a
 * database with no portalctl schema: what `portals add` or `store copy` fills).
 */
export async function newStore(kind: StoreKind, opts: { bare?: boolean } = {}): Promise<TestStore> {
  if (kind === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'portalctl-store-'));
    const location = join(dir, 'portalctl.db');
    return {
      kind,
      location,
      env: { PORTALCTL_DB: location },
      open: (create = true) => openStore({ value: location, explicit: true }, { create, env: {} }),
      cleanup: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  const pg = await sharedPostgres();
  const location = opts.bare ? await pg.createDatabase() : await pg.createDatabase(undefined, { template: await migratedTemplate() });
  const name = new URL(location).pathname.slice(1);
  return {
    kind,
    location,
    env: { PORTALCTL_DB: location, PGPASSWORD: pg.password },
    open: (create = true) => openStore({ value: location, explicit: true }, { create, password: pg.password, env: {} }),
    // Not waited for: DROP DATABASE waits for a checkpoint, slow on a busy machine, and the cluster goes with the run anyway.
    cleanup: async () => void pg.dropDatabase(name).catch(() => {}),
  };
}
