// Entry point: builds the context and the command tree, runs the command,
// renders its result — and is the one place where errors become messages on
// stderr and exit codes.

import { CommanderError } from 'commander';
import { EXIT, PortalctlError, UsageError } from '../errors.js';
import { neutralize, quote } from '../text.js';
import { render, type RenderOptions } from '../output/render.js';
import { toJson } from '../output/json.js';
import { stylesFor } from '../output/styles.js';
import type { Result } from '../output/results.js';
import { Context, type ContextDeps } from '../runtime/context.js';
import { processStreams } from '../runtime/io.js';
import { keepHeapSmall } from '../runtime/heap.js';
import { applyGlobals, buildProgram } from './program.js';
import { COMMANDS, GLOBAL_OPTIONS, NOUNS } from '../commands/registry.js';

/** What main needs from the process: its streams, environment and signals. */
export function processDeps(): ContextDeps {
  return {
    streams: processStreams(),
    env: process.env,
    prepareToStream: keepHeapSmall,
    onInterrupt: (abort) => {
      let count = 0;
      const handler = (signal: NodeJS.Signals) => {
        count += 1;
        // A second Ctrl-C means "now": the store is transactional, so nothing is half-written. Said before
        // going (stderr is synchronous on a terminal, a pipe or a file), so nobody is left guessing.
        if (count > 1) {
          process.stderr.write(
            'Stopped at once: what was committed is kept and nothing is half-written, but the work in flight was not finished. Run the command again to finish it (`portalctl outbox list` shows the emails still queued; one that was on its way may go out twice).\n',
          );
          process.exit(EXIT.interrupted);
        }
        abort(signal);
      };
      process.on('SIGINT', handler);
      process.on('SIGTERM', handler);
    },
  };
}

export function renderOptions(ctx: Context): RenderOptions {
  return {
    stdout: ctx.io.stdout,
    stderr: ctx.io.stderr,
    stdoutIsTTY: ctx.io.stdoutIsTTY,
    columns: ctx.io.columns,
    colorOut: ctx.io.colorOut,
    colorErr: ctx.io.colorErr,
    stdoutClosed: () => ctx.io.stdoutClosed,
    json: ctx.globals.json,
    quiet: ctx.globals.quiet,
    now: ctx.now,
    // Only a terminal shows local times: the zone (and Intl) only then.
    get zone() {
      return ctx.zone;
    },
  };
}

/** The longest run of argv's words that names a command or a noun: where --help helps. */
function commandPath(argv: readonly string[]): string[] {
  const words = argv.filter((a) => !a.startsWith('-'));
  const known = [...COMMANDS.map((c) => c.path.join(' ')), ...NOUNS.map((n) => n.name)];
  for (let k = Math.min(2, words.length); k > 0; k--) if (known.includes(words.slice(0, k).join(' '))) return words.slice(0, k);
  return [];
}

/**
 * A Step 2 token that commander took for an option (tokens of the first
 * releases could start with "-"): an argument shaped like one (27 characters,
 * the first "-"), and commander saying an option is unknown. Told from the
 * arguments, not the message: a token starting with -q, -y or -h is split by
 * commander into flags and a shorter remainder, possibly more than once.
 */
const TOKEN_LIKE = /^-[A-Za-z0-9_-]{26}$/;

function commanderMessage(err: CommanderError, argv: readonly string[]): string {
  let text = err.message
    .replace(/^error: /, '')
    .replace(/\n+/g, ' ')
    .trim();
  if (err.code === 'commander.unknownOption' && argv.some((a) => TOKEN_LIKE.test(a))) {
    text =
      'a Step 2 link token that starts with "-" was read as an option; put `--` before it (portalctl link --service nih --account jdoe -- TOKEN) or pass the link on standard input (portalctl link - …)';
  }
  return `${text} (see \`portalctl ${commandPath(argv)
    .map((w) => `${w} `)
    .join('')}--help\`)`;
}

/** Our own line breaks stay; anything else a terminal would act on is made visible. */
const lines = (text: string) => text.split('\n').map(neutralize).join('\n');

/** Turns any error into one line on stderr (JSON with --json) and an exit code. */
export async function reportError(ctx: Context, err: unknown, argv: readonly string[]): Promise<number> {
  let code: string;
  let message: string;
  let exitCode: number;
  let details: Record<string, unknown> | undefined;
  // A SQLite error that escaped the store's wrapper is still a store error (store_busy, store_corrupt, …), never an internal one.
  if (!(err instanceof PortalctlError) && /^SQLITE_/.test(String((err as { code?: unknown } | null)?.code ?? ''))) {
    const { sqliteError } = await import('../store/sqlite/open.js');
    err = sqliteError(err);
  }
  if (err instanceof PortalctlError) {
    ({ code, message, exitCode, details } = err);
  } else if (err instanceof CommanderError) {
    if (err.exitCode === 0 || err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return EXIT.ok;
    code = 'usage';
    message = commanderMessage(err, argv);
    exitCode = EXIT.usage;
  } else {
    code = 'internal';
    const e = err as Error;
    message = `internal error: ${e?.message ?? String(err)}${ctx.globals.debug ? '' : ' (run again with --debug for details)'}`;
    exitCode = EXIT.failed;
  }
  if (ctx.globals.json) {
    ctx.io.stderr.write(`${toJson({ error: { code, message, ...(details ? { details } : {}) } })}\n`);
  } else {
    const s = await stylesFor(ctx.io.colorErr);
    // Our messages quote untrusted values neutralised; neutralising again only guards what slipped through.
    ctx.io.stderr.write(`${s.red('error:')} ${lines(message)}\n`);
  }
  // A usage error's stack says nothing about portalctl, and commander's message in it would repeat the argument (a token, say) verbatim.
  if (ctx.globals.debug && err instanceof Error && !(err instanceof CommanderError) && err.stack) ctx.io.stderr.write(`${lines(err.stack)}\n`);
  return exitCode;
}

/** Where the first word that is not an option (nor a global option's value) is, or -1 (none, or after `--`). */
function firstWordAt(argv: readonly string[]): number {
  const takesValue = new Set(GLOBAL_OPTIONS.filter((o) => o.flags.includes('<')).flatMap((o) => o.flags.split(/[ ,]+/).filter((f) => f.startsWith('-'))));
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') return -1;
    if (!a.startsWith('-')) return i;
    if (takesValue.has(a)) i++;
  }
  return -1;
}

/**
 * `portalctl help users list` as `portalctl users list --help`: commander's
 * help command takes one word, so it showed the help of `users`.
 */
export function helpAsFlag(argv: readonly string[]): string[] {
  const i = firstWordAt(argv);
  // One word is commander's own business (`help users`, and its error for `help bogus`).
  const path = argv.slice(i + 1).join(' ');
  if (i < 0 || argv[i] !== 'help' || !COMMANDS.some((c) => c.path.length > 1 && c.path.join(' ') === path)) return [...argv];
  return [...argv.slice(0, i), ...argv.slice(i + 1), '--help'];
}

/** The usage error for words that name no command, with the help to ask for when a command ends in the same word. */
function noSuchCommand(words: readonly string[]): UsageError {
  const near = COMMANDS.filter((c) => c.path.at(-1) === words.at(-1)).map((c) => `\`portalctl help ${c.path.join(' ')}\``);
  const noun = words.length > 1 && NOUNS.some((n) => n.name === words[0]) ? `${words[0]} ` : '';
  const hint = near.length > 0 ? `did you mean ${near.join(' or ')}?` : `see \`portalctl ${noun}--help\` for the commands.`;
  return new UsageError(`There is no command ${quote(words.join(' '), 60)}; ${hint}`, 'usage');
}

/**
 * Help asked for a command that does not exist — `portalctl help invite`
 * (meant: users invite), `portalctl users bogus --help` — is a usage error.
 * Commander showed the nearest help it had and exit 0, so a typo looked
 * answered.
 */
export function unknownHelpTopic(argv: readonly string[]): UsageError | undefined {
  const i = firstWordAt(argv);
  if (i < 0) return undefined;
  if (argv[i] === 'help') {
    const words = argv.slice(i + 1).filter((a) => !a.startsWith('-'));
    const topic = words.join(' ');
    if (words.length === 0 || topic === 'help' || NOUNS.some((n) => n.name === topic) || COMMANDS.some((c) => c.path.join(' ') === topic)) return undefined;
    return noSuchCommand(words);
  }
  const head = argv.includes('--') ? argv.slice(0, argv.indexOf('--')) : argv;
  if (!head.includes('--help') && !head.includes('-h')) return undefined;
  const first = argv[i]!;
  if (!NOUNS.some((n) => n.name === first)) return COMMANDS.some((c) => c.path[0] === first) ? undefined : noSuchCommand([first]);
  const rest = argv.slice(i + 1);
  const j = firstWordAt(rest);
  const second = j < 0 ? undefined : rest[j]!;
  return second === undefined || COMMANDS.some((c) => c.path[0] === first && c.path[1] === second) ? undefined : noSuchCommand([first, second]);
}

/** Runs portalctl with argv (without "node portalctl") and returns the exit code. */
export async function main(argvGiven: string[], deps: ContextDeps = processDeps()): Promise<number> {
  const argv = helpAsFlag(argvGiven);
  const ctx = new Context(deps);
  const head = argv.includes('--') ? argv.slice(0, argv.indexOf('--')) : argv;
  if (head.includes('--version') || head.includes('-V')) {
    // bin/portalctl answers a bare --version without loading this module; here it comes with other options (--db, --json).
    const at = head.findIndex((a) => a === '--db' || a.startsWith('--db='));
    const db = at < 0 ? undefined : head[at]!.startsWith('--db=') ? head[at]!.slice(5) : head[at + 1];
    const { main: version } = await import('./version.js');
    // An empty --db names no store (every other command refuses it): the report shows the store used without it.
    return version(head.includes('--json') ? ['--json'] : [], !db?.trim() ? deps.env : { ...deps.env, PORTALCTL_DB: db }, ctx.io.stdout);
  }
  let result: Result | undefined;
  const word = argv[firstWordAt(argv)];
  const program = buildProgram(ctx, (r) => (result = r), word);
  try {
    const noTopic = unknownHelpTopic(argv);
    if (noTopic) {
      // The global options (--json, --no-color) still shape the error.
      program.parseOptions([...argv]);
      applyGlobals(ctx, program);
      throw noTopic;
    }
    await program.parseAsync(argv, { from: 'user' });
    if (result) {
      const outstanding = await render(result, renderOptions(ctx));
      if (outstanding) throw outstanding;
    }
    await ctx.io.flushStdout();
    const failure = ctx.io.stdoutError;
    if (failure)
      throw new PortalctlError(
        'output_failed',
        `Cannot write to standard output: ${failure.code ?? failure.message}${failure.code === 'ENOSPC' ? ' (no space left on the device)' : ''}. Anything the command changed is recorded; only its output is lost.`,
        EXIT.failed,
      );
    return EXIT.ok;
  } catch (err) {
    // Options parsed before the error (--json, --debug) still count (also for an error of parsing, such as an option given twice).
    try {
      applyGlobals(ctx, program);
    } catch {
      // keep the defaults
    }
    return await reportError(ctx, err, argv);
  } finally {
    await ctx.close().catch(() => {});
  }
}
