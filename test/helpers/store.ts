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

/** The shape of a store, read as an auditor would: counts that must never show a half-made user. */
export function inspect(path: string) {
  const d = new Database(path, { readonly: true });
  const n = (sql: string) => (d.prepare(sql).get() as { n: number }).n;
  try {
    return {
      integrity: d.pragma('integrity_check', { simple: true }) as string,
      users: n('SELECT count(*) AS n FROM users'),
      // A user without a registration, or an active registration with no email queued or sent.
      orphanUsers: n('SELECT count(*) AS n FROM users u WHERE NOT EXISTS (SELECT 1 FROM registrations r WHERE r.user_id = u.id)'),
      orphanRegs: n(
        "SELECT count(*) AS n FROM registrations r WHERE r.state = 'active' AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.registration_id = r.id)",
      ),
      queued: n("SELECT count(*) AS n FROM outbox WHERE state = 'queued'"),
      failed: (d.prepare("SELECT last_error FROM outbox WHERE state = 'failed'").all() as { last_error: string }[]).map((r) => r.last_error),
      dupActive: n("SELECT count(*) AS n FROM (SELECT user_id FROM registrations WHERE state = 'active' GROUP BY user_id HAVING count(*) > 1)"),
      /** Users with more than one unretired token on their active registration: two valid links. */
      twoLinks: n(
        "SELECT count(*) AS n FROM (SELECT r.user_id FROM link_tokens t JOIN registrations r ON r.id = t.registration_id WHERE t.retired_at IS NULL AND r.state = 'active' GROUP BY r.user_id HAVING count(*) > 1)",
      ),
    };
  } finally {
    d.close();
  }
}

/** Adds `n` unlinked users straight into a store (as a big portal would have them), with the keys the store computes. */
export function seedUsers(path: string, n: number, opts: { portalId?: number; createdAt?: string; removalDueAt?: string } = {}): void {
  const db = new Database(path);
  try {
    const add = db.prepare(
      `INSERT INTO users (portal_id, first_name, last_name, email, email_key, removal_due_at, created_at, search_key, name_key)
       VALUES (?, 'P', ?, ?, ?, ?, ?, ?, ?)`,
    );
    db.transaction(() => {
      for (let i = 0; i < n; i++) {
        const email = `p${i}@example.org`;
        add.run(
          opts.portalId ?? 1,
          String(i),
          email,
          emailKey(email),
          opts.removalDueAt ?? '2026-12-28T14:00:00.000Z',
          opts.createdAt ?? '2026-11-28T14:00:00.000Z',
          searchKey({ firstName: 'P', lastName: String(i), email }),
          nameKey('P', String(i)),
        );
      }
    })();
  } finally {
    db.close();
  }
}
