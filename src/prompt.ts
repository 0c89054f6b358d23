// Prompts, only when stdin and stdout are both terminals. Without a terminal a
// missing value is a usage error naming the flag, and a confirmation needs
// --yes: inquirer would otherwise read a piped "y" as consent.

import type { Context } from './context.js';
import { CancelError, EXIT, UsageError } from './errors.js';

async function inquirer() {
  return import('@inquirer/prompts');
}

function streams(ctx: Context) {
  return { input: ctx.io.stdin, output: ctx.io.stderr, clearPromptOnDone: false };
}

/** Ctrl-C (or a closed terminal) at a prompt cancels the command cleanly. */
async function guarded<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    const name = (err as Error).name;
    if (name === 'ExitPromptError' || name === 'AbortPromptError' || name === 'CancelPromptError') {
      throw new CancelError('Cancelled at the prompt; nothing was changed.', EXIT.interrupted);
    }
    throw err;
  }
}

/** Returns the given value, or asks for it on a terminal, or fails naming the flag. */
export async function valueOrPrompt(
  ctx: Context,
  value: string | undefined,
  flag: string,
  message: string,
  validate: (v: string) => unknown,
): Promise<string> {
  if (value !== undefined) return value;
  if (!ctx.canPrompt()) {
    throw new UsageError(`Missing ${flag}; give it on the command line (portalctl only prompts on a terminal).`, 'missing_value');
  }
  const { input } = await inquirer();
  return guarded(
    input(
      {
        message,
        validate: (v: string) => {
          try {
            validate(v);
            return true;
          } catch (err) {
            return (err as Error).message;
          }
        },
      },
      streams(ctx),
    ),
  );
}

export async function choiceOrPrompt<T extends string>(
  ctx: Context,
  value: T | undefined,
  flag: string,
  message: string,
  choices: { value: T; name: string }[],
): Promise<T> {
  if (value !== undefined) return value;
  if (!ctx.canPrompt()) {
    throw new UsageError(`Missing ${flag}; give it on the command line (one of: ${choices.map((c) => c.value).join(', ')}).`, 'missing_value');
  }
  const { select } = await inquirer();
  return guarded(select({ message, choices }, streams(ctx)));
}

/** Destructive or bulk work: --yes, or a yes at a terminal prompt. */
export async function confirmOrRefuse(ctx: Context, question: string, what: string): Promise<void> {
  if (ctx.options.yes) return;
  if (!ctx.canPrompt()) {
    throw new UsageError(`${what} needs --yes when not run from a terminal; nothing was changed.`, 'confirmation_required');
  }
  const { confirm } = await inquirer();
  const ok = await guarded(confirm({ message: question, default: false }, streams(ctx)));
  if (!ok) throw new CancelError();
}

/** Bulk work that is not destructive: ask at a terminal (unless --yes), go ahead in scripts. */
export async function confirmIfInteractive(ctx: Context, question: string): Promise<void> {
  if (ctx.options.yes || !ctx.canPrompt()) return;
  const { confirm } = await inquirer();
  const ok = await guarded(confirm({ message: question, default: true }, streams(ctx)));
  if (!ok) throw new CancelError();
}
