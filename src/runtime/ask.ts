// Asking the person at the terminal, through the context's prompter. Without
// a terminal a missing value is a usage error naming the flag, and a
// confirmation needs --yes: a piped "y" is never taken as consent.

import { CancelError, UsageError } from '../errors.js';
import { LOGIN_SERVICES, type ServiceKey } from '../domain/services.js';
import type { Choice } from './prompter.js';
import type { Context } from './context.js';

/** The given value, or asked for on a terminal, or a usage error naming the flag. */
export async function valueOrPrompt(ctx: Context, value: string | undefined, flag: string, message: string, validate: (v: string) => unknown): Promise<string> {
  if (value !== undefined) return value;
  if (!ctx.io.canPrompt) throw new UsageError(`Missing ${flag}; give it on the command line (portalctl only prompts on a terminal).`, 'missing_value');
  return ctx.prompter.input(message, validate);
}

export async function choiceOrPrompt<T extends string>(ctx: Context, value: T | undefined, flag: string, message: string, choices: Choice<T>[]): Promise<T> {
  if (value !== undefined) return value;
  if (!ctx.io.canPrompt)
    throw new UsageError(`Missing ${flag}; give it on the command line (one of: ${choices.map((c) => c.value).join(', ')}).`, 'missing_value');
  return ctx.prompter.select(message, choices);
}

/** The login service given with --service, or chosen from the list on a terminal. */
export function serviceOrPrompt(ctx: Context, value: ServiceKey | undefined, message: string): Promise<ServiceKey> {
  return choiceOrPrompt(
    ctx,
    value,
    '--service',
    message,
    LOGIN_SERVICES.map((s) => ({ value: s.key, name: s.name })),
  );
}

/** Destructive or risky work: --yes, or a yes at a terminal prompt (Enter means no). Without a terminal, --yes is required. */
export async function confirmOrRefuse(ctx: Context, question: string, what: string): Promise<void> {
  if (ctx.globals.yes) return;
  if (!ctx.io.canPrompt) throw new UsageError(`${what} needs --yes when not run from a terminal; nothing was changed.`, 'confirmation_required');
  if (!(await ctx.prompter.confirm(question, false))) throw new CancelError();
}

/** Bulk work that is not destructive (mass email): asked at a terminal unless --yes (Enter means no); scripts go ahead. */
export async function confirmIfInteractive(ctx: Context, question: string): Promise<void> {
  if (ctx.globals.yes || !ctx.io.canPrompt) return;
  if (!(await ctx.prompter.confirm(question, false))) throw new CancelError();
}
