// The shape of a command: `parse` turns what commander read into typed
// options (or throws a usage error), `run` does the work and returns a result
// for the renderer. Nothing here prints, exits or reads process globals.

import type { Command } from 'commander';
import type { Context } from '../runtime/context.js';
import type { Result } from '../output/results.js';

/** What commander read for one command. */
export interface RawInput {
  /** Positional arguments, in order (a variadic one as an array). */
  args: unknown[];
  /** The command's own options, by commander's camel-cased names. */
  options: Record<string, unknown>;
  /** The whole command tree (completion writes scripts from it). */
  program: Command;
}

export interface CommandModule<O> {
  parse(raw: RawInput): O;
  run(ctx: Context, options: O): Promise<Result>;
}

/** Option values as commander hands them: a string, true for a flag, or undefined. */
export function str(raw: RawInput, name: string): string | undefined {
  const v = raw.options[name];
  return typeof v === 'string' ? v : undefined;
}

export function flag(raw: RawInput, name: string): boolean {
  return raw.options[name] === true;
}
