import type { Command } from 'commander';
import type { Context } from '../../context.js';
import { UsageError } from '../../errors.js';
import type { Queued } from '../../domain/registration.js';
import { iso } from '../../domain/time.js';
import { findUser } from '../../domain/users.js';
import { parseEmail } from '../../domain/validate.js';
import { printUsers, say } from '../../output/output.js';
import { confirmIfInteractive } from '../../prompt.js';
import { USER_LIST_SELECT } from '../../store/store.js';
import { actor, deliverQueued, reportDeliveries, userViews } from '../shared.js';

export interface ResendOptions {
  email?: string;
  allExpired?: boolean;
}

/** "Send New Registration": a new email, a new link, a new expiry; every earlier link of the user stops working. */
export async function resendRun(ctx: Context, refs: string[], o: ResendOptions): Promise<void> {
  if (o.allExpired && refs.length > 0) throw new UsageError('Give either users or --all-expired, not both.', 'usage');
  if (!o.allExpired && refs.length === 0) throw new UsageError('Name at least one user (id or email address), or use --all-expired.', 'missing_value');
  if (o.email !== undefined && (o.allExpired || refs.length !== 1)) throw new UsageError('--email changes one user\'s address; name exactly one user with it.', 'usage');
  const newEmail = o.email !== undefined ? parseEmail(o.email) : undefined;
  const portal = ctx.portal();
  const store = ctx.store();
  let ids: number[];
  if (o.allExpired) {
    const now = iso(ctx.now());
    ids = (store.db
      .prepare(`${USER_LIST_SELECT} WHERE u.portal_id = ? AND u.login_service IS NULL AND (r.expires_at IS NULL OR r.expires_at <= ?) ORDER BY u.id`)
      .all(portal.id, now) as { id: number }[]).map((r) => r.id);
    if (ids.length === 0) {
      say(ctx, 'No unlinked user has an expired link; nothing was sent.');
      if (ctx.options.json) await printUsers(ctx, []);
      return;
    }
    await confirmIfInteractive(ctx, `Send a new registration email to ${ids.length} user${ids.length === 1 ? '' : 's'} with an expired link?`);
  } else {
    // Resolve every user before changing anything: one bad reference changes nothing.
    ids = [...new Set(refs.map((r) => findUser(store, portal, r).id))];
  }
  const who = actor(ctx);
  const { resendRegistration } = await import('../../domain/registration.js');
  const queued: Queued[] = ids.map((id) => resendRegistration(store, portal, id, newEmail, who));
  const results = await deliverQueued(ctx, queued, { pool: queued.length > 1, label: 'Sending registration emails' });
  if (!ctx.options.quiet || ctx.options.json) await printUsers(ctx, userViews(ctx, ids));
  reportDeliveries(ctx, results);
}

export function register(parent: Command, ctx: Context): void {
  parent
    .command('resend-registration')
    .summary('Send New Registration: a new email with a new link and expiry')
    .description(
      'Send New Registration: email the user a new Step 2 link with a new expiry date; every earlier link of the user stops working.\nWith --email the email goes to a new address, which becomes the user\'s address. A linked user stays linked until the new link is used — that is how a person switches login service.\nThe removal date is not changed (see `users set-removal-days`).',
    )
    .argument('[users...]', 'user ids or email addresses')
    .option('--email <address>', 'send to this address instead, and make it the user\'s address')
    .option('--all-expired', 'every unlinked user whose link has expired')
    .addHelpText(
      'after',
      '\nExamples:\n  portalctl users resend-registration jane.doe@example.org\n  portalctl users resend-registration 42 --email jane@new-institute.org\n  portalctl users resend-registration --all-expired --yes',
    )
    .action((refs: string[], o: ResendOptions) => resendRun(ctx, refs, o));
}
