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
  /** With PORTALCTL_SMTP_URL unset: write the queued emails as .eml files, as invite does, instead of refusing. */
  eml: boolean;
}

export function parse(raw: RawInput): OutboxSendOptions {
  return { includeFailed: flag(raw, 'includeFailed'), eml: flag(raw, 'eml') };
}

export async function run(ctx: Context, o: OutboxSendOptions): Promise<Result> {
  const portal = await ctx.portalScope();
  const settings = ctx.mailSettings();
  if (o.eml && settings.smtp) {
    throw new UsageError(
      '--eml writes the queued emails as .eml files only when PORTALCTL_SMTP_URL (or smtpUrl in the config file) is unset; with a mail server set, run `portalctl outbox send` to send them.',
      'eml_with_smtp',
    );
  }
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
  if (!settings.smtp && !o.eml && ids.length + failed.length > 0) {
    // The queue may hold emails that were meant for a server (a cron line that lost its
    // PORTALCTL_SMTP_URL): turning them into files unasked would lose them quietly.
    const n = ids.length + failed.length;
    throw new UsageError(
      `PORTALCTL_SMTP_URL is not set: ${n} queued email${n === 1 ? '' : 's'} would only be written as .eml files, not sent. Set PORTALCTL_SMTP_URL (or smtpUrl in the config file) and run again, or run \`portalctl outbox send --eml\` to write ${n === 1 ? 'it' : 'them'} to the mail folder.`,
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
