import type { Command } from 'commander';
import type { Context } from '../../context.js';
import { formatLocal } from '../../domain/time.js';
import type { OutboxRow } from '../../mail/outbox.js';
import { printJsonList, printTable, say } from '../../output/output.js';

export function outboxView(r: OutboxRow, claimIsStale: (by: string, at: string) => boolean) {
  // A queued message that a live process has claimed is being sent right now.
  const state = r.state === 'queued' && r.claimed_by && r.claimed_at && !claimIsStale(r.claimed_by, r.claimed_at) ? 'sending' : r.state;
  return { id: r.id, portal: r.portal, userId: r.user_id, to: r.email, state, attempts: r.attempts, lastError: r.last_error, createdAt: r.created_at, updatedAt: r.updated_at };
}

export function scopePortalId(ctx: Context): number | undefined {
  return ctx.portalFlag()?.id;
}

export async function outboxListRun(ctx: Context): Promise<void> {
  const { claimIsStale, pendingMessages } = await import('../../mail/outbox.js');
  const view = (r: OutboxRow) => outboxView(r, claimIsStale);
  const rows = pendingMessages(ctx.store(), scopePortalId(ctx));
  if (ctx.options.json) {
    await printJsonList(ctx, 'messages', rows.map(view));
    return;
  }
  if (rows.length === 0) {
    say(ctx, 'The outbox is empty: every registration email has been delivered.');
    return;
  }
  const tty = ctx.io.stdoutIsTTY;
  await printTable(
    ctx,
    [
      { header: 'ID', text: (r) => String(r.id) },
      { header: 'Portal', text: (r) => r.portal },
      { header: 'User', text: (r) => String(r.user_id) },
      { header: 'To', text: (r) => r.email },
      { header: 'State', text: (r) => view(r).state },
      { header: 'Attempts', text: (r) => String(r.attempts) },
      { header: 'Last attempt', text: (r) => (tty ? formatLocal(r.updated_at) : r.updated_at) },
      { header: 'Last error', text: (r) => r.last_error ?? '' },
    ],
    rows,
  );
}

export function register(parent: Command, ctx: Context): void {
  parent
    .command('list')
    .summary('registration emails not yet delivered')
    .description('List queued (waiting for a retry) and failed (refused by the mail server) registration emails.')
    .addHelpText('after', '\nExamples:\n  portalctl outbox list\n  portalctl outbox list --json')
    .action(() => outboxListRun(ctx));
}
