// Shell completion scripts generated from the commander command tree.

import type { Command } from 'commander';
import { bashScript } from './bash.js';
import { fishScript } from './fish.js';
import { completionModel, SHELLS, type Shell } from './model.js';
import { zshScript } from './zsh.js';

export { SHELLS, type Shell } from './model.js';

export function isShell(value: string): value is Shell {
  return (SHELLS as readonly string[]).includes(value);
}

/** The completion script for SHELL, from PROGRAM with all its commands registered. */
export function completionScript(shell: Shell, program: Command): string {
  const model = completionModel(program);
  if (shell === 'bash') return bashScript(model);
  if (shell === 'zsh') return zshScript(model);
  return fishScript(model);
}

/** Where each script is kept in the repository (completions/…), by shell. */
export const COMPLETION_FILES: Record<Shell, string> = {
  bash: 'portalctl.bash',
  zsh: '_portalctl',
  fish: 'portalctl.fish',
};
