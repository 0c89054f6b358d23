// `users resend-registration`: the FAQ's "Send New Registration".

import { UsageError, withOutcome } from '../../errors.js';
import { neutralize, plural, quote } from '../../text.js';
import { expiredUserIds, resendRegistrations } from '../../domain/lifecycle.js';
import { iso } from '../../domain/time.js';
import { findUser, parseUserRef, toUserView, type UserRef } from '../../domain/users.js';
import { parseEmail } from '../../domain/validate.js';
import { emailKey } from '../../store/keys.js';
import { info, warning, type Message, type Result } from '../../output/results.js';
import { usernameCell } from '../../output/users.js';
import { confirmIfInteractive } from '../../runtime/ask.js';
import type { Context } from '../../runtime/context.js';
import { readAfterSending, sendQueued } from '../../runtime/send.js';
import { flag, str, type RawInput } from '../command.js';

export interface ResendOptions {
  users: UserRef[];
  email?: string;
  allExpired: boolean;
}

export function parse(raw: RawInput): ResendOptions {
  const refs = (raw.args[0] as string[] | undefined) ?? [];
  const allExpired = flag(raw, 'allExpired');
  const email = str(raw, 'email');
  if (allExpired && refs.length > 0) throw new UsageError('Give either users or --all-expired, not both.', 'usage');
  if (!allExpired && refs.length === 0) throw new UsageError('Name at least one user (id or email address), or use --all-expired.', 'missing_value');
  if (email !== undefined && (allExpired || refs.length !== 1))
    throw new UsageError("--email changes one user's address; name exactly one user with it.", 'usage');
  return { users: refs.map(parseUserRef), email: email === undefined ? undefined : parseEmail(email), allExpired };
}

export async function run(ctx: Context, o: ResendOptions): Promise<Result> {
  const portal = await ctx.portal();
  ctx.mailSettings();
  const store = await ctx.store();
  const messages: Message[] = [];
  let ids: number[];
  if (o.allExpired) {
    ids = await expiredUserIds(store, portal, ctx.now);
    if (ids.length === 0) return { kind: 'users', users: [], report: true, empty: 'No unlinked user has an expired link; nothing was sent.' };
    await confirmIfInteractive(ctx, `Send a new registration email to ${plural(ids.length, 'user')} with an expired link?`);
  } else {
    // Every user is found before anything changes: one bad reference changes nothing.
    const users = await store.read(async (tx) => Promise.all(o.users.map((r) => findUser(tx, portal, r))));
    ids = [...new Set(users.map((u) => u.id))];
    // The confirmation names the account too: the warning that says so is printed with the result, after the answer.
    const linkedAs = (u: (typeof users)[number]) => neutralize(usernameCell(toUserView(u, iso(ctx.now))));
    for (const u of users) {
      if (u.loginService) {
        const linked = `User ${u.id} (${neutralize(u.email)}) is already linked as ${linkedAs(u)}; a new registration email lets them switch login service`;
        messages.push(warning(`${linked}, and their current account keeps working until they use it.`));
      }
    }
    const linked = users.filter((u) => u.loginService);
    if (linked.length > 0)
      await confirmIfInteractive(
        ctx,
        `${linked.length === 1 ? `User ${linked[0]!.id} is already linked as ${linkedAs(linked[0]!)}` : `${linked.length} of these users are already linked`}; send a new registration email anyway?`,
      );
    if (o.email !== undefined && emailKey(o.email) !== emailKey(users[0]!.email)) {
      await confirmIfInteractive(
        ctx,
        `Change the address of user ${users[0]!.id} from ${quote(users[0]!.email)} to ${quote(o.email)} and send the email there?`,
      );
      messages.push(info(`User ${users[0]!.id}'s address is now ${neutralize(o.email)} (was ${neutralize(users[0]!.email)}).`));
    }
  }
  // One transaction: every user gets a new registration, or (store locked, disk full) nobody does and every old link still works.
  const recorded = await resendRegistrations(store, portal, ids, o.email, ctx.stamp()).catch((err) => {
    throw withOutcome(err, 'nothing was changed: no registration was replaced, every earlier link still works, and no email was sent. Try again.');
  });
  const sending = await sendQueued(
    ctx,
    recorded.map((r) => r.outboxId),
    {
      recorded: `New registrations for ${plural(recorded.length, 'user')} are recorded (${recorded.length === 1 ? 'the earlier link no longer works' : 'their earlier links no longer work'}) and ${recorded.length === 1 ? 'the email is' : 'their emails are'} queued`,
    },
  );
  const now = iso(ctx.now);
  const views = await readAfterSending(
    sending,
    () =>
      store.read(async (tx) => {
        const out = [];
        for (const id of ids) {
          const u = await tx.users.listing(id);
          if (u) out.push(toUserView(u, now));
        }
        return out;
      }),
    [],
    `new registration emails for ${plural(recorded.length, 'user')} are recorded and went out; only showing the users failed (\`portalctl users list --status pending\` shows them once the store answers).`,
  );
  return {
    kind: 'users',
    users: views,
    report: true,
    ...(views.length > 1
      ? { summary: () => ({ lines: [`Sent new registration emails to ${plural(views.length, 'user')}.`], seeAll: 'portalctl users list --status pending' }) }
      : {}),
    messages: [...messages, ...(sending.messages ?? [])],
    error: sending.error,
  };
}
