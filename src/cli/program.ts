// The commander tree, built from the registry's static data. Each leaf's
// action imports its handler, parses its options into typed values, runs it,
// and hands the result back to main for rendering.

import { Command, Option } from 'commander';
import type { Result } from '../output/results.js';
import type { Context } from '../runtime/context.js';
import { COMMANDS, GLOBAL_OPTIONS, NOUNS, TOP_LEVEL_ORDER, type CommandSpec, type OptionSpec } from '../commands/registry.js';
import { UsageError } from '../errors.js';
import { quote } from '../text.js';

export const BIN = 'portalctl';

function examples(lines: string[]): string {
  return `\nExamples:\n${lines.map((e) => `  ${e}`).join('\n')}`;
}

function addOption(cmd: Command, o: OptionSpec & { hidden?: boolean }): void {
  const opt = new Option(o.flags, o.description);
  if (opt.required || opt.optional) {
    // An option that takes a value, given twice, is a mistake (`--email b@… --email c@…`, `--portal a
    // --portal b`): commander would keep the last silently, and a link would be used up by the second
    // account named. Refused before anything runs; the values are not repeated (--db may hold a password).
    let given = false;
    opt.argParser((value: string) => {
      if (given) throw new UsageError(`${opt.long ?? opt.flags} is given more than once; give it once.`, 'usage');
      given = true;
      return value;
    });
  }
  if (o.default !== undefined) opt.default(o.default);
  if (o.hidden) opt.hideHelp();
  cmd.addOption(opt);
}

const ACTOR = /^[\p{L}\p{N} ._@+-]{1,64}$/u;

/** Reads the global options into the context, before any command runs. */
export function applyGlobals(ctx: Context, program: Command): void {
  const o = program.opts() as Record<string, unknown>;
  ctx.globals = {
    db: o.db as string | undefined,
    portal: o.portal as string | undefined,
    json: Boolean(o.json),
    color: o.color !== false,
    quiet: Boolean(o.quiet),
    yes: Boolean(o.yes),
    actor: o.actor as string | undefined,
    debug: Boolean(o.debug),
  };
  if (!ctx.globals.color) ctx.io.disableColor();
}

/**
 * The command tree. With `only` (the first word on the command line, when it
 * names a command or a noun) just that branch is built — most of a short
 * command's start-up went into building the other forty; anything else (no
 * word, `help`, a typo that wants a suggestion, `completion`) gets the whole
 * tree.
 */
export function buildProgram(ctx: Context, onResult: (result: Result) => void, only?: string): Command {
  const branch = only !== undefined && TOP_LEVEL_ORDER.includes(only) && !COMMANDS.some((c) => c.path[0] === only && c.wholeTree) ? only : undefined;
  const program = new Command(BIN);
  program
    .description('Portal user registration for single sign-on: invite people, send registration emails, link login-service accounts, prune unlinked profiles.')
    .helpOption('-h, --help', 'show help for a command')
    .showSuggestionAfterError(true)
    .showHelpAfterError(false)
    .exitOverride()
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false })
    .configureOutput({
      writeOut: (s) => ctx.io.stdout.write(s),
      writeErr: (s) => ctx.io.stderr.write(s),
      // commander's usage errors are rendered by main like ours.
      outputError: () => {},
    });
  for (const o of GLOBAL_OPTIONS) addOption(program, o);
  program.hook('preAction', () => {
    applyGlobals(ctx, program);
    if (ctx.globals.actor !== undefined && !ACTOR.test(ctx.globals.actor)) {
      throw new UsageError(`Invalid --actor ${quote(ctx.globals.actor)}: use 1–64 letters, digits, spaces or . _ @ + -.`, 'invalid_actor');
    }
    // `--db "$STORE"` with STORE unset: refused, not read as "no --db" (which would fall back to another store).
    if (ctx.globals.db?.trim() === '')
      throw new UsageError('--db is empty: give a store (a SQLite file path or a postgres:// URL), or leave --db out.', 'missing_value');
    if (ctx.globals.portal?.trim() === '')
      throw new UsageError('--portal is empty: give a portal slug (see `portalctl portals list`), or leave --portal out.', 'missing_value');
    // A bad PORTALCTL_NOW or TZ is a usage error before anything runs.
    void ctx.now;
    ctx.checkZone();
  });
  program.addHelpText(
    'after',
    `${examples([
      'portalctl portals add grants --name "Grants Portal" --url https://grants.example.org --admin-email admin@example.org',
      'portalctl users invite --email jane.doe@example.org --first-name Jane --last-name Doe',
      'portalctl users list',
      "portalctl link 'https://grants.example.org/register/link?token=…' --service nih --account jdoe",
      'portalctl prune --yes --quiet          # nightly, from cron',
    ])}\n\nExit codes: 0 ok, 1 refused or failed, 2 usage error, 75 email queued for retry, 130 interrupted.\nEvery command takes --help.`,
  );

  const nouns = new Map<string, Command>();
  const leaf = (parent: Command, spec: CommandSpec) => {
    const cmd = parent
      .command(spec.path[spec.path.length - 1]!)
      .summary(spec.summary)
      .description(spec.description);
    for (const a of spec.args ?? []) {
      const name = a.variadic ? `${a.name}...` : a.name;
      cmd.argument(a.required ? `<${name}>` : `[${name}]`, a.description);
    }
    for (const o of spec.options ?? []) addOption(cmd, o);
    cmd.addHelpText('after', examples(spec.examples));
    cmd.action(async (...received: unknown[]) => {
      const self = received[received.length - 1] as Command;
      const args = received.slice(0, spec.args?.length ?? 0);
      const mod = await spec.load();
      if (spec.streams) ctx.prepareToStream();
      const options = mod.parse({ args, options: self.opts(), program });
      onResult(await mod.run(ctx, options));
    });
  };
  let group = '';
  for (const name of branch === undefined ? TOP_LEVEL_ORDER : [branch]) {
    const noun = NOUNS.find((n) => n.name === name);
    const spec = COMMANDS.find((c) => c.path.length === 1 && c.path[0] === name);
    const g = noun?.group ?? spec?.group ?? '';
    if (g !== group) program.commandsGroup((group = g));
    if (noun) {
      const cmd = program.command(noun.name).summary(noun.summary).description(noun.summary).addHelpText('after', examples(noun.examples));
      nouns.set(noun.name, cmd);
      let childGroup = '';
      for (const child of COMMANDS.filter((c) => c.path.length === 2 && c.path[0] === noun.name)) {
        if (child.group && child.group !== childGroup) cmd.commandsGroup((childGroup = child.group));
        leaf(cmd, child);
      }
    } else if (spec) leaf(program, spec);
  }
  return program;
}
