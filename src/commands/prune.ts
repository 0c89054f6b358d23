// `prune`: remove unlinked users past their removal date (SPEC rule 6).

import { InterruptedError, UsageError } from '../errors.js';
import { plural } from '../text.js';
import { prune, recordExpiries } from '../domain/lifecycle.js';
import { info, type Result } from '../output/results.js';
import { confirmOrRefuse } from '../runtime/ask.js';
import { removalReport, removalStream } from '../runtime/removal.js';
import { deliverConfigured, webhookTargets } from '../runtime/webhooks.js';
import type { Context } from '../runtime/context.js';
import { flag, type RawInput } from './command.js';

export interface PruneOptions {
  dryRun: boolean;
}

export function parse(raw: RawInput): PruneOptions {
  return { dryRun: flag(raw, 'dryRun') };
}

export async function run(ctx: Context, o: PruneOptions): Promise<Result> {
  // Without a terminal (cron) --yes is required even when nothing is due, so
  // a crontab line missing it fails tonight, not on the night it matters.
  if (!o.dryRun && !ctx.globals.yes && !ctx.io.canPrompt)
    throw new UsageError('prune needs --yes when not run from a terminal; nothing was removed.', 'confirmation_required');
  const portal = await ctx.portalScope();
  const store = await ctx.store();
  const targets = o.dryRun ? [] : webhookTargets(ctx.settings);
  const stamp = ctx.stamp();
  const scope = { portalId: portal?.id };
  if (!o.dryRun && !ctx.globals.yes) {
    let due = 0;
    for await (const batch of prune(store, scope, stamp, true)) due += batch.length;
    if (due > 0) await confirmOrRefuse(ctx, `Remove ${plural(due, 'unlinked user')} past their removal date?`, 'prune');
  }
  // From here on Ctrl-C stops after the batch in flight (each batch is one transaction); the
  // spinner turns before the first write, which may wait for another process's lock.
  const signal = ctx.interrupts();
  const removal = await removalStream(
    ctx,
    prune(store, scope, stamp, o.dryRun),
    o.dryRun,
    o.dryRun ? 'Finding users due for removal…' : 'Removing unlinked users past their removal date…',
  );
  const done = o.dryRun ? 'Would remove' : 'Removed';
  return {
    ...removalReport(removal, o.dryRun),
    summary: () => ({ lines: [], seeAll: o.dryRun ? 'portalctl prune --dry-run --json' : 'portalctl audit --since 1h' }),
    empty: 'No unlinked users are past their removal date.',
    finish: async () => {
      const count = removal.count();
      if (removal.interrupted()) {
        return {
          error: new InterruptedError(
            `Interrupted: removed ${plural(count, 'user')}; the others due for removal are still there — run \`portalctl prune\` again to finish.`,
            { removed: count },
          ),
        };
      }
      // The expiries of the links of users who stay, once the removals are done (those of the
      // removed users were recorded with their removal).
      if (!o.dryRun) await recordExpiries(store, stamp);
      // The nightly prune is also a webhook delivery run (its removals and the expiries it recorded among them).
      const webhooks = await deliverConfigured(store, targets, stamp.now, signal);
      return { messages: [...(count === 0 ? [] : [info(`${done} ${plural(count, 'user')}${o.dryRun ? ' (dry run; nothing changed)' : ''}.`)]), ...webhooks] };
    },
  };
}
