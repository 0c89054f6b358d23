// Entry point: builds the command tree, runs it, and is the one place where
// errors become messages and exit codes.

import { Command, CommanderError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { createContext, type Context, type IO } from './context.js';
import { EXIT, PortalctlError, UsageError } from './errors.js';
import { chalkFor, loadColor } from './output/output.js';
import { neutralize } from './output/sanitize.js';
import { registerCommands } from './commands/index.js';

export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** The command tree; with argv, only the part that argv names (see commands/index.ts). */
export async function buildProgram(ctx: Context, argv?: readonly string[]): Promise<Command> {
  const program = new Command('portalctl');
  program
    .description('Portal user registration for single sign-on: invite people, send registration emails, link login-service accounts, prune unlinked profiles.')
    .version(version(), '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help for a command')
    .option('--db <path>', 'the store (SQLite file); default $PORTALCTL_DB or $XDG_DATA_HOME/portalctl/portalctl.db')
    .option('--portal <slug>', 'the portal to work on; default $PORTALCTL_PORTAL or the only portal')
    .option('--json', 'print one JSON document on stdout')
    .option('--no-color', 'no colour (also NO_COLOR=1)')
    .option('-q, --quiet', 'print nothing but errors on success')
    .option('-y, --yes', 'do not ask for confirmation (required without a terminal)')
    .option('--actor <name>', 'who the audit trail records (default: the OS user)')
    .addOption(new Option('--debug', 'show stack traces of internal errors').hideHelp())
    .showSuggestionAfterError(true)
    .showHelpAfterError(false)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => ctx.io.stdout.write(s),
      writeErr: (s) => ctx.io.stderr.write(s),
      // Commander's own usage errors are rendered by handleError like ours.
      outputError: () => {},
    })
    .hook('preAction', async (_root, action) => {
      const o = action.optsWithGlobals() as Record<string, unknown>;
      ctx.options = {
        db: o.db as string | undefined,
        portal: o.portal as string | undefined,
        json: Boolean(o.json),
        color: o.color !== false,
        quiet: Boolean(o.quiet),
        yes: Boolean(o.yes),
        actor: o.actor as string | undefined,
        debug: Boolean(o.debug),
      };
      if (ctx.options.actor !== undefined && !/^[\p{L}\p{N} ._@+-]{1,64}$/u.test(ctx.options.actor)) {
        throw new UsageError(`Invalid --actor ${JSON.stringify(neutralize(ctx.options.actor))}: use 1–64 letters, digits, spaces or . _ @ + -.`, 'invalid_actor');
      }
      await loadColor(ctx);
      // A bad PORTALCTL_NOW is a usage error before anything runs.
      ctx.now();
    });
  await registerCommands(program, ctx, argv);
  return program;
}

function commanderMessage(err: CommanderError): string {
  return err.message.replace(/^error: /, '').replace(/\n+/g, ' ').trim();
}

export async function handleError(ctx: Context, err: unknown, debug: boolean): Promise<number> {
  let code: string;
  let message: string;
  let exitCode: number;
  let details: Record<string, unknown> | undefined;
  if (err instanceof PortalctlError) {
    ({ code, message, exitCode, details } = err);
  } else if (err instanceof CommanderError) {
    if (err.exitCode === 0 || err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return EXIT.ok;
    if (err.code === 'commander.help') return EXIT.ok;
    code = 'usage';
    message = `${commanderMessage(err)} (see \`portalctl --help\`)`;
    exitCode = EXIT.usage;
  } else {
    code = 'internal';
    const e = err as Error;
    message = `internal error: ${e?.message ?? String(err)}${debug ? '' : ' (run again with --debug for details)'}`;
    exitCode = EXIT.failed;
  }
  message = neutralize(message);
  if (ctx.options.json) {
    ctx.io.stderr.write(`${JSON.stringify({ error: { code, message, ...(details ? { details } : {}) } })}\n`);
  } else {
    await loadColor(ctx);
    const c = chalkFor(ctx, 'stderr');
    ctx.io.stderr.write(`${c.red('error:')} ${message}\n`);
  }
  if (debug && err instanceof Error && err.stack) ctx.io.stderr.write(`${err.stack}\n`);
  return exitCode;
}

export function processIO(): IO {
  return {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    stdinIsTTY: Boolean(process.stdin.isTTY),
    stdoutIsTTY: Boolean(process.stdout.isTTY),
    stderrIsTTY: Boolean(process.stderr.isTTY),
    columns: process.stdout.isTTY ? process.stdout.columns : undefined,
  };
}

/** Runs portalctl with argv (without "node portalctl") and returns the exit code. */
export async function main(argv: string[], io: IO = processIO(), env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const ctx = createContext(io, env);
  const debug = argv.includes('--debug');
  if (argv.includes('--json')) ctx.options.json = true;
  if (argv.includes('--no-color')) ctx.options.color = false;
  try {
    const program = await buildProgram(ctx, argv);
    await program.parseAsync(argv, { from: 'user' });
    return EXIT.ok;
  } catch (err) {
    return await handleError(ctx, err, debug);
  } finally {
    try {
      ctx.close();
    } catch {
      // closing must never mask the command's own result
    }
  }
}
