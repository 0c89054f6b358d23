import type { Command } from 'commander';
import type { Context } from '../../context.js';
import { NotFoundError, UsageError } from '../../errors.js';
import { usernameCell } from '../../domain/services.js';
import { findUser, type UserView } from '../../domain/users.js';
import { NOT_LINKED, printUsers, say } from '../../output/output.js';
import { neutralize } from '../../output/sanitize.js';
import { queryUsers } from './list.js';
import { userViews } from '../shared.js';

/** The helpdesk look-up: "what is this person's username, and with which login service?" */
export async function whoamiLoginRun(ctx: Context, ref: string): Promise<void> {
  const portal = ctx.portal();
  const value = ref.trim();
  let users: UserView[];
  if (/^[0-9]+$/.test(value) || value.includes('@')) {
    users = userViews(ctx, [findUser(ctx.store(), portal, value).id]);
  } else {
    // eslint-disable-next-line no-control-regex
    if (value.length < 2 || value.length > 200 || /[\u0000-\u001f\u007f]/.test(value)) {
      throw new UsageError(`Give a user id, an email address or at least 2 letters of a name, not ${JSON.stringify(neutralize(value.slice(0, 40)))}.`, 'invalid_user');
    }
    users = [...queryUsers(ctx, portal.id, { search: value, limit: 200 })];
    if (users.length === 0) throw new NotFoundError(`No user of portal ${portal.slug} matches ${JSON.stringify(neutralize(value))}; try \`portalctl users list --search TEXT\`.`);
  }
  await printUsers(ctx, users);
  for (const u of users) {
    const name = neutralize(`${u.firstName} ${u.lastName}`);
    if (u.loginService) say(ctx, `${name}: ${neutralize(usernameCell(u.loginService, u.username))}`);
    else
      say(
        ctx,
        `${name}: ${NOT_LINKED} No login service account is linked to this profile, so the portal has no username for it. The user needs to contact the IMS Login Service Administrator for the username.`,
      );
  }
}

export function register(parent: Command, ctx: Context): void {
  parent
    .command('whoami-login')
    .summary("helpdesk: a user's Username/ID (Login Service)")
    .description("Show the user's Username/ID (Login Service), e.g. \"jdoe (NIH Network Login)\". USER is an id, an email address, or part of a name (every match is shown).")
    .argument('<user>', 'user id, email address or name')
    .addHelpText('after', '\nExamples:\n  portalctl users whoami-login jane.doe@example.org\n  portalctl users whoami-login "Jane Doe"')
    .action((ref: string) => whoamiLoginRun(ctx, ref));
}
