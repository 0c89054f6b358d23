// Not built yet: this command lands with its issue.

import { RefusedError } from '../errors.js';
import type { Result } from '../output/results.js';
import type { Context } from '../runtime/context.js';
import type { RawInput } from './command.js';

export function parse(_raw: RawInput): Record<string, never> {
  return {};
}

export async function run(_ctx: Context): Promise<Result> {
  throw new RefusedError('not_implemented', 'This command is not built yet.');
}
