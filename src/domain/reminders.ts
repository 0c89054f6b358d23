// Reminders and removal warnings (SPEC "Reminders and removal warnings"): who
// is due for which notice, and recording each one exactly once.
//
// A portal's --remind-days are days after the registration email was sent; a
// person with a still-valid link gets one reminder at the latest of those days
// that has passed (a run that missed day 2 and runs on day 5 sends one
// reminder, not two). --warn-days before the removal date — the later of the
// user's removal date and their link's expiry, which is when prune really
// removes them — an unlinked person gets a removal warning. Both are recorded
// per registration in `notices`; recording claims the notice, queues its email
// in the outbox and appends its event in one transaction, so whatever runs at
// the same time, or is killed and run again, each notice is queued once and
// the outbox delivers it.

import type { NoticeKind, Portal, Registration, Store, Tx, UserListing } from '../store/types.js';
import { emit, type Stamp } from './lifecycle.js';
import { addDays, DAY_MS, iso } from './time.js';

/** Users looked at per transaction: the write lock is held briefly, whatever the total. */
export const NOTICE_BATCH = 500;

/** A notice that is due: whom, which, and the dates its email states. */
export interface DueNotice {
  portal: Portal;
  user: UserListing;
  registration: Registration;
  kind: NoticeKind;
  /** The reminder's day after the registration email; 0 for a removal warning. */
  step: number;
  /** The link's expiry (what a reminder states). */
  expiresAt: string;
  /** When the profile is removed unless linked (what a removal warning states). */
  removalAt: string | null;
}

/** A due notice that this run recorded, with its queued email. */
export interface RecordedNotice extends DueNotice {
  outboxId: number;
}

/**
 * The reminder day due for a registration whose email went out at `sentAt`:
 * the latest of `remindDays` that has passed, unless a reminder for it or a
 * later day was sent already.
 */
export function dueReminderStep(remindDays: readonly number[], sentAt: string, now: Date, sentSteps: readonly number[]): number | undefined {
  const sent = Date.parse(sentAt);
  const passed = remindDays.filter((d) => sent + d * DAY_MS <= now.getTime());
  if (passed.length === 0) return undefined;
  const step = Math.max(...passed);
  return sentSteps.some((s) => s >= step) ? undefined : step;
}

/** When prune removes an unlinked user: their removal date, or later if their link is still valid then. */
export function removalDate(user: Pick<UserListing, 'removalDueAt' | 'loginService'>, registration: Registration | undefined): string | null {
  if (user.loginService || !user.removalDueAt) return null;
  const expiry = registration?.state === 'active' ? registration.expiresAt : undefined;
  return expiry !== undefined && expiry > user.removalDueAt ? expiry : user.removalDueAt;
}

/** One batch of due notices of a portal after a user id, per kind; `next` is where the following batch starts. */
async function dueBatch(tx: Tx, portal: Portal, kind: NoticeKind, afterUserId: number, now: Date): Promise<{ due: DueNotice[]; next?: number }> {
  const nowIso = iso(now);
  if (kind === 'reminder') {
    if (portal.remindDays.length === 0) return { due: [] };
    const rows = await tx.notices.reminderCandidates({
      portalId: portal.id,
      now: nowIso,
      sentBefore: iso(addDays(now, -Math.min(...portal.remindDays))),
      afterUserId,
      limit: NOTICE_BATCH,
    });
    const due: DueNotice[] = [];
    for (const { user, registration, sentSteps } of rows) {
      const step = dueReminderStep(portal.remindDays, registration.sentAt!, now, sentSteps);
      if (step === undefined) continue;
      due.push({ portal, user, registration, kind, step, expiresAt: registration.expiresAt, removalAt: removalDate(user, registration) });
    }
    return { due, next: rows.length === NOTICE_BATCH ? rows[rows.length - 1]!.user.id : undefined };
  }
  if (portal.warnDays === 0) return { due: [] };
  const rows = await tx.notices.warningCandidates({
    portalId: portal.id,
    now: nowIso,
    removalBefore: iso(addDays(now, portal.warnDays)),
    afterUserId,
    limit: NOTICE_BATCH,
  });
  return {
    due: rows.map(({ user, registration, removalAt }) => ({ portal, user, registration, kind, step: 0, expiresAt: registration.expiresAt, removalAt })),
    next: rows.length === NOTICE_BATCH ? rows[rows.length - 1]!.user.id : undefined,
  };
}

async function* walk<T>(portals: readonly Portal[], batch: (portal: Portal, kind: NoticeKind, afterUserId: number) => Promise<{ items: T[]; next?: number }>) {
  for (const portal of portals) {
    for (const kind of ['reminder', 'removal_warning'] as const) {
      let after = 0;
      for (;;) {
        const { items, next } = await batch(portal, kind, after);
        if (items.length) yield items;
        if (next === undefined) break;
        after = next;
      }
    }
  }
}

/** The notices due now (a dry run): read only, nothing recorded. */
export function dueNotices(store: Store, portals: readonly Portal[], stamp: Stamp): AsyncIterable<DueNotice[]> {
  return walk(portals, async (portal, kind, after) => {
    const { due, next } = await store.read((tx) => dueBatch(tx, portal, kind, after, stamp.now));
    return { items: due, next };
  });
}

/**
 * Records the notices due now, a batch per transaction: each is claimed (once
 * per registration, whatever runs at the same time), its email queued and its
 * event appended. Yields what each batch recorded; stop iterating to stop.
 */
export function recordNotices(store: Store, portals: readonly Portal[], stamp: Stamp): AsyncIterable<RecordedNotice[]> {
  const at = iso(stamp.now);
  return walk(portals, (portal, kind, after) =>
    store.write(async (tx) => {
      const { due, next } = await dueBatch(tx, portal, kind, after, stamp.now);
      const items: RecordedNotice[] = [];
      for (const n of due) {
        if (!(await tx.notices.claim(n.registration.id, kind, n.step, at))) continue;
        const outboxId = await tx.outbox.enqueue(n.registration.id, kind, at);
        if (kind === 'reminder') {
          await emit(tx, 'reminded', portal, n.user, at, { registrationId: n.registration.id, day: n.step, messageId: outboxId, expiresAt: n.expiresAt });
        } else {
          await emit(tx, 'removal_warned', portal, n.user, at, {
            registrationId: n.registration.id,
            removalAt: n.removalAt,
            warnDays: portal.warnDays,
            messageId: outboxId,
          });
        }
        items.push({ ...n, outboxId });
      }
      return { items, next };
    }),
  );
}
