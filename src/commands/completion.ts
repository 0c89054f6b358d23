// `completion`: print a shell completion script.

import { UsageError } from '../errors.js';
import { quote } from '../text.js';
import type { Command } from 'commander';
import type { Result } from '../output/results.js';
import type { Context } from '../runtime/context.js';
import type { RawInput } from './command.js';
import { SHELLS, type Shell } from '../completion/model.js';

export interface CompletionOptions {
  shell: Shell;
  program: Command;
}

export function parse(raw: RawInput): CompletionOptions {
  const name = String(raw.args[0]).trim().toLowerCase();
  if (!(SHELLS as readonly string[]).includes(name))
    throw new UsageError(`Unknown shell ${quote(String(raw.args[0]))}; use one of: ${SHELLS.join(', ')}.`, 'invalid_shell');
  return { shell: name as Shell, program: raw.program };
}

export async function run(_ctx: Context, o: CompletionOptions): Promise<Result> {
  // The generators are loaded only here, so other commands never pay for them.
  const { completionScript } = await import('../completion/index.js');
  return { kind: 'text', text: completionScript(o.shell, o.program) };
}
