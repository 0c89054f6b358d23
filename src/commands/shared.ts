// What several commands share: the actor for the audit trail, users as the
// overview shows them, and delivering queued email with an honest report.

import type { Context } from '../context.js';
import { MailQueuedError, RefusedError } from '../errors.js';
import type { Actor, Queued } from '../domain/registration.js';
import { toUserView, type UserView } from '../domain/users.js';
import { iso } from '../domain/time.js';
import type { DeliveryResult } from '../mail/outbox.js';
import { say, warn } from '../output/output.js';
import { neutralize } from '../output/sanitize.js';

export function actor(ctx: Context): Actor {
  return { name: ctx.actorName(), now: ctx.now() };
}

export function userViews(ctx: Context, ids: number[]): UserView[] {
  const store = ctx.store();
  const nowIso = iso(ctx.now());
  return ids.map((id) => store.userListRow(id)).filter((r) => r !== undefined).map((r) => toUserView(r, nowIso));
}

/** Starts an ora spinner on stderr when progress may be shown; returns an updater and a stopper. */
export async function progress(ctx: Context, text: string): Promise<{ update(text: string): void; stop(): void }> {
  if (!ctx.showProgress()) return { update() {}, stop() {} };
  const { default: ora } = await import('ora');
  const spinner = ora({ text, stream: ctx.io.stderr as NodeJS.WriteStream }).start();
  return {
    update: (t) => {
      spinner.text = t;
    },
    stop: () => spinner.stop(),
  };
}

/** Delivers the emails of freshly recorded registrations. */
export async function deliverQueued(ctx: Context, queued: Pick<Queued, 'outboxId'>[], opts: { pool?: boolean; label?: string } = {}): Promise<DeliveryResult[]> {
  if (queued.length === 0) return [];
  const { deliver } = await import('../mail/outbox.js');
  const mailer = await ctx.mailer({ pool: opts.pool });
  const spin = queued.length > 1 ? await progress(ctx, `${opts.label ?? 'Sending'} 0/${queued.length}`) : undefined;
  try {
    return await deliver(ctx.store(), mailer, queued.map((q) => q.outboxId), {
      clock: ctx.now,
      concurrency: opts.pool ? 4 : 1,
      onProgress: (done, total) => spin?.update(`${opts.label ?? 'Sending'} ${done}/${total}`),
    });
  } finally {
    spin?.stop();
  }
}

/**
 * Tells where each email went. Call after printing the result: it throws when
 * a message is still queued (exit 75) or was refused by the server (exit 1).
 */
export function reportDeliveries(ctx: Context, results: DeliveryResult[]): void {
  const sent = results.filter((r) => r.state === 'sent');
  const queued = results.filter((r) => r.state === 'queued');
  const failed = results.filter((r) => r.state === 'failed');
  const busy = results.filter((r) => r.state === 'busy').length;
  if (busy) say(ctx, `${busy} email${busy === 1 ? ' is' : 's are'} being sent by another portalctl process right now; left to it.`);
  if (sent.length === 1) say(ctx, `Registration email to ${neutralize(sent[0]!.to ?? '')} ${sent[0]!.where?.endsWith('.eml') ? 'written to' : 'sent via'} ${sent[0]!.where}`);
  else if (sent.length > 1) {
    const where = sent[0]!.where?.endsWith('.eml') ? `written to ${sent[0]!.where.replace(/\/[^/]*$/, '/')}` : `sent via ${sent[0]!.where}`;
    say(ctx, `${sent.length} registration emails ${where}`);
  }
  for (const f of failed) warn(ctx, `the mail server refused the email to ${neutralize(f.to ?? '')} (user ${f.userId}): ${neutralize(f.error ?? '')}`);
  for (const q of queued) warn(ctx, `the email to ${neutralize(q.to ?? '')} (user ${q.userId}) could not be delivered now: ${neutralize(q.error ?? '')}`);
  if (queued.length > 0) {
    throw new MailQueuedError(
      `${queued.length === 1 ? 'The registration is recorded, but its email is' : `${queued.length} registrations are recorded, but their emails are`} queued: delivery failed (${neutralize(queued[0]!.error ?? '')}). Run \`portalctl outbox send\` to retry.`,
      { queued: queued.map((q) => q.outboxId) },
    );
  }
  if (failed.length > 0) {
    throw new RefusedError(
      'mail_failed',
      `The registration is recorded, but the mail server refused ${failed.length === 1 ? 'its email' : `${failed.length} emails`} (${neutralize(failed[0]!.error ?? '')}). Check the address and use \`portalctl users resend-registration USER --email ADDRESS\`.`,
      { failed: failed.map((f) => f.outboxId) },
    );
  }
}
