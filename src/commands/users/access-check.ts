import type { Command } from 'commander';
import type { Context } from '../../context.js';
import { parseServiceKey, serviceName } from '../../domain/services.js';
import { formatLocal, iso } from '../../domain/time.js';
import { toUserView, type UserView } from '../../domain/users.js';
import { UsageError } from '../../errors.js';
import { accountKey, parseAccount, parseEmail } from '../../domain/validate.js';
import { NOT_LINKED, printJson, printUsers, say } from '../../output/output.js';
import { neutralize } from '../../output/sanitize.js';
import { USER_LIST_SELECT, type UserListRow } from '../../store/store.js';

export interface AccessCheckOptions {
  service?: string;
  account?: string;
  email?: string;
}

export interface Diagnosis {
  linked: boolean;
  loginService: string;
  account: string;
  portal: string;
  diagnosis: string;
  nextSteps: string[];
  users: UserView[];
}

/** The FAQ's "Access Denied" diagnosis for one login-service account. */
export function diagnoseAccess(ctx: Context, o: { service: string; account: string; email?: string }): Diagnosis {
  const portal = ctx.portal();
  const store = ctx.store();
  const nowIso = iso(ctx.now());
  const key = accountKey(o.account);
  const who = `${o.account} (${serviceName(o.service)})`;
  const base = { loginService: o.service, account: o.account, portal: portal.slug };
  const holder = store.db.prepare(`${USER_LIST_SELECT} WHERE u.portal_id = ? AND u.login_service = ? AND u.username_key = ?`).get(portal.id, o.service, key) as
    | UserListRow
    | undefined;
  if (holder) {
    return {
      ...base,
      linked: true,
      diagnosis: `${who} is linked to user ${holder.id} (${holder.first_name} ${holder.last_name}) of portal ${portal.slug}; the portal should let this account in.`,
      nextSteps: [
        `Verify that the user opens the right portal address: old links that are no longer valid get bookmarked. Send the user the portal Home page, ${portal.base_url}, and ask them to update the bookmark.`,
      ],
      users: [toUserView(holder, nowIso)],
    };
  }
  const elsewhere = store.db
    .prepare(`SELECT p.slug, p.base_url FROM users u JOIN portals p ON p.id = u.portal_id WHERE u.portal_id <> ? AND u.login_service = ? AND u.username_key = ?`)
    .all(portal.id, o.service, key) as { slug: string; base_url: string }[];
  const candidates = new Map<number, UserView>();
  if (o.email) {
    const row = store.db.prepare(`${USER_LIST_SELECT} WHERE u.portal_id = ? AND u.email_key = ?`).get(portal.id, o.email.toLowerCase()) as UserListRow | undefined;
    if (row) candidates.set(row.id, toUserView(row, nowIso));
  }
  // Users who tried to link with this account (and failed, or it would be linked).
  const tried = store.db
    .prepare(`${USER_LIST_SELECT} WHERE u.portal_id = ? AND u.id IN (SELECT user_id FROM link_attempts WHERE service = ? AND lower(username) = ?)`)
    .all(portal.id, o.service, key) as UserListRow[];
  for (const row of tried) candidates.set(row.id, toUserView(row, nowIso));

  const steps: string[] = [];
  for (const u of candidates.values()) {
    const ref = `user ${u.id} (${u.email})`;
    if (u.status === 'linked') {
      steps.push(`${ref} is linked with a different account, ${u.username} (${u.loginServiceName}). If they now want to sign in with ${who}, send a new registration: portalctl users resend-registration ${u.id}`);
    } else if (u.status === 'pending') {
      steps.push(
        `${ref} has not completed Step 2; their link is valid until ${formatLocal(u.registrationExpiresAt!)}. Direct them to the original registration email and to complete Step 2 — or send a new one: portalctl users resend-registration ${u.id}`,
      );
    } else {
      steps.push(`${ref} has not completed Step 2 and their link has expired. Send a new registration email and ask them to complete Step 2: portalctl users resend-registration ${u.id}`);
    }
  }
  for (const e of elsewhere) {
    steps.push(`${who} is linked to portal ${e.slug} (${e.base_url}), not to ${portal.slug}: the user may be using a link or bookmark of the other portal. Send them ${portal.base_url} and ask them to update the bookmark.`);
  }
  if (candidates.size === 0) {
    steps.push(
      o.email
        ? `No user of portal ${portal.slug} has the address ${o.email}. If the person should have access, invite them: portalctl users invite --email ${o.email} --first-name … --last-name …`
        : `Find the person's profile (portalctl users list --search NAME, or run this again with --email ADDRESS). If it shows ${NOT_LINKED}, send a new registration email and ask them to complete Step 2.`,
    );
  }
  return {
    ...base,
    linked: false,
    diagnosis: `${who} is not linked to any user of portal ${portal.slug}: the user has not linked their login service account to the portal, so the portal answers "Access Denied".`,
    nextSteps: steps,
    users: [...candidates.values()],
  };
}

export async function accessCheckRun(ctx: Context, o: AccessCheckOptions): Promise<void> {
  if (o.service === undefined) throw new UsageError('Missing --service; give the login service the person signed in with (nih, ims-employee, ims).', 'missing_value');
  if (o.account === undefined) throw new UsageError('Missing --account; give the username the person signed in with.', 'missing_value');
  const service = parseServiceKey(o.service);
  const account = parseAccount(o.account);
  const email = o.email !== undefined ? parseEmail(o.email) : undefined;
  const d = diagnoseAccess(ctx, { service, account, email });
  if (ctx.options.json) {
    printJson(ctx, d);
    return;
  }
  if (d.users.length > 0) await printUsers(ctx, d.users);
  const out = ctx.io.stdout;
  out.write(`${neutralize(d.diagnosis)}\n`);
  for (const s of d.nextSteps) out.write(`  - ${neutralize(s)}\n`);
  if (d.users.length === 0 && !d.linked) say(ctx, '(no candidate users found)');
}

export function register(parent: Command, ctx: Context): void {
  parent
    .command('access-check')
    .summary('helpdesk: why does this account get "Access Denied"?')
    .description(
      'The "Access Denied" diagnosis: is this login-service account linked to a user of the portal? If not, show the candidate users with their registration state and what the Site Administrator should do next.',
    )
    .option('--service <key>', 'login service the person signed in with: nih, ims-employee, ims')
    .option('--account <username>', 'the username they signed in with')
    .option('--email <address>', "the person's email address, to find their profile")
    .addHelpText('after', '\nExamples:\n  portalctl users access-check --service nih --account jdoe --email jane.doe@example.org')
    .action((o: AccessCheckOptions) => accessCheckRun(ctx, o));
}
