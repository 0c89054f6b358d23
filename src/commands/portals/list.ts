// `portals list`.

import type { Result } from '../../output/results.js';
import { portalsResult } from '../../output/portals.js';
import type { Context } from '../../runtime/context.js';
import type { RawInput } from '../command.js';

export function parse(_raw: RawInput): Record<string, never> {
  return {};
}

export async function run(ctx: Context): Promise<Result> {
  const store = await ctx.store({ readOnly: true });
  return portalsResult(await store.read((tx) => tx.portals.all()), false);
}
