// Prompts: an interface, so that commands ask through the context and tests
// answer with a script. In production, @inquirer/prompts on stderr (stdout
// stays for data), loaded only when a question is actually asked.

import { CancelError, EXIT } from '../errors.js';
import type { IOStreams } from './io.js';

export interface Choice<T extends string> {
  value: T;
  name: string;
}

export interface Prompter {
  input(message: string, validate: (value: string) => unknown): Promise<string>;
  select<T extends string>(message: string, choices: Choice<T>[]): Promise<T>;
  /** Yes/no; `defaultYes` is what Enter means. */
  confirm(message: string, defaultYes: boolean): Promise<boolean>;
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

export function inquirerPrompter(io: IOStreams): Prompter {
  const streams = {
    get input() {
      return io.stdin; // made only when a prompt is shown
    },
    output: io.stderr,
    clearPromptOnDone: false,
  };
  const load = () => import('@inquirer/prompts');
  return {
    async input(message, validate) {
      const { input } = await load();
      const check = (v: string) => {
        try {
          validate(v);
          return true;
        } catch (err) {
          return (err as Error).message;
        }
      };
      return guarded(input({ message, validate: check }, streams));
    },
    async select(message, choices) {
      const { select } = await load();
      return guarded(select({ message, choices }, streams));
    },
    async confirm(message, defaultYes) {
      const { confirm } = await load();
      return guarded(confirm({ message, default: defaultYes }, streams));
    },
  };
}

/** Answers from a script, in order (tests). A question with no answer left is a test bug, said loudly. */
export function scriptedPrompter(answers: (string | boolean)[], asked: string[] = []): Prompter {
  const next = (message: string) => {
    asked.push(message);
    if (answers.length === 0) throw new Error(`no scripted answer for the prompt ${JSON.stringify(message)}`);
    return answers.shift()!;
  };
  return {
    async input(message, validate) {
      const v = String(next(message));
      validate(v);
      return v;
    },
    async select(message, choices) {
      const v = String(next(message));
      if (!choices.some((c) => c.value === v)) throw new Error(`scripted answer ${v} is not a choice of ${JSON.stringify(message)}`);
      return v as never;
    },
    async confirm(message) {
      const v = next(message);
      if (v === 'cancel') throw new CancelError('Cancelled at the prompt; nothing was changed.', EXIT.interrupted);
      return v === true || v === 'y' || v === 'yes';
    },
  };
}
