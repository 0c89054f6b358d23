// `users invite`: one person, or everyone in a CSV file.

import { UsageError, withOutcome } from '../../errors.js';
import { plural, quote } from '../../text.js';
import { readInviteCsv } from '../../domain/csv.js';
import { alreadyRegistered, invite, inviteMany } from '../../domain/lifecycle.js';
import { iso } from '../../domain/time.js';
import { toUserView } from '../../domain/users.js';
import { parseEmail, parseName } from '../../domain/validate.js';
import { info, type Result } from '../../output/results.js';
import { confirmIfInteractive, valueOrPrompt } from '../../runtime/ask.js';
import type { Context } from '../../runtime/context.js';
import { readAfterSending, sendQueued } from '../../runtime/send.js';
import { str, type RawInput } from '../command.js';

export type InviteOptions = { fromCsv: string } | { email?: string; firstName?: string; lastName?: string };

export function parse(raw: RawInput): InviteOptions {
  const fromCsv = str(raw, 'fromCsv');
  const email = str(raw, 'email');
  const firstName = str(raw, 'firstName');
  const lastName = str(raw, 'lastName');
  if (fromCsv !== undefined) {
    if (email !== undefined || firstName !== undefined || lastName !== undefined)
      throw new UsageError('Use either --from-csv FILE or --email/--first-name/--last-name, not both.', 'usage');
    return { fromCsv };
  }
  return {
    email: email === undefined ? undefined : parseEmail(email),
    firstName: firstName === undefined ? undefined : parseName(firstName, 'first name'),
    lastName: lastName === undefined ? undefined : parseName(lastName, 'last name'),
  };
}

export async function run(ctx: Context, o: InviteOptions): Promise<Result> {
  // Everything the invitation needs is checked before the first question and the first write.
  const portal = await ctx.portal();
  ctx.mailSettings();
  if ('fromCsv' in o) return inviteFromCsv(ctx, o.fromCsv);
  const email = parseEmail(await valueOrPrompt(ctx, o.email, '--email', 'Email address:', (v) => parseEmail(v)));
  // An address that already has a profile is refused before the names are asked for.
  const store = await ctx.store();
  const existing = await store.read((tx) => tx.users.byEmail(portal.id, email));
  if (existing) throw alreadyRegistered(portal, email, existing.id);
  const firstName = parseName(await valueOrPrompt(ctx, o.firstName, '--first-name', 'First name:', (v) => parseName(v, 'first name')), 'first name');
  const lastName = parseName(await valueOrPrompt(ctx, o.lastName, '--last-name', 'Last name:', (v) => parseName(v, 'last name')), 'last name');
  const recorded = await invite(store, portal, { email, firstName, lastName }, ctx.stamp()).catch((err) => {
    throw withOutcome(err, `nothing was changed: ${quote(email)} was not invited. Try again.`);
  });
  const sending = await sendQueued(ctx, [recorded.outboxId], { recorded: `${quote(email)} is invited to ${portal.slug} (user ${recorded.userId})` });
  const user = await readAfterSending(
    sending,
    () => store.read((tx) => tx.users.listing(recorded.userId)),
    undefined,
    `${quote(email)} is invited (user ${recorded.userId}) and the email went out; only showing the user failed (\`portalctl users show ${recorded.userId}\` shows them once the store answers).`,
  );
  return { kind: 'users', users: user ? [toUserView(user, iso(ctx.now))] : [], report: true, messages: sending.messages, error: sending.error };
}

async function inviteFromCsv(ctx: Context, path: string): Promise<Result> {
  const portal = await ctx.portal();
  const people = await readInviteCsv(path);
  const store = await ctx.store();
  // Counting who is new is for the question only: with --yes or in a script nobody is asked, and inviteMany finds them anyway.
  if (!ctx.globals.yes && ctx.io.canPrompt) {
    const known = await store.read(async (tx) => {
      let n = 0;
      for (const p of people) if (await tx.users.byEmail(portal.id, p.email)) n++;
      return n;
    });
    const fresh = people.length - known;
    if (fresh > 0) await confirmIfInteractive(ctx, `Send registration emails to ${plural(fresh, 'person', 'people')} for ${portal.slug}?`);
  }
  const bulk = await inviteMany(store, portal, people, ctx.stamp()).catch((err) => {
    throw withOutcome(err, 'nothing was changed: nobody was invited. Try again.');
  });
  const sending = await sendQueued(ctx, [...bulk.invited.map((i) => i.outboxId), ...bulk.leftover], {
    recorded: `${plural(bulk.invited.length, 'person', 'people')} ${bulk.invited.length === 1 ? 'is' : 'are'} invited to ${portal.slug} and ${bulk.invited.length === 1 ? 'their email is' : 'their emails are'} queued`,
  });
  const now = iso(ctx.now);
  const lineOf = new Map(people.map((p) => [p.email, p.line]));
  const skipped = bulk.skipped.map((s) => ({ line: lineOf.get(s.email) ?? null, email: s.email, userId: s.userId }));
  const ids = bulk.invited.map((i) => i.userId);
  const done = `${plural(bulk.invited.length, 'person', 'people')} ${bulk.invited.length === 1 ? 'is' : 'are'} invited and ${bulk.invited.length === 1 ? 'their email' : 'their emails'} went out; only the list could not be read (\`portalctl users list --status pending\` shows them).`;
  const users = (async function* () {
    for (let i = 0; i < ids.length; i += 1000) {
      const slice = ids.slice(i, i + 1000);
      const batch = await readAfterSending(sending, () => store.read((tx) => tx.users.listings(slice)), undefined, done);
      // The store failed after a sending that already reported it: the list stops, the report stands.
      if (batch === undefined) return;
      yield batch.map((u) => toUserView(u, now));
    }
  })();
  const lines = [`Invited ${plural(bulk.invited.length, 'person', 'people')} to ${portal.slug}.`];
  if (skipped.length > 0) {
    lines.push(`Skipped ${plural(skipped.length, 'address', 'addresses')} that already ${skipped.length === 1 ? 'has' : 'have'} a profile:`);
    for (const s of skipped.slice(0, 10)) lines.push(`  line ${s.line}: ${quote(s.email)} (user ${s.userId})`);
    if (skipped.length > 10) lines.push(`  … and ${skipped.length - 10} more (--json lists them all)`);
  }
  return {
    kind: 'users',
    users,
    report: true,
    jsonExtra: () => ({ skipped }),
    summary: () => ({ lines: [], seeAll: `portalctl users list --status pending` }),
    messages: [...lines.map(info), ...(sending.messages ?? [])],
    error: sending.error,
  };
}
