// `users access-check`: the FAQ's "Access Denied" diagnosis.

import { UsageError } from '../../errors.js';
import { neutralize } from '../../text.js';
import { diagnoseAccess } from '../../domain/access.js';
import { parseServiceKey, type ServiceKey } from '../../domain/services.js';
import { parseAccount, parseEmail } from '../../domain/validate.js';
import type { Result } from '../../output/results.js';
import type { Context } from '../../runtime/context.js';
import { str, type RawInput } from '../command.js';

export interface AccessCheckOptions {
  service: ServiceKey;
  account: string;
  email?: string;
}

export function parse(raw: RawInput): AccessCheckOptions {
  const service = str(raw, 'service');
  const account = str(raw, 'account');
  const email = str(raw, 'email');
  if (service === undefined)
    throw new UsageError('Missing --service; give the login service the person signed in with (nih, ims-employee, ims).', 'missing_value');
  if (account === undefined) throw new UsageError('Missing --account; give the username the person signed in with.', 'missing_value');
  return { service: parseServiceKey(service), account: parseAccount(account), email: email === undefined ? undefined : parseEmail(email) };
}

export async function run(ctx: Context, o: AccessCheckOptions): Promise<Result> {
  const portal = await ctx.portal({ readOnly: true });
  const d = await diagnoseAccess(await ctx.store(), portal, o, ctx.now, ctx.zone);
  return {
    kind: 'document',
    json: d,
    sections: [
      ...(d.users.length ? [{ kind: 'users' as const, users: d.users }] : []),
      { kind: 'text' as const, lines: [neutralize(d.diagnosis), ...d.nextSteps.map((s) => `  - ${neutralize(s)}`)] },
    ],
  };
}
