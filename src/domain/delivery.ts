// The lifecycle side of sending an email from the outbox. Delivering one
// message is three steps, two of them here:
//   1. claimForDelivery — in one transaction: take the message (so no other
//      process sends it), and for a registration email mint a fresh Step 2
//      token (only its digest is stored), retire the tokens of earlier
//      attempts and restart the link's expiry; a reminder gets a token of its
//      own beside the original's, with the same expiry;
//   2. (mail/) compose the email with the token and hand it to the server;
//   3. recordDeliveries — mark it sent, or queue it again with a backoff, or
//      mark it failed with the server's reason.
// So the store never holds a readable token, a retry never leaves two valid
// registration links, and a message accepted once is never sent again.
//
// A bulk send takes steps 1 and 3 for many messages a transaction, and
// claims the next messages while the last ones are on their way; a message
// claimed but never handed to the server goes back to the queue as it was
// (releaseClaims). A transaction per message cost more than composing the email.

import { hostname } from 'node:os';
import type { OutboxMessage, Portal, Registration, Store, Tx, UserListing } from '../store/types.js';
import { emit, type Stamp } from './lifecycle.js';
import { removalDate } from './reminders.js';
import { addDays, iso } from './time.js';
import { mintToken, tokenDigest } from './tokens.js';

/** A claim older than this is taken over even if its process cannot be checked (another host). */
export const CLAIM_LIFETIME_MS = 15 * 60 * 1000;

/** This process, as it writes its claims: "host:pid". */
export const CLAIMANT = `${hostname()}:${process.pid}`;

/**
 * Whether the process that wrote a claim or lease ("host:pid") is gone: true
 * when it ran on this host and no longer exists; false when it is alive or ran
 * on another host (which cannot be checked).
 */
export function processIsGone(holder: string): boolean {
  const cut = holder.lastIndexOf(':');
  if (holder.slice(0, cut) !== hostname()) return false;
  try {
    process.kill(Number(holder.slice(cut + 1)), 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * A claim may be taken over when its process is gone (same host) or it has
 * outlived CLAIM_LIFETIME_MS. Claims are about real processes, so they use the
 * real clock, never PORTALCTL_NOW.
 */
export function claimIsStale(claimedBy: string, claimedAt: string): boolean {
  if (claimedBy === CLAIMANT) return true;
  if (Date.now() - Date.parse(claimedAt) > CLAIM_LIFETIME_MS) return true;
  return processIsGone(claimedBy);
}

/** A message taken for delivery, with everything its email needs. */
export interface ClaimedMessage {
  message: OutboxMessage;
  portal: Portal;
  user: UserListing;
  registration: Registration;
  /** The Step 2 token the email carries (registration and reminder emails). */
  token?: string;
  /** The link's expiry as the email states it. */
  expiresAt: string;
}

export type ClaimOutcome = ClaimedMessage | 'sent' | 'gone' | 'busy';

/** Step 1 inside a transaction. */
async function claimInTx(tx: Tx, outboxId: number, stamp: Stamp): Promise<ClaimOutcome> {
  const at = iso(stamp.now);
  const taken = await tx.outbox.claim(outboxId, CLAIMANT, new Date().toISOString(), at, claimIsStale);
  if (typeof taken === 'string') return taken;
  const { message: claimed, registration, user, portal } = taken;
  // A newer registration replaced this one, or the person linked, before the
  // email went out; a reminder whose link has expired or a warning whose
  // removal date has passed meanwhile would say what is no longer true.
  const stale =
    registration.state !== 'active' ||
    (claimed.kind !== 'registration' && user.loginService !== null) ||
    (claimed.kind === 'reminder' && registration.expiresAt <= at) ||
    (claimed.kind === 'removal_warning' && (removalDate(user, registration) ?? at) <= at);
  if (stale) {
    await tx.outbox.remove(outboxId);
    return 'gone';
  }
  let token: string | undefined;
  let expiresAt = registration.expiresAt;
  if (claimed.kind === 'registration') {
    // The person gets the full link lifetime from this email; earlier attempts' links die.
    token = mintToken();
    expiresAt = iso(addDays(stamp.now, portal.linkDays));
    await tx.registrations.renewLink(registration.id, tokenDigest(token), at, expiresAt);
  } else if (claimed.kind === 'reminder') {
    // Another working link to the same registration: the original keeps working.
    token = mintToken();
    await tx.tokens.insert(tokenDigest(token), registration.id, at);
  }
  return { message: claimed, portal, user, registration: { ...registration, expiresAt }, token, expiresAt };
}

/**
 * Step 1 for several messages, in one transaction: one outcome each, in order. 'sent': another process sent it
 * meanwhile; 'gone': replaced or no longer needed; 'busy': another live process is sending it. All or none.
 */
export function claimForDelivery(store: Store, outboxIds: readonly number[], stamp: Stamp): Promise<ClaimOutcome[]> {
  return store.write(async (tx) => {
    // The claims touch different messages, so they go side by side: on PostgreSQL their statements share
    // round trips instead of taking three each. Every one ends before the transaction does, also when one fails.
    const claims = await Promise.allSettled(outboxIds.map((id) => claimInTx(tx, id, stamp)));
    const failed = claims.find((c) => c.status === 'rejected');
    if (failed) throw failed.reason;
    return claims.map((c) => (c as PromiseFulfilledResult<ClaimOutcome>).value);
  });
}

/**
 * Gives back messages this process claimed and never handed to the server (the run stopped first): queued as
 * before, their attempt not counted, for the next run to send at once. A registration email's fresh token stays
 * the link's only one — nobody has it, and the next claim replaces it.
 */
export function releaseClaims(store: Store, outboxIds: readonly number[]): Promise<void> {
  return store.write((tx) => tx.outbox.release(outboxIds, CLAIMANT));
}

/** How long a temporarily undeliverable message waits before the next try: 1, 2, 4 … minutes, at most 6 hours. */
export function backoff(attempts: number): number {
  return Math.min(6 * 60, 2 ** Math.max(0, attempts - 1)) * 60_000;
}

export type DeliveryOutcome = { state: 'sent'; where: string } | { state: 'queued' | 'failed'; error: string };

/** What became of a claimed message, to be recorded. */
export interface Settled {
  claimed: ClaimedMessage;
  outcome: DeliveryOutcome;
}

async function recordInTx(tx: Tx, c: ClaimedMessage, outcome: DeliveryOutcome, stamp: Stamp): Promise<void> {
  const at = iso(stamp.now);
  const m = c.message;
  if (outcome.state === 'sent') {
    // A registration email marks its registration sent too.
    await tx.outbox.markSent(m.id, at);
    await emit(tx, 'email_sent', c.portal, c.user, at, { kind: m.kind, messageId: m.id, registrationId: c.registration.id, expiresAt: c.expiresAt });
  } else {
    const next = outcome.state === 'queued' ? iso(new Date(stamp.now.getTime() + backoff(m.attempts))) : null;
    await tx.outbox.markUnsent(m.id, outcome.state, outcome.error, at, next);
    await emit(tx, 'email_failed', c.portal, c.user, at, {
      kind: m.kind,
      messageId: m.id,
      registrationId: c.registration.id,
      error: outcome.error,
      willRetry: outcome.state === 'queued',
    });
  }
}

/** Step 3 for several messages, in one transaction: what became of each. All or none. */
export function recordDeliveries(store: Store, settled: readonly Settled[], stamp: Stamp): Promise<void> {
  return store.write(async (tx) => {
    for (const s of settled) await recordInTx(tx, s.claimed, s.outcome, stamp);
  });
}
