// `outbox send`: retry the emails that wait in the outbox.

import { UsageError } from '../../errors.js';
import type { Result } from '../../output/results.js';
import { parkedWarning } from '../../output/delivery.js';
import type { DeliveryResult } from '../../mail/deliver.js';
import type { Context } from '../../runtime/context.js';
import { sendQueued } from '../../runtime/send.js';
import { deliverConfigured, webhookTargets } from '../../runtime/webhooks.js';
import { flag, type RawInput } from '../command.js';

export interface OutboxSendOptions {
  includeFailed: boolean;
}

export function parse(raw: RawInput): OutboxSendOptions {
  return { includeFailed: flag(raw, 'includeFailed') };
}

export async function run(ctx: Context, o: OutboxSendOptions): Promise<Result> {
  const portal = await ctx.portalScope();
  const settings = ctx.mailSettings();
  const targets = webhookTargets(ctx.settings);
  const store = await ctx.store();
  const ids: number[] = [];
  const failed: number[] = [];
  let parked = 0;
  for await (const batch of store.listPending({ portalId: portal?.id })) {
    for (const m of batch) {
      if (m.state === 'queued') ids.push(m.id);
      else if (o.includeFailed) failed.push(m.id);
      else parked++;
    }
  }
  if (!settings.smtp && ids.length + failed.length > 0) {
    // The queue holds emails that were meant for a server: turning them into files would lose them quietly.
    throw new UsageError(
      `PORTALCTL_SMTP_URL is not set: ${ids.length + failed.length} queued email${ids.length + failed.length === 1 ? '' : 's'} would only be written as .eml files, not sent. Set PORTALCTL_SMTP_URL (or smtpUrl in the config file) and run again.`,
      'smtp_not_configured',
    );
  }
  if (failed.length) await store.write((tx) => tx.outbox.requeueFailed(failed, ctx.now.toISOString()));
  const all = [...ids, ...failed].sort((a, b) => a - b);
  const signal = ctx.interrupts();
  const sending = await sendQueued(ctx, all, { label: 'Sending queued emails', noun: 'email' });
  // Every outbox run is also a webhook delivery run (a cron job of it is enough; no extra daemon).
  const webhooks = signal.aborted ? [] : await deliverConfigured(store, targets, ctx.now, signal);
  return {
    kind: 'table',
    jsonKey: 'messages',
    rows: sending.results.filter((r) => r.state !== 'skipped' || sending.error),
    columns: [
      { header: 'ID', value: (r: DeliveryResult) => r.outboxId, kind: 'number' },
      { header: 'User', value: (r: DeliveryResult) => r.userId ?? '', kind: 'number' },
      { header: 'To', value: (r: DeliveryResult) => r.to ?? '' },
      { header: 'Email', value: (r: DeliveryResult) => r.kind ?? '' },
      { header: 'Result', value: (r: DeliveryResult) => r.state },
      { header: 'Error', value: (r: DeliveryResult) => r.error ?? '' },
    ],
    toJson: (r: DeliveryResult) => ({ id: r.outboxId, userId: r.userId, to: r.to, kind: r.kind ?? null, state: r.state, error: r.error ?? null }),
    report: true,
    // On a terminal: the first messages and the counts (the messages below), not a row per email.
    summary: () => ({ lines: [] }),
    empty: 'Nothing to send: no email is queued.',
    messages: [...(sending.messages ?? []), ...(parked > 0 ? [parkedWarning(parked)] : []), ...webhooks],
    error: sending.error,
  };
}
