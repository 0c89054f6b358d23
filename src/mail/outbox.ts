// Delivering queued registration emails.
//
// A registration and its queued email are recorded in one transaction before
// any delivery is tried. Delivering one message:
//   1. in a write transaction, mint a fresh Step 2 token, store only its digest,
//      retire any token an earlier attempt minted, and restart the link's
//      expiry (the person gets the full link lifetime from this email);
//   2. hand the email to the mail server (nothing is locked meanwhile);
//   3. mark the message sent — or keep it queued (temporary failure) or mark
//      it failed (5xx, with the server's reason).
// So the store never holds a readable token, a retry never leaves two valid
// links, and a message accepted once is never sent again.

import { hostname } from 'node:os';
import type { Store } from '../store/store.js';
import type { PortalRow, RegistrationRow, UserRow } from '../store/store.js';
import { addDays, iso, type Clock } from '../domain/time.js';
import { linkUrl, mintToken, tokenDigest } from '../domain/tokens.js';
import { composeRegistrationEmail } from './compose.js';
import { MAX_ATTEMPTS } from './limits.js';
import { DeliveryError, type Mailer } from './transport.js';

export { MAX_ATTEMPTS };

/** A claim older than this is taken over even if its process cannot be checked (another host). */
export const CLAIM_LIFETIME_MS = 15 * 60 * 1000;

/** This process, as it writes its claims: "host:pid". */
export const CLAIMANT = `${hostname()}:${process.pid}`;

/**
 * A claim may be taken over when its process is gone (same host) or it has
 * outlived CLAIM_LIFETIME_MS. Claims are about real processes, so they use the
 * real clock, never PORTALCTL_NOW.
 */
export function claimIsStale(claimedBy: string, claimedAt: string): boolean {
  if (claimedBy === CLAIMANT) return true;
  if (Date.now() - Date.parse(claimedAt) > CLAIM_LIFETIME_MS) return true;
  const [host, pidText] = [claimedBy.slice(0, claimedBy.lastIndexOf(':')), claimedBy.slice(claimedBy.lastIndexOf(':') + 1)];
  if (host !== hostname()) return false;
  try {
    process.kill(Number(pidText), 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** 'busy': another live process is delivering it right now. */
export type DeliveryState = 'sent' | 'queued' | 'failed' | 'dropped' | 'busy';

export interface DeliveryResult {
  outboxId: number;
  userId: number | null;
  to: string | null;
  state: DeliveryState;
  where?: string;
  error?: string;
}

interface Prepared {
  outboxId: number;
  user: UserRow;
  portal: PortalRow;
  reg: RegistrationRow;
  token: string;
  expiresAt: string;
}

function prepare(store: Store, outboxId: number, now: Date): Prepared | { dropped: true } | { busy: true } {
  return store.write(() => {
    const row = store.prepare(`SELECT * FROM outbox WHERE id = ?`).get(outboxId) as
      | { registration_id: number; state: string; claimed_by: string | null; claimed_at: string | null }
      | undefined;
    if (!row || row.state !== 'queued') return { dropped: true as const };
    if (row.claimed_by && row.claimed_at && !claimIsStale(row.claimed_by, row.claimed_at)) return { busy: true as const };
    const reg = store.prepare('SELECT * FROM registrations WHERE id = ?').get(row.registration_id) as RegistrationRow;
    if (reg.state !== 'active') {
      // A newer registration replaced this one before its email went out.
      store.prepare('DELETE FROM outbox WHERE id = ?').run(outboxId);
      return { dropped: true as const };
    }
    const user = store.prepare('SELECT * FROM users WHERE id = ?').get(reg.user_id) as UserRow;
    const portal = store.portalById(user.portal_id)!;
    const nowIso = iso(now);
    const token = mintToken();
    const expiresAt = iso(addDays(now, portal.link_days));
    store.prepare('UPDATE link_tokens SET retired_at = ? WHERE registration_id = ? AND retired_at IS NULL').run(nowIso, reg.id);
    store.prepare('INSERT INTO link_tokens (digest, registration_id, minted_at) VALUES (?, ?, ?)').run(tokenDigest(token), reg.id, nowIso);
    store.prepare('UPDATE registrations SET expires_at = ? WHERE id = ?').run(expiresAt, reg.id);
    store.prepare('UPDATE outbox SET attempts = attempts + 1, updated_at = ?, claimed_by = ?, claimed_at = ? WHERE id = ?').run(nowIso, CLAIMANT, new Date().toISOString(), outboxId);
    return { outboxId, user, portal, reg, token, expiresAt };
  });
}

function finish(store: Store, p: Prepared, now: Date, outcome: { state: 'sent' } | { state: 'queued' | 'failed'; error: string }): void {
  const nowIso = iso(now);
  store.write(() => {
    if (outcome.state === 'sent') {
      store.prepare(`UPDATE outbox SET state = 'sent', sent_at = ?, updated_at = ?, last_error = NULL, claimed_by = NULL, claimed_at = NULL WHERE id = ?`).run(nowIso, nowIso, p.outboxId);
      store.prepare('UPDATE registrations SET sent_at = ? WHERE id = ?').run(nowIso, p.reg.id);
    } else {
      store.prepare(`UPDATE outbox SET state = ?, last_error = ?, updated_at = ?, claimed_by = NULL, claimed_at = NULL WHERE id = ?`).run(outcome.state, outcome.error, nowIso, p.outboxId);
    }
  });
}

export interface DeliverOptions {
  clock: Clock;
  onProgress?: (done: number, total: number) => void;
  /** Messages sent at once (a pooled SMTP transport spreads them over its connections). */
  concurrency?: number;
}

async function deliverOne(store: Store, mailer: Mailer, outboxId: number, clock: Clock): Promise<DeliveryResult> {
  const p = prepare(store, outboxId, clock());
  if ('dropped' in p) return { outboxId, userId: null, to: null, state: 'dropped' };
  if ('busy' in p) return { outboxId, userId: null, to: null, state: 'busy' };
  const mail = composeRegistrationEmail({
    portalName: p.portal.name,
    portalUrl: p.portal.base_url,
    registerUrl: p.portal.register_url,
    adminEmail: p.portal.admin_email,
    firstName: p.user.first_name,
    lastName: p.user.last_name,
    to: p.reg.email,
    linkUrl: linkUrl(p.portal.base_url, p.token),
    expiresAt: p.expiresAt,
    timeZone: p.portal.time_zone ?? undefined,
  });
  mail.from = `no-reply@${new URL(p.portal.base_url).hostname}`;
  mail.date = clock();
  const base = { outboxId, userId: p.user.id, to: p.reg.email };
  try {
    const sent = await mailer.send(mail, `${iso(clock()).replace(/[:.]/g, '-')}-${p.portal.slug}-user${p.user.id}-msg${outboxId}`);
    finish(store, p, clock(), { state: 'sent' });
    return { ...base, state: 'sent', where: sent.where };
  } catch (err) {
    const de = err instanceof DeliveryError ? err : new DeliveryError((err as Error).message ?? String(err), false);
    const attempts = (store.prepare('SELECT attempts FROM outbox WHERE id = ?').get(outboxId) as { attempts: number } | undefined)?.attempts ?? 0;
    const state = de.permanent || attempts >= MAX_ATTEMPTS ? 'failed' : 'queued';
    const error = !de.permanent && state === 'failed' ? `gave up after ${attempts} attempts: ${de.message}` : de.message;
    finish(store, p, clock(), { state, error });
    return { ...base, state, error };
  }
}

/** Delivers the given queued messages, in order, a few at a time. */
export async function deliver(store: Store, mailer: Mailer, outboxIds: number[], opts: DeliverOptions): Promise<DeliveryResult[]> {
  const results: DeliveryResult[] = new Array(outboxIds.length);
  const width = Math.max(1, opts.concurrency ?? 1);
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < outboxIds.length) {
      const i = next++;
      results[i] = await deliverOne(store, mailer, outboxIds[i]!, opts.clock);
      opts.onProgress?.(++done, outboxIds.length);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, outboxIds.length) }, worker));
  return results;
}

export interface OutboxRow {
  id: number;
  registration_id: number;
  state: 'queued' | 'failed' | 'sent';
  attempts: number;
  last_error: string | null;
  created_at: string;
  updated_at: string;
  user_id: number;
  email: string;
  portal: string;
  claimed_by: string | null;
  claimed_at: string | null;
}

/** Messages not yet delivered: queued first (oldest first), then failed. */
export function pendingMessages(store: Store, portalId?: number): OutboxRow[] {
  return store.read(
    () =>
      store
        .prepare(
          `SELECT o.*, r.user_id, r.email, p.slug AS portal
           FROM outbox o JOIN registrations r ON r.id = o.registration_id
           JOIN users u ON u.id = r.user_id JOIN portals p ON p.id = u.portal_id
           WHERE o.state <> 'sent' ${portalId === undefined ? '' : 'AND u.portal_id = ?'}
           ORDER BY o.state = 'failed', o.id`,
        )
        .all(...(portalId === undefined ? [] : [portalId])) as OutboxRow[],
  );
}
