import type { Command } from 'commander';
import type { Context } from '../context.js';
import { UsageError } from '../errors.js';
import { SHELLS } from '../completion/model.js';
import { neutralize } from '../output/sanitize.js';

export async function completionRun(ctx: Context, program: Command, shell: string): Promise<void> {
  const name = shell.trim().toLowerCase();
  // The generators are loaded only here, so other commands never pay for them.
  const { completionScript, isShell } = await import('../completion/index.js');
  if (!isShell(name)) {
    throw new UsageError(`Unknown shell ${JSON.stringify(neutralize(shell))}; use one of: ${SHELLS.join(', ')}.`, 'invalid_shell');
  }
  ctx.io.stdout.write(completionScript(name, program));
}

export function register(program: Command, ctx: Context): void {
  program
    .command('completion')
    .summary('print a shell completion script (bash, zsh or fish)')
    .description('Print the completion script for SHELL (bash, zsh or fish) on stdout. The same scripts are kept in completions/ of the package.')
    .argument('<shell>', `the shell: ${SHELLS.join(', ')}`)
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  portalctl completion bash > ~/.local/share/bash-completion/completions/portalctl',
        '  portalctl completion zsh > ~/.zfunc/_portalctl      # a directory on $fpath',
        '  portalctl completion fish > ~/.config/fish/completions/portalctl.fish',
      ].join('\n'),
    )
    .action((shell: string) => completionRun(ctx, program, shell));
}
