// A real store in a temporary folder, a movable clock, and the real .eml
// mailer, for testing the lifecycle without argv or a terminal.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store, type PortalRow } from '../../src/store/store.js';
import { createMailer, type Mailer } from '../../src/mail/transport.js';
import { deliver, type DeliveryResult } from '../../src/mail/outbox.js';
import type { Queued } from '../../src/domain/registration.js';
import { DAY_MS } from '../../src/domain/time.js';

export interface World {
  dir: string;
  store: Store;
  portal: PortalRow;
  now: Date;
  advance(days: number): void;
  actor(): { name: string; now: Date };
  mailer: Mailer;
  send(q: Pick<Queued, 'outboxId'>[]): Promise<DeliveryResult[]>;
  /** The Step 2 token in an .eml file written by the mailer. */
  tokenIn(file: string): string;
  close(): void;
}

export async function world(opts: { linkDays?: number; removalDays?: number } = {}): Promise<World> {
  const dir = mkdtempSync(join(tmpdir(), 'portalctl-unit-'));
  const store = Store.open(join(dir, 'p.db'));
  const start = new Date('2026-11-28T14:00:00Z');
  store.db
    .prepare(
      `INSERT INTO portals (slug, name, base_url, admin_email, register_url, link_days, removal_days, created_at) VALUES ('grants','Grants Portal','https://grants.example.org','admin@example.org','https://grants.example.org/register',?,?,?)`,
    )
    .run(opts.linkDays ?? 7, opts.removalDays ?? 30, start.toISOString());
  const portal = store.portalBySlug('grants')!;
  const mailer = await createMailer({ mailDir: join(dir, 'mail') });
  const w: World = {
    dir,
    store,
    portal,
    now: start,
    advance(days) {
      w.now = new Date(w.now.getTime() + days * DAY_MS);
    },
    actor: () => ({ name: 'tester', now: w.now }),
    mailer,
    send: (q) =>
      deliver(
        store,
        mailer,
        q.map((x) => x.outboxId),
        { clock: () => w.now },
      ),
    tokenIn(file) {
      const raw = readFileSync(file, 'utf8')
        .replace(/=\r?\n/g, '')
        .replace(/=3D/g, '=');
      const m = /token=([A-Za-z0-9_-]{27})/.exec(raw);
      if (!m) throw new Error(`no token in ${file}`);
      return m[1]!;
    },
    close() {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return w;
}
