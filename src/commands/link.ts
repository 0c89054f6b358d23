import type { Command } from 'commander';
import type { Context } from '../context.js';
import { LOGIN_SERVICES, parseServiceKey, serviceName, type ServiceKey } from '../domain/services.js';
import { parseAccount } from '../domain/validate.js';
import { printUsers, say } from '../output/output.js';
import { neutralize } from '../output/sanitize.js';
import { choiceOrPrompt, valueOrPrompt } from '../prompt.js';
import { actor, userViews } from './shared.js';

export interface LinkOptions {
  service?: string;
  account?: string;
}

export async function linkRun(ctx: Context, input: string, o: LinkOptions): Promise<void> {
  const { parseLinkInput, redeemLink } = await import('../domain/registration.js');
  // Validate everything given before asking for anything missing.
  const token = parseLinkInput(input);
  const given = o.service !== undefined ? parseServiceKey(o.service) : undefined;
  if (o.account !== undefined) parseAccount(o.account);
  const service: ServiceKey = await choiceOrPrompt(
    ctx,
    given,
    '--service',
    'Which login service do you sign in with?',
    LOGIN_SERVICES.map((s) => ({ value: s.key, name: s.name })),
  );
  const account = parseAccount(await valueOrPrompt(ctx, o.account, '--account', `Your ${serviceName(service)} username:`, parseAccount));
  const result = redeemLink(ctx.store(), { token, service, account }, actor(ctx));
  const what = `${neutralize(account)} (${serviceName(service)})`;
  if (result.outcome === 'unchanged') say(ctx, `This link was already used to link ${what}; nothing changed.`);
  else if (result.outcome === 'relinked') say(ctx, `Linked ${what} to portal ${result.portal.slug}, replacing the earlier account.`);
  else say(ctx, `Linked ${what} to portal ${result.portal.slug}.`);
  if (!ctx.options.quiet || ctx.options.json) await printUsers(ctx, userViews(ctx, [result.userId]));
}

export function register(program: Command, ctx: Context): void {
  program
    .command('link')
    .summary('Step 2: link a login-service account with a registration link')
    .description(
      'Step 2 of the registration email: redeem the link (the full URL or the bare token) with a login-service account.\nFails with link_expired, link_malformed, link_unknown, link_superseded, link_used or account_in_use, each saying what to do next.',
    )
    .argument('<url-or-token>', 'the Step 2 link from the registration email')
    .option('--service <key>', `login service: ${LOGIN_SERVICES.map((s) => s.key).join(', ')}`)
    .option('--account <username>', 'the username at that login service')
    .addHelpText('after', "\nExamples:\n  portalctl link 'https://grants.example.org/register/link?token=…' --service nih --account jdoe")
    .action((input: string, o: LinkOptions) => linkRun(ctx, input, o));
}
