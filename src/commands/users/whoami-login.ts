// `users whoami-login`: the helpdesk's "what is this person's username, and
// with which login service?"

import { NotFoundError, UsageError } from '../../errors.js';
import { CONTROL, neutralize, plural, quote } from '../../text.js';
import { formatLocal, iso } from '../../domain/time.js';
import { findUser, parseUserRef, toUserView, type UserView } from '../../domain/users.js';
import { info, type Message, type Result } from '../../output/results.js';
import { NOT_LINKED, usernameCell } from '../../output/users.js';
import type { Context } from '../../runtime/context.js';
import type { RawInput } from '../command.js';

export type WhoamiOptions = { ref: ReturnType<typeof parseUserRef> } | { search: string };

export function parse(raw: RawInput): WhoamiOptions {
  const value = String(raw.args[0]).trim();
  if (/^[0-9]+$/.test(value) || value.includes('@')) return { ref: parseUserRef(value) };
  if ([...value].length < 2 || value.length > 200 || CONTROL.test(value)) {
    throw new UsageError(`Give a user id, an email address or at least 2 letters of a name, not ${quote(value, 40)}.`, 'invalid_user');
  }
  return { search: value };
}

/** What the helpdesk tells the person, said once per kind of answer however many users match. */
function advice(users: UserView[], zone: (u: UserView) => string): Message[] {
  const out: Message[] = [];
  const linked = users.filter((u) => u.status === 'linked');
  const pending = users.filter((u) => u.status === 'pending');
  const expired = users.filter((u) => u.status === 'expired');
  const name = (u: UserView) => neutralize(`${u.firstName} ${u.lastName}`);
  if (users.length === 1) {
    const u = users[0]!;
    if (u.status === 'linked') out.push(info(`${name(u)}: ${neutralize(usernameCell(u))}`));
    else if (u.status === 'pending') {
      out.push(
        info(
          `${name(u)}: ${NOT_LINKED} Their Step 2 link is valid until ${formatLocal(u.registrationExpiresAt!, zone(u))}: ask them to complete Step 2 of the registration email, or send a new one with \`portalctl users resend-registration ${u.id}\`.`,
        ),
      );
    } else {
      out.push(
        info(
          `${name(u)}: ${NOT_LINKED} No login service account is linked to this profile, so the portal has no username for it. The user needs to contact the IMS Login Service Administrator for the username.`,
        ),
      );
    }
    return out;
  }
  if (linked.length)
    out.push(info(`${plural(linked.length, 'user')} linked: the Username/ID column shows the username and, in parentheses, the login service.`));
  if (pending.length)
    out.push(
      info(
        `${plural(pending.length, 'user')} pending: not linked yet, their Step 2 link is still valid; ask them to complete Step 2, or send a new registration email (\`portalctl users resend-registration ID\`).`,
      ),
    );
  if (expired.length)
    out.push(
      info(
        `${plural(expired.length, 'user')} not linked with an expired link: the portal has no username for them; they need to contact the IMS Login Service Administrator for the username.`,
      ),
    );
  return out;
}

export async function run(ctx: Context, o: WhoamiOptions): Promise<Result> {
  const portal = await ctx.portal({ readOnly: true });
  const store = await ctx.store();
  const now = iso(ctx.now);
  let users: UserView[];
  if ('ref' in o) users = [toUserView(await store.read((tx) => findUser(tx, portal, o.ref)), now)];
  else {
    users = [];
    for await (const batch of store.listUsers({ portalId: portal.id, now, search: o.search, limit: 200 })) users.push(...batch.map((u) => toUserView(u, now)));
    if (users.length === 0) throw new NotFoundError(`No user of portal ${portal.slug} matches ${quote(o.search)}; try \`portalctl users list --search TEXT\`.`);
  }
  return { kind: 'users', users, messages: advice(users, () => portal.timeZone ?? ctx.zone) };
}
