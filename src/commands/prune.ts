import type { Command } from 'commander';
import type { Context } from '../context.js';
import { iso } from '../domain/time.js';
import { toUserView } from '../domain/users.js';
import { printJsonList, printUsers, say } from '../output/output.js';
import { confirmOrRefuse } from '../prompt.js';
import { UsageError } from '../errors.js';
import { actor, progress } from './shared.js';

export interface PruneOptions {
  dryRun?: boolean;
}

/** Removes unlinked users past their removal date, in every portal unless --portal is given. */
export async function pruneRun(ctx: Context, o: PruneOptions): Promise<void> {
  const store = ctx.store();
  const { prune } = await import('../domain/registration.js');
  const scope = ctx.portalFlag() ? [ctx.portalFlag()!.id] : 'all';
  const dryRun = Boolean(o.dryRun);
  const nowIso = iso(ctx.now());
  // The count is only for the confirmation question: with --yes (cron) there is
  // no question, and counting would read every removable user a second time.
  if (!dryRun && !ctx.options.yes) {
    // Without a terminal (cron) --yes is required even when nothing is due, so
    // a crontab line missing it fails tonight, not on the night it matters.
    if (!ctx.canPrompt()) throw new UsageError('prune needs --yes when not run from a terminal; nothing was removed.', 'confirmation_required');
    const due = prune(store, scope, true, actor(ctx));
    if (due.length > 0) {
      await confirmOrRefuse(ctx, `Remove ${due.length} unlinked user${due.length === 1 ? '' : 's'} past their removal date?`, 'prune');
    }
  }
  const spin = await progress(ctx, dryRun ? 'Finding users due for removal…' : 'Removing unlinked users past their removal date…');
  let removed;
  try {
    removed = prune(store, scope, dryRun, actor(ctx)).map((r) => toUserView(r, nowIso));
  } finally {
    spin.stop();
  }
  if (ctx.options.json) {
    await printJsonList(ctx, 'removed', removed, { dryRun });
    return;
  }
  if (ctx.options.quiet) return;
  if (removed.length === 0) {
    say(ctx, 'No unlinked users are past their removal date.');
    return;
  }
  await printUsers(ctx, removed);
  say(ctx, dryRun ? `Would remove ${removed.length} user${removed.length === 1 ? '' : 's'} (dry run; nothing changed).` : `Removed ${removed.length} user${removed.length === 1 ? '' : 's'}.`);
}

export function register(program: Command, ctx: Context): void {
  program
    .command('prune')
    .summary('remove unlinked users past their removal date')
    .description(
      'Remove portal user profiles that were never linked and whose removal date has passed.\nNever removes a linked user, nor one whose Step 2 link is still valid. Without a terminal it needs --yes.',
    )
    .option('--dry-run', 'show who would be removed, change nothing')
    .addHelpText('after', '\nExamples:\n  portalctl prune --dry-run\n  portalctl prune --yes --quiet        # nightly, from cron')
    .action((o: PruneOptions) => pruneRun(ctx, o));
}
