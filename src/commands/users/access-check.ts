// `users access-check`: the FAQ's "Access Denied" diagnosis.

import { neutralize } from '../../text.js';
import { diagnoseAccess } from '../../domain/access.js';
import { parseServiceKey, serviceName, type ServiceKey } from '../../domain/services.js';
import { parseAccount, parseEmail } from '../../domain/validate.js';
import type { Result } from '../../output/results.js';
import { serviceOrPrompt, valueOrPrompt } from '../../runtime/ask.js';
import type { Context } from '../../runtime/context.js';
import { str, type RawInput } from '../command.js';

export interface AccessCheckOptions {
  /** Asked for on a terminal when not given, like link's. */
  service?: ServiceKey;
  account?: string;
  email?: string;
}

export function parse(raw: RawInput): AccessCheckOptions {
  const service = str(raw, 'service');
  const account = str(raw, 'account');
  const email = str(raw, 'email');
  return {
    service: service === undefined ? undefined : parseServiceKey(service),
    account: account === undefined ? undefined : parseAccount(account),
    email: email === undefined ? undefined : parseEmail(email),
  };
}

export async function run(ctx: Context, o: AccessCheckOptions): Promise<Result> {
  const portal = await ctx.portal({ readOnly: true });
  const service = await serviceOrPrompt(ctx, o.service, 'Which login service did the person sign in with?');
  const account = parseAccount(await valueOrPrompt(ctx, o.account, '--account', `Their ${serviceName(service)} username:`, parseAccount));
  const d = await diagnoseAccess(await ctx.store(), portal, { service, account, email: o.email }, ctx.now, ctx.zone);
  return {
    kind: 'document',
    json: d,
    sections: [
      ...(d.users.length ? [{ kind: 'users' as const, users: d.users }] : []),
      { kind: 'text' as const, lines: [neutralize(d.diagnosis), ...d.nextSteps.map((s) => `  - ${neutralize(s)}`)] },
    ],
  };
}
