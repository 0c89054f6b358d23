// `users set-removal-days`: the FAQ's "Reset the Number of Days until Account Removal".

import { formatLocal, iso } from '../../domain/time.js';
import { setRemovalDays } from '../../domain/lifecycle.js';
import { findUser, parseUserRef, toUserView, type UserRef } from '../../domain/users.js';
import { parseWholeNumber } from '../../domain/validate.js';
import { info, type Result } from '../../output/results.js';
import { confirmOrRefuse } from '../../runtime/ask.js';
import type { Context } from '../../runtime/context.js';
import type { RawInput } from '../command.js';

export interface SetRemovalDaysOptions {
  user: UserRef;
  days: number;
}

export function parse(raw: RawInput): SetRemovalDaysOptions {
  return { user: parseUserRef(String(raw.args[0])), days: parseWholeNumber(String(raw.args[1]), 'DAYS', 0, 3650) };
}

export async function run(ctx: Context, o: SetRemovalDaysOptions): Promise<Result> {
  const portal = await ctx.portal();
  const store = await ctx.store();
  const user = await store.read((tx) => findUser(tx, portal, o.user));
  if (o.days === 0 && !user.loginService) {
    await confirmOrRefuse(
      ctx,
      `User ${user.id} will be due for removal now: the next prune removes them unless their link is still valid. Continue?`,
      'set-removal-days with 0 days',
    );
  }
  const due = await setRemovalDays(store, portal, user.id, o.days, ctx.stamp());
  const after = (await store.read((tx) => tx.users.listing(user.id)))!;
  const zone = portal.timeZone ?? ctx.zone;
  const when = formatLocal(due, zone);
  const inDays = `in ${o.days} day${o.days === 1 ? '' : 's'}`;
  // A live link defers removal until it expires (SPEC): then the removal date is not the day prune removes them.
  const linkUntil = after.registrationExpiresAt !== null && after.registrationExpiresAt > due ? after.registrationExpiresAt : undefined;
  const text =
    o.days === 0
      ? `User ${user.id} is due for removal now (${when}); the next \`portalctl prune\` removes them unless their Step 2 link is still valid or they link first.`
      : linkUntil
        ? `User ${user.id}'s removal date is ${when} (${inDays}), but their Step 2 link is valid until ${formatLocal(linkUntil, zone)}: prune removes them after that unless they link first.`
        : `User ${user.id} will be removed on ${when} (${inDays}) unless linked first.`;
  return { kind: 'users', users: [toUserView(after, iso(ctx.now))], report: true, messages: [info(text)] };
}
