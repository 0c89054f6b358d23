// `outbox list`: emails not yet delivered.

import { claimIsStale } from '../../domain/delivery.js';
import type { PendingMessage } from '../../store/types.js';
import { mapRows, type Column, type Result } from '../../output/results.js';
import { parkedWarning } from '../../output/delivery.js';
import type { Context } from '../../runtime/context.js';
import type { RawInput } from '../command.js';

/** A queued message that a live process has claimed is being sent right now. */
function stateOf(m: PendingMessage): string {
  if (m.state === 'queued' && m.claimedBy && m.claimedAt && !claimIsStale(m.claimedBy, m.claimedAt)) return 'sending';
  return m.state;
}

const columns: Column<PendingMessage>[] = [
  { header: 'ID', value: (m) => m.id, kind: 'number' },
  { header: 'Portal', value: (m) => m.portal },
  { header: 'User', value: (m) => m.userId, kind: 'number' },
  { header: 'To', value: (m) => m.to },
  { header: 'Email', value: (m) => m.kind },
  { header: 'State', value: (m) => stateOf(m) },
  { header: 'Attempts', short: 'Tries', value: (m) => m.attempts, kind: 'number' },
  { header: 'Last attempt', short: 'Last', value: (m) => (m.attempts ? m.updatedAt : null), kind: 'time' },
  { header: 'Last error', short: 'Error', value: (m) => m.lastError ?? '' },
];

export function parse(_raw: RawInput): Record<string, never> {
  return {};
}

export async function run(ctx: Context): Promise<Result> {
  const portal = await ctx.portalScope({ readOnly: true });
  const store = await ctx.store({ readOnly: true });
  let failed = 0;
  return {
    kind: 'table',
    jsonKey: 'messages',
    // Streamed as read (a large queue never sits in memory); refused ones are counted on the way.
    rows: mapRows(store.listPending({ portalId: portal?.id }), (m) => {
      if (m.state === 'failed') failed++;
      return m;
    }),
    finish: () => ({ messages: failed > 0 ? [parkedWarning(failed)] : [] }),
    columns,
    toJson: (m: PendingMessage) => ({
      id: m.id,
      portal: m.portal,
      userId: m.userId,
      to: m.to,
      kind: m.kind,
      state: stateOf(m),
      attempts: m.attempts,
      lastError: m.lastError,
      nextAttemptAt: m.nextAttemptAt,
      createdAt: m.createdAt,
      updatedAt: m.updatedAt,
    }),
    empty: 'The outbox is empty: every email has been delivered.',
  };
}
