import type { Command } from 'commander';
import type { Context } from '../../context.js';
import { findUser } from '../../domain/users.js';
import { parseWholeNumber } from '../../domain/validate.js';
import { printUsers, say } from '../../output/output.js';
import { actor, userViews } from '../shared.js';

export async function setRemovalDaysRun(ctx: Context, ref: string, daysRaw: string): Promise<void> {
  const days = parseWholeNumber(daysRaw, 'DAYS', 0, 3650);
  const portal = ctx.portal();
  const user = findUser(ctx.store(), portal, ref);
  const { setRemovalDays } = await import('../../domain/registration.js');
  setRemovalDays(ctx.store(), portal, user.id, days, actor(ctx));
  say(ctx, `User ${user.id} will be removed in ${days} day${days === 1 ? '' : 's'} unless linked first.`);
  if (!ctx.options.quiet || ctx.options.json) await printUsers(ctx, userViews(ctx, [user.id]));
}

export function register(parent: Command, ctx: Context): void {
  parent
    .command('set-removal-days')
    .summary("restart an unlinked user's removal countdown")
    .description("Reset the number of days until account removal: the unlinked user's profile is removed DAYS days from now unless linked first.")
    .argument('<user>', 'user id or email address')
    .argument('<days>', 'whole number of days from now (0 or more)')
    .addHelpText('after', '\nExamples:\n  portalctl users set-removal-days jane.doe@example.org 30')
    .action((ref: string, days: string) => setRemovalDaysRun(ctx, ref, days));
}
