// Delivering a run's queued emails with what a run has: the mailer of the
// settings, progress on the terminal, Ctrl-C to stop after the messages in
// flight. Returns the results and the words for them.

import { withOutcome } from '../errors.js';
import { deliver, type DeliveryResult } from '../mail/deliver.js';
import { describeDeliveries } from '../output/delivery.js';
import type { Outcome } from '../output/results.js';
import type { Context } from './context.js';

export interface Sending extends Pick<Outcome, 'messages' | 'error'> {
  results: DeliveryResult[];
}

export async function sendQueued(ctx: Context, outboxIds: number[], opts: { label?: string; noun?: string; recorded?: string } = {}): Promise<Sending> {
  if (outboxIds.length === 0) return { results: [], messages: [] };
  const bulk = outboxIds.length > 1;
  const mailer = await ctx.mailer({ pool: bulk });
  const store = await ctx.store();
  const signal = bulk ? ctx.interrupts() : undefined;
  const label = opts.label ?? 'Sending registration emails';
  const progress = bulk ? await ctx.progress(`${label} 0/${outboxIds.length}`) : undefined;
  let results: DeliveryResult[];
  try {
    results = await deliver(store, mailer, outboxIds, {
      stamp: ctx.stamp(),
      concurrency: bulk ? (ctx.mailSettings().smtp?.connections ?? 1) : 1,
      signal,
      onProgress: (done, total) => progress?.update(`${label} ${done}/${total}`),
    });
  } finally {
    progress?.stop();
  }
  const words = describeDeliveries(results, {
    toFiles: mailer.toFiles,
    description: mailer.description,
    smtpSetting: ctx.mailSettings().smtp?.setting,
    interrupted: signal?.aborted,
    noun: opts.noun,
    recorded: opts.recorded,
  });
  return { results, ...words };
}

/**
 * What a command reads to show after sending (the users as they are now). If the store fails by
 * then, the work is done and must not look undone: a sending that failed already says what was
 * recorded and what is queued, and stands as the answer (nothing is shown); otherwise the store's
 * error says that the work was done and only the showing failed.
 */
export async function readAfterSending<T>(sending: Sending, read: () => Promise<T>, shown: T, done: string): Promise<T> {
  try {
    return await read();
  } catch (err) {
    if (sending.error) return shown;
    throw withOutcome(err, done);
  }
}
