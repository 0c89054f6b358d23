// Sending queued emails: for each message, claim it (domain/delivery.ts mints
// its Step 2 token), compose it, hand it to the mailer, record the outcome.
// A few go at once over a pooled connection. Ctrl-C (the signal) lets the
// messages in flight finish and leaves the rest queued; so does a relay that
// keeps failing, after a few connection failures in a row.

import { StoreError } from '../errors.js';
import { claimForDelivery, recordDelivery, type ClaimedMessage } from '../domain/delivery.js';
import type { Stamp } from '../domain/lifecycle.js';
import { linkUrl } from '../domain/tokens.js';
import type { MessageKind } from '../store/types.js';
import type { Store } from '../store/types.js';
import { composeRegistrationEmail, composeReminderEmail, composeRemovalWarningEmail, type ComposedEmail } from './compose.js';
import { removalDate } from '../domain/reminders.js';
import { serviceName } from '../domain/services.js';
import { DeliveryError, type Mailer } from './transport.js';

/**
 * 'sent_elsewhere': another process sent it meanwhile; 'busy': another live process is sending it; 'dropped': replaced or no longer needed;
 * 'skipped': not tried (interrupted, the relay kept failing, or the store failed); 'unrecorded': the mail server took it but the store could
 * not record that, so it stays queued and will be sent again.
 */
export type DeliveryState = 'sent' | 'queued' | 'failed' | 'dropped' | 'busy' | 'sent_elsewhere' | 'skipped' | 'unrecorded';

export interface DeliveryResult {
  outboxId: number;
  kind?: MessageKind;
  userId: number | null;
  to: string | null;
  state: DeliveryState;
  where?: string;
  error?: string;
  /** The relay itself failed (unreachable, refused the connection or the login). */
  serverProblem?: boolean;
  /** The store could not be written (locked, disk full): why. The run stops at the first one. */
  storeError?: StoreError;
}

export interface DeliverOptions {
  stamp: Stamp;
  /** Messages sent at once (a pooled SMTP transport spreads them over its connections). */
  concurrency?: number;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
  /** After this many relay failures in a row, stop and leave the rest queued. */
  giveUpAfter?: number;
}

/** The email for a claimed message, by kind. */
export function composeFor(c: ClaimedMessage, zone: string): ComposedEmail {
  const p = c.portal;
  const timeZone = p.timeZone ?? zone;
  const person = {
    portalName: p.name,
    portalUrl: p.baseUrl,
    adminEmail: p.adminEmail,
    firstName: c.user.firstName,
    lastName: c.user.lastName,
    to: c.registration.email,
    timeZone,
  };
  // A linked person is never removed; an unlinked one is told when.
  const removalAt = c.user.loginService ? undefined : (c.user.removalDueAt ?? undefined);
  let mail: ComposedEmail;
  switch (c.message.kind) {
    case 'reminder':
      mail = composeReminderEmail({ ...person, registerUrl: p.registerUrl, linkUrl: linkUrl(p.baseUrl, c.token!), expiresAt: c.expiresAt, removalAt });
      break;
    case 'removal_warning':
      mail = composeRemovalWarningEmail({ ...person, removalAt: removalDate(c.user, c.registration)! });
      break;
    default:
      mail = composeRegistrationEmail({
        ...person,
        registerUrl: p.registerUrl,
        linkUrl: linkUrl(p.baseUrl, c.token!),
        expiresAt: c.expiresAt,
        removalAt,
        linkedAs:
          c.user.loginService && c.user.username
            ? { username: c.user.username, serviceName: serviceName(c.user.loginService) ?? c.user.loginService }
            : undefined,
      });
  }
  mail.from = `no-reply@${new URL(p.baseUrl).hostname}`;
  return mail;
}

async function deliverOne(store: Store, mailer: Mailer, outboxId: number, opts: DeliverOptions): Promise<DeliveryResult> {
  let claimed;
  try {
    claimed = await claimForDelivery(store, outboxId, opts.stamp);
  } catch (err) {
    // Not claimed: the message stays queued as it was.
    if (err instanceof StoreError) return { outboxId, userId: null, to: null, state: 'skipped', storeError: err };
    throw err;
  }
  if (claimed === 'gone') return { outboxId, userId: null, to: null, state: 'dropped' };
  if (claimed === 'busy') return { outboxId, userId: null, to: null, state: 'busy' };
  if (claimed === 'sent') return { outboxId, userId: null, to: null, state: 'sent_elsewhere' };
  const mail = composeFor(claimed, opts.stamp.zone);
  mail.date = opts.stamp.now;
  const base = { outboxId, kind: claimed.message.kind, userId: claimed.user.id, to: claimed.registration.email };
  const fileName = `${opts.stamp.now.toISOString().replace(/[:.]/g, '-')}-${claimed.portal.slug}-user${claimed.user.id}-msg${outboxId}`;
  let sent;
  try {
    sent = await mailer.send(mail, fileName);
  } catch (err) {
    const de = err instanceof DeliveryError ? err : new DeliveryError(String((err as Error).message ?? err), false, true);
    const state = de.permanent ? 'failed' : 'queued';
    try {
      await recordDelivery(store, claimed, { state, error: de.message }, opts.stamp);
    } catch (storeErr) {
      // The claim stays; the message is taken over as queued once this process is gone.
      if (storeErr instanceof StoreError) return { ...base, state: 'queued', error: de.message, serverProblem: de.server, storeError: storeErr };
      throw storeErr;
    }
    return { ...base, state, error: de.message, serverProblem: de.server };
  }
  try {
    await recordDelivery(store, claimed, { state: 'sent', where: sent.where }, opts.stamp);
  } catch (err) {
    if (err instanceof StoreError) return { ...base, state: 'unrecorded', where: sent.where, storeError: err };
    throw err;
  }
  return { ...base, state: 'sent', where: sent.where };
}

/** Delivers the given queued messages in order, a few at a time; returns one result per message. */
export async function deliver(store: Store, mailer: Mailer, outboxIds: number[], opts: DeliverOptions): Promise<DeliveryResult[]> {
  const results: DeliveryResult[] = outboxIds.map((outboxId) => ({ outboxId, userId: null, to: null, state: 'skipped' }));
  const width = Math.max(1, opts.concurrency ?? 1);
  const giveUpAfter = opts.giveUpAfter ?? 5;
  let next = 0;
  let done = 0;
  let failuresInARow = 0;
  let storeFailed = false;
  // A store that cannot be written now will not be writable for the next message either: stop, leave the rest queued.
  const stopped = () => opts.signal?.aborted || failuresInARow >= giveUpAfter || storeFailed;
  const worker = async () => {
    while (next < outboxIds.length && !stopped()) {
      const i = next++;
      const r = await deliverOne(store, mailer, outboxIds[i]!, opts);
      results[i] = r;
      if (r.storeError) storeFailed = true;
      failuresInARow = r.serverProblem ? failuresInARow + 1 : r.state === 'sent' ? 0 : failuresInARow;
      opts.onProgress?.(++done, outboxIds.length);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, outboxIds.length) }, worker));
  return results;
}
