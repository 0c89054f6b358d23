// `users remove`: the FAQ's removal, by hand — a mistyped invitation, a person
// who left, a batch sent by mistake. Every link of the removed users stops
// working at once; each removal is audited like prune's.

import { InterruptedError, RefusedError, UsageError } from '../../errors.js';
import { neutralize, plural } from '../../text.js';
import { removeUsers, type RemovalTarget } from '../../domain/lifecycle.js';
import { iso } from '../../domain/time.js';
import { findUser, parseStatusFilter, parseUserRef, toUserView, type UserRef } from '../../domain/users.js';
import type { StatusFilter } from '../../store/types.js';
import { info, type Result } from '../../output/results.js';
import { usernameCell } from '../../output/users.js';
import { confirmOrRefuse } from '../../runtime/ask.js';
import { removalReport, removalStream } from '../../runtime/removal.js';
import type { Context } from '../../runtime/context.js';
import { flag, str, type RawInput } from '../command.js';

export interface RemoveOptions {
  users: UserRef[];
  status?: StatusFilter;
  includeLinked: boolean;
  dryRun: boolean;
}

export function parse(raw: RawInput): RemoveOptions {
  const refs = (raw.args[0] as string[] | undefined) ?? [];
  const statusRaw = str(raw, 'status');
  const status = statusRaw === undefined ? undefined : parseStatusFilter(statusRaw);
  const includeLinked = flag(raw, 'includeLinked');
  if (status !== undefined && refs.length > 0) throw new UsageError('Give either users or --status, not both.', 'usage');
  if (status === undefined && refs.length === 0)
    throw new UsageError('Name at least one user (id or email address), or choose users with --status (try --dry-run first).', 'missing_value');
  if (status === 'linked' && !includeLinked)
    throw new UsageError('--status linked removes linked users: add --include-linked to mean it (and try --dry-run first).', 'usage');
  return { users: refs.map(parseUserRef), status, includeLinked, dryRun: flag(raw, 'dryRun') };
}

export async function run(ctx: Context, o: RemoveOptions): Promise<Result> {
  if (!o.dryRun && !ctx.globals.yes && !ctx.io.canPrompt)
    throw new UsageError('users remove needs --yes when not run from a terminal; nothing was removed.', 'confirmation_required');
  const portal = await ctx.portal();
  const store = await ctx.store();
  const now = iso(ctx.now);
  let target: RemovalTarget;
  let count: number;
  if (o.status === undefined) {
    // Every user is found, and every linked one refused, before anything changes.
    const users = await store.read(async (tx) => Promise.all(o.users.map((r) => findUser(tx, portal, r))));
    const linked = users.filter((u) => u.loginService);
    if (linked.length && !o.includeLinked) {
      const who = linked
        .slice(0, 3)
        .map((u) => `user ${u.id} (${neutralize(u.email)}, ${neutralize(usernameCell(toUserView(u, now)))})`)
        .join(', ');
      throw new RefusedError(
        'user_linked',
        `${who}${linked.length > 3 ? ` and ${linked.length - 3} more` : ''} ${linked.length === 1 ? 'is' : 'are'} linked to a login service account; linked users are removed only with --include-linked. Nothing was removed.`,
        { linked: linked.map((u) => u.id) },
      );
    }
    target = { ids: [...new Set(users.map((u) => u.id))] };
    count = target.ids.length;
  } else {
    // Found a page at a time as they are removed (a million ids are never held); the users invited
    // after this moment are not part of the run. The question alone needs the count.
    const status = o.status;
    target = { status, throughId: await store.read((tx) => tx.users.lastId()) };
    count = !o.dryRun && !ctx.globals.yes ? await store.countUsers({ portalId: portal.id, now, status }) : 0;
  }
  if (!o.dryRun && count > 0 && !ctx.globals.yes) {
    await confirmOrRefuse(
      ctx,
      `Remove ${plural(count, 'user')} from portal ${portal.slug}? Their profiles are deleted and every link of theirs stops working at once.`,
      'users remove',
    );
  }
  const stamp = ctx.stamp();
  const removal = await removalStream(
    ctx,
    removeUsers(store, portal, target, stamp, { includeLinked: o.includeLinked, dryRun: o.dryRun }),
    o.dryRun,
    o.dryRun ? 'Finding users…' : 'Removing users…',
  );
  return {
    ...removalReport(removal, o.dryRun),
    summary: () => ({
      lines: [],
      seeAll: !o.dryRun ? 'portalctl audit --since 1h' : o.status ? `portalctl users list --status ${o.status}` : undefined,
    }),
    empty: o.status ? `No ${o.status} users in portal ${portal.slug}; nothing to remove.` : 'Nothing to remove.',
    finish: () => {
      const count = removal.count();
      if (removal.interrupted()) {
        return {
          error: new InterruptedError(
            `Interrupted: removed ${plural(count, 'user')}; the others are still there — run the same \`portalctl users remove\` again to finish.`,
            { removed: count },
          ),
        };
      }
      if (count === 0) return {};
      return { messages: [info(`${o.dryRun ? 'Would remove' : 'Removed'} ${plural(count, 'user')}${o.dryRun ? ' (dry run; nothing changed)' : ''}.`)] };
    },
  };
}
