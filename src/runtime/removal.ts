// Removing users a batch at a time (prune, users remove) as a run shows it:
// progress on the terminal, and Ctrl-C between batches — the batches done
// stay done, the rest is left for the next run.

import { iso } from '../domain/time.js';
import { toUserView, type UserView } from '../domain/users.js';
import type { UserListing } from '../store/types.js';
import type { Context } from './context.js';

export interface RemovalStream {
  /** The users removed (or, dry run, found), as the renderer reads them; reading them does the work. */
  users: AsyncIterable<UserView[]>;
  count(): number;
  /** Ctrl-C stopped the work before the end. */
  interrupted(): boolean;
}

/** What prune and users remove report alike: the removed users under "removed", dryRun, and interrupted when it was. */
export function removalReport(removal: RemovalStream, dryRun: boolean) {
  return {
    kind: 'users' as const,
    users: removal.users,
    jsonKey: 'removed',
    jsonExtra: () => ({ dryRun, ...(removal.interrupted() ? { interrupted: true } : {}) }),
    report: !dryRun,
    sideEffects: true,
  };
}

export async function removalStream(ctx: Context, batches: AsyncIterable<UserListing[]>, dryRun: boolean, label: string): Promise<RemovalStream> {
  const signal = ctx.interrupts();
  const progress = await ctx.progress(label);
  const now = iso(ctx.now);
  let count = 0;
  let interrupted = false;
  const users = (async function* (): AsyncIterable<UserView[]> {
    try {
      for await (const batch of batches) {
        count += batch.length;
        progress.update(`${dryRun ? 'Found' : 'Removed'} ${count}…`);
        yield batch.map((u) => toUserView(u, now));
        // The store answers synchronously: without a turn of the event loop between batches, Ctrl-C would be heard only at the end.
        await new Promise((resolve) => setImmediate(resolve));
        if (signal.aborted) {
          interrupted = true;
          return;
        }
      }
    } finally {
      progress.stop();
    }
  })();
  return { users, count: () => count, interrupted: () => interrupted };
}
