import type { Command } from 'commander';
import type { Context } from '../../context.js';
import { MAX_ATTEMPTS } from '../../mail/limits.js';
import { printJsonList, say } from '../../output/output.js';
import { deliverQueued, reportDeliveries } from '../shared.js';
import { scopePortalId } from './list.js';

export interface OutboxSendOptions {
  includeFailed?: boolean;
}

/** Retries queued messages (oldest first); failed ones too with --include-failed. */
export async function outboxSendRun(ctx: Context, o: OutboxSendOptions): Promise<void> {
  const store = ctx.store();
  const { pendingMessages } = await import('../../mail/outbox.js');
  const pending = pendingMessages(store, scopePortalId(ctx)).filter((r) => r.state === 'queued' || (o.includeFailed && r.attempts < MAX_ATTEMPTS * 2));
  if (o.includeFailed) {
    store.write(() => {
      const requeue = store.db.prepare(`UPDATE outbox SET state = 'queued' WHERE id = ? AND state = 'failed'`);
      for (const r of pending) requeue.run(r.id);
    });
  }
  if (pending.length === 0) {
    say(ctx, 'Nothing to send: no registration email is queued.');
    if (ctx.options.json) await printJsonList(ctx, 'messages', []);
    return;
  }
  const results = await deliverQueued(ctx, pending.map((p) => ({ outboxId: p.id })), { pool: pending.length > 1, label: 'Sending queued emails' });
  if (ctx.options.json) {
    await printJsonList(ctx, 'messages', results.map((r) => ({ id: r.outboxId, userId: r.userId, to: r.to, state: r.state, error: r.error ?? null })));
  } else {
    const dropped = results.filter((r) => r.state === 'dropped').length;
    if (dropped) say(ctx, `${dropped} queued email${dropped === 1 ? ' was' : 's were'} dropped: a newer registration replaced ${dropped === 1 ? 'it' : 'them'}.`);
  }
  reportDeliveries(ctx, results);
}

export function register(parent: Command, ctx: Context): void {
  parent
    .command('send')
    .summary('retry delivery of queued registration emails')
    .description(`Retry queued registration emails, oldest first. Each retry carries a fresh Step 2 link that replaces the undelivered one. After ${MAX_ATTEMPTS} failed attempts a message is marked failed.`)
    .option('--include-failed', 'also retry messages the mail server refused (after fixing the cause)')
    .addHelpText('after', '\nExamples:\n  portalctl outbox send\n  portalctl outbox send --include-failed')
    .action((o: OutboxSendOptions) => outboxSendRun(ctx, o));
}
