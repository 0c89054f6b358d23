// A real SQLite store in a temporary folder, a clock the test moves, and the
// real .eml mailer: for testing the lifecycle rules without argv or a
// terminal. Also `inspect()`, which reads a store file the way an auditor
// would, to check that nothing is half-made.

import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { createPortal } from '../../src/domain/portals.js';
import type { RecordedRegistration, Stamp } from '../../src/domain/lifecycle.js';
import { DAY_MS } from '../../src/domain/time.js';
import { deliver, type DeliveryResult } from '../../src/mail/deliver.js';
import { createMailer, type Mailer } from '../../src/mail/transport.js';
import { SqliteStore } from '../../src/store/sqlite/store.js';
import { nameKey } from '../../src/store/keys.js';
import { emailKey, searchKey } from '../../src/store/keys.js';
import type { Portal } from '../../src/store/types.js';
import { storeSql, type StoreTarget } from './sql.js';
import { tempDir } from './tmp.js';

export const START = new Date('2026-11-28T14:00:00Z');

export interface StoreWorld {
  dir: string;
  path: string;
  store: SqliteStore;
  portal: Portal;
  now: Date;
  /** Moves the clock by (fractional) days. */
  advance(days: number): void;
  stamp(): Stamp;
  mailer: Mailer;
  /** Delivers the queued emails of these registrations as .eml files. */
  send(recorded: Pick<RecordedRegistration, 'outboxId'>[]): Promise<DeliveryResult[]>;
  close(): Promise<void>;
}

export async function storeWorld(opts: { linkDays?: number; removalDays?: number } = {}): Promise<StoreWorld> {
  const dir = tempDir('portalctl-store');
  const path = join(dir, 'portalctl.db');
  const store = SqliteStore.open(path, { create: true });
  const stamp = (): Stamp => ({ now: w.now, actor: 'tester', zone: 'America/New_York' });
  const portal = await createPortal(
    store,
    {
      slug: 'grants',
      name: 'Grants Portal',
      baseUrl: 'https://grants.example.org',
      adminEmail: 'admin@example.org',
      registerUrl: 'https://grants.example.org/register',
      linkDays: opts.linkDays ?? 7,
      removalDays: opts.removalDays ?? 30,
      remindDays: [2, 5],
      warnDays: 7,
      timeZone: null,
    },
    { now: START, actor: 'tester', zone: 'UTC' },
  );
  const mailer = await createMailer({ mailDir: join(dir, 'mail') });
  const w: StoreWorld = {
    dir,
    path,
    store,
    portal,
    now: START,
    advance(days) {
      w.now = new Date(w.now.getTime() + days * DAY_MS);
    },
    stamp,
    mailer,
    send: (recorded) =>
      deliver(
        store,
        mailer,
        recorded.map((r) => r.outboxId),
        { stamp: stamp() },
      ),
    async close() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return w;
}

/** The Step 2 token in an .eml file (quoted-printable undone, as a mail client shows it). */
export function tokenInEml(file: string): string {
  const text = readFileSync(file, 'utf8')
    .replace(/=\r?\n/g, '')
    .replace(/=3D/g, '=');
  const m = /token=([A-Za-z0-9_-]{27})/.exec(text);
  if (!m) throw new Error(`no Step 2 token in ${file}`);
  return m[1]!;
}

// The questions an auditor asks of a store: counts that must never show a half-made user.
const AUDIT = {
  users: 'SELECT count(*) AS n FROM users',
  // A user without a registration, or an active registration with no email queued or sent.
  orphanUsers: 'SELECT count(*) AS n FROM users u WHERE NOT EXISTS (SELECT 1 FROM registrations r WHERE r.user_id = u.id)',
  orphanRegs: "SELECT count(*) AS n FROM registrations r WHERE r.state = 'active' AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.registration_id = r.id)",
  queued: "SELECT count(*) AS n FROM outbox WHERE state = 'queued'",
  /** Messages a process holds for delivery; none once every run has ended (what one claimed and never tried it gives back). */
  claimed: 'SELECT count(*) AS n FROM outbox WHERE claimed_by IS NOT NULL',
  dupActive: "SELECT count(*) AS n FROM (SELECT user_id FROM registrations WHERE state = 'active' GROUP BY user_id HAVING count(*) > 1) x",
  /** Users with more than one unretired token on their active registration: two valid links. */
  twoLinks:
    "SELECT count(*) AS n FROM (SELECT r.user_id FROM link_tokens t JOIN registrations r ON r.id = t.registration_id WHERE t.retired_at IS NULL AND r.state = 'active' GROUP BY r.user_id HAVING count(*) > 1) x",
};
const FAILED = "SELECT last_error FROM outbox WHERE state = 'failed'";

/** The shape of a SQLite store file, read as an auditor would (integrity included). */
export function inspect(path: string) {
  const d = new Database(path, { readonly: true });
  const n = (sql: string) => (d.prepare(sql).get() as { n: number }).n;
  try {
    return {
      integrity: d.pragma('integrity_check', { simple: true }) as string,
      users: n(AUDIT.users),
      orphanUsers: n(AUDIT.orphanUsers),
      orphanRegs: n(AUDIT.orphanRegs),
      queued: n(AUDIT.queued),
      claimed: n(AUDIT.claimed),
      failed: (d.prepare(FAILED).all() as { last_error: string }[]).map((r) => r.last_error),
      dupActive: n(AUDIT.dupActive),
      twoLinks: n(AUDIT.twoLinks),
    };
  } finally {
    d.close();
  }
}

/** inspect() of a test's store of either kind (PostgreSQL keeps its own pages whole: integrity is 'ok' there). */
export async function inspectStore(t: StoreTarget): Promise<ReturnType<typeof inspect>> {
  if (!/^postgres(ql)?:\/\//i.test(t.env.PORTALCTL_DB ?? '')) return inspect(t.env.PORTALCTL_DB!);
  const n = async (sql: string) => Number((await storeSql<{ n: number }>(t, sql))[0]!.n);
  return {
    integrity: 'ok',
    users: await n(AUDIT.users),
    orphanUsers: await n(AUDIT.orphanUsers),
    orphanRegs: await n(AUDIT.orphanRegs),
    queued: await n(AUDIT.queued),
    claimed: await n(AUDIT.claimed),
    failed: (await storeSql<{ last_error: string }>(t, FAILED)).map((r) => r.last_error),
    dupActive: await n(AUDIT.dupActive),
    twoLinks: await n(AUDIT.twoLinks),
  };
}

/** Adds `n` unlinked users straight into a store of either kind (as a big portal would have them), with the keys the store computes. */
export async function seedUsers(t: StoreTarget, n: number, opts: { portalId?: number; createdAt?: string; removalDueAt?: string } = {}): Promise<void> {
  const rows = Array.from({ length: n }, (_, i) => {
    const email = `p${i}@example.org`;
    return [
      opts.portalId ?? 1,
      String(i),
      email,
      emailKey(email),
      opts.removalDueAt ?? '2026-12-28T14:00:00.000Z',
      opts.createdAt ?? '2026-11-28T14:00:00.000Z',
      searchKey({ firstName: 'P', lastName: String(i), email }),
      nameKey('P', String(i)),
    ];
  });
  const insert = `INSERT INTO users (portal_id, first_name, last_name, email, email_key, removal_due_at, created_at, search_key, name_key) VALUES `;
  // A few hundred rows per statement: one round trip each on PostgreSQL.
  for (let i = 0; i < rows.length; i += 500) {
    const chunk = rows.slice(i, i + 500);
    await storeSql(t, insert + chunk.map(() => "(?, 'P', ?, ?, ?, ?, ?, ?, ?)").join(', '), ...chunk.flat());
  }
}
