// `link`: Step 2 — redeem a registration link with a login-service account.

import { UsageError } from '../errors.js';
import { neutralize } from '../text.js';
import { inspectLink, isPortalLinkUrl, parseLinkInput, redeemLink, type LinkInput } from '../domain/lifecycle.js';
import { parseServiceKey, serviceName, type ServiceKey } from '../domain/services.js';
import { iso } from '../domain/time.js';
import { toUserView } from '../domain/users.js';
import { parseAccount } from '../domain/validate.js';
import type { Portal } from '../store/types.js';
import { info, type Result } from '../output/results.js';
import { serviceOrPrompt, valueOrPrompt } from '../runtime/ask.js';
import type { Context } from '../runtime/context.js';
import { str, type RawInput } from './command.js';

export interface LinkOptions {
  /** The link, or undefined to read it from standard input ("-"). */
  link?: LinkInput;
  service?: ServiceKey;
  account?: string;
}

export function parse(raw: RawInput): LinkOptions {
  const input = String(raw.args[0]);
  const service = str(raw, 'service');
  const account = str(raw, 'account');
  // The flags first: a mistyped --service or --account is a usage error (exit 2) whatever the link is.
  const parsed = {
    service: service === undefined ? undefined : parseServiceKey(service),
    account: account === undefined ? undefined : parseAccount(account),
  };
  return { link: input === '-' ? undefined : parseLinkInput(input), ...parsed };
}

/** The link from standard input: the token never has to appear on a command line (where other users can read it). */
async function readLink(ctx: Context): Promise<LinkInput> {
  if (ctx.io.stdinIsTTY)
    throw new UsageError('"-" reads the link from standard input; pipe it in: portalctl link - --service nih --account jdoe < link.txt', 'missing_value');
  let text = '';
  for await (const chunk of ctx.io.stdin) {
    text += chunk;
    if (text.length > 8192) break;
  }
  if (text.trim() === '')
    throw new UsageError(
      '"-" read no link from standard input (it was empty); pipe the link in: portalctl link - --service nih --account jdoe < link.txt',
      'missing_value',
    );
  return parseLinkInput(text);
}

/** The portal a link may belong to: --portal or the only portal, or the portal whose address a full URL carries. */
async function portalFor(ctx: Context, link: LinkInput): Promise<Portal> {
  if (ctx.globals.portal !== undefined || !link.url) return ctx.portal();
  const store = await ctx.store();
  const all = await store.read((tx) => tx.portals.all());
  const match = all.find((p) => isPortalLinkUrl(link.url!, p));
  return match ?? ctx.portal();
}

export async function run(ctx: Context, o: LinkOptions): Promise<Result> {
  const link = o.link ?? (await readLink(ctx));
  const portal = await portalFor(ctx, link);
  if (link.url && !isPortalLinkUrl(link.url, portal)) {
    throw new UsageError(
      `That is not a Step 2 link of portal ${portal.slug}: its links start with ${portal.baseUrl}/register/link. Copy the link from the registration email again${ctx.globals.portal === undefined ? ', or name the portal with --portal' : ''}.`,
      'invalid_link',
    );
  }
  if ((o.service === undefined || o.account === undefined) && ctx.io.canPrompt) {
    // A link that cannot be used is said before anyone is asked which login service they use
    // (a used one only after: the account that used it may redeem it again, changing nothing).
    const { error } = await inspectLink(await ctx.store(), link.token, ctx.stamp(), portal.id);
    if (error && error.code !== 'link_used') throw error;
  }
  const service: ServiceKey = await serviceOrPrompt(ctx, o.service, 'Which login service do you sign in with?');
  const account = parseAccount(await valueOrPrompt(ctx, o.account, '--account', `Your ${serviceName(service)} username:`, parseAccount));
  const result = await redeemLink(await ctx.store(), { token: link.token, service, account, portalId: portal.id }, ctx.stamp());
  const what = `${neutralize(account)} (${serviceName(service)})`;
  const text =
    result.outcome === 'unchanged'
      ? `This link was already used to link ${what}; nothing changed.`
      : result.outcome === 'relinked'
        ? `Linked ${what} to portal ${result.portal.slug}, replacing the earlier account.`
        : `Linked ${what} to portal ${result.portal.slug}.`;
  return { kind: 'users', users: [toUserView(result.user, iso(ctx.now))], report: true, messages: [info(text)] };
}
