// The completion model: the commander command tree reduced to what a shell
// needs to complete it — subcommands at each level, each command's options
// (and the global ones), and what to offer for an option's value or a
// positional argument. The three emitters (bash.ts, zsh.ts, fish.ts) turn the
// same model into static scripts, so TAB never calls back into node.

import type { Argument, Command, Option } from 'commander';
import { LOGIN_SERVICES } from '../domain/services.js';
import { STATUS_FILTERS, USER_SORTS } from '../domain/users.js';
import { EVENT_TYPES } from '../store/types.js';

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

/** Values read from the store at TAB by `portalctl __complete SOURCE` (src/cli/complete.ts). */
export type DynamicSource = 'portals' | 'users';

/**
 * What to offer for a value: nothing (free text), a fixed list (with a
 * description per value where the shell can show one), file names, or values
 * from the store.
 */
export type ValueSpec =
  { kind: 'none' } | { kind: 'choices'; choices: string[]; descriptions?: string[] } | { kind: 'file' } | { kind: 'dynamic'; source: DynamicSource };

export interface OptionSpec {
  /** '-q', or undefined. */
  short?: string;
  /** '--quiet', or undefined. */
  long?: string;
  description: string;
  /** True for `--db <path>` (and `--x [value]`): the next word, or `--x=value`, is its value. */
  takesValue: boolean;
  /** The value's name in the help ('path' for `--db <path>`). */
  valueName: string;
  value: ValueSpec;
}

export interface ArgSpec {
  name: string;
  description: string;
  required: boolean;
  variadic: boolean;
  value: ValueSpec;
}

export interface CommandSpec {
  name: string;
  aliases: string[];
  /** The words after the program name that lead here; [] for the program itself. */
  path: string[];
  description: string;
  /** This command's own visible options, including -h/--help (and -V/--version on the program). */
  options: OptionSpec[];
  args: ArgSpec[];
  subcommands: CommandSpec[];
}

export interface CompletionModel {
  bin: string;
  /** The program's options that work after any subcommand too (not help, not version). */
  globals: OptionSpec[];
  root: CommandSpec;
}

/** Value completions for options, by long flag, whichever command they belong to. */
const OPTION_VALUES: Record<string, ValueSpec> = {
  '--service': { kind: 'choices', choices: LOGIN_SERVICES.map((s) => s.key), descriptions: LOGIN_SERVICES.map((s) => s.name) },
  '--portal': { kind: 'dynamic', source: 'portals' },
  '--user': { kind: 'dynamic', source: 'users' },
  '--status': { kind: 'choices', choices: [...STATUS_FILTERS] },
  '--sort': { kind: 'choices', choices: [...USER_SORTS] },
  // A comma-separated list: one type is offered at a time.
  '--type': { kind: 'choices', choices: [...EVENT_TYPES] },
  '--from-csv': { kind: 'file' },
  '--db': { kind: 'file' },
};

/** Value completions for positional arguments, by "command path:argument name". */
const ARGUMENT_VALUES: Record<string, ValueSpec> = {
  'completion:shell': { kind: 'choices', choices: [...SHELLS] },
  'users show:user': { kind: 'dynamic', source: 'users' },
  'users whoami-login:user': { kind: 'dynamic', source: 'users' },
  'users set-removal-days:user': { kind: 'dynamic', source: 'users' },
  'users resend-registration:users': { kind: 'dynamic', source: 'users' },
  'users remove:users': { kind: 'dynamic', source: 'users' },
  'portals set:slug': { kind: 'dynamic', source: 'portals' },
};

/** Names that end up as shell words in the scripts: keep them to a safe alphabet. */
const SAFE_WORD = /^[A-Za-z0-9][A-Za-z0-9._@+-]*$/;

function safeWord(word: string, what: string): string {
  if (!SAFE_WORD.test(word)) throw new Error(`completion: ${what} ${JSON.stringify(word)} cannot be written safely into a shell script`);
  return word;
}

function safeFlag(flag: string): string {
  if (!/^--?[A-Za-z0-9][A-Za-z0-9_-]*$/.test(flag)) throw new Error(`completion: option ${JSON.stringify(flag)} cannot be written safely into a shell script`);
  return flag;
}

/** One line of plain text for a description: first line, whitespace collapsed. */
export function oneLine(text: string | undefined): string {
  return (text ?? '').split('\n')[0]!.replace(/\s+/g, ' ').trim();
}

function choicesOf(list: readonly string[] | undefined): ValueSpec | undefined {
  return list && list.length > 0 ? { kind: 'choices', choices: list.map((c) => safeWord(c, 'choice')) } : undefined;
}

function optionSpec(o: Option): OptionSpec {
  const takesValue = Boolean(o.required || o.optional);
  const value: ValueSpec = takesValue ? (choicesOf(o.argChoices) ?? (o.long ? OPTION_VALUES[o.long] : undefined) ?? { kind: 'none' }) : { kind: 'none' };
  return {
    ...(o.short ? { short: safeFlag(o.short) } : {}),
    ...(o.long ? { long: safeFlag(o.long) } : {}),
    description: oneLine(o.description),
    takesValue,
    valueName: /[<[]([^>\]]+)[>\]]/.exec(o.flags)?.[1]?.replace(/\.\.\.$/, '') ?? 'value',
    value,
  };
}

function argSpec(a: Argument, path: string[], value?: ValueSpec): ArgSpec {
  return {
    name: a.name(),
    description: oneLine(a.description),
    required: a.required,
    variadic: a.variadic,
    value: value ?? choicesOf(a.argChoices) ?? ARGUMENT_VALUES[`${path.join(' ')}:${a.name()}`] ?? { kind: 'none' },
  };
}

function commandSpec(cmd: Command, path: string[], isHelpCommand: boolean, siblings: string[]): CommandSpec {
  const help = cmd.createHelp();
  const visible = help.visibleCommands(cmd);
  const names = visible.filter((c) => cmd.commands.includes(c)).flatMap((c) => [c.name(), ...c.aliases()]);
  return {
    name: safeWord(cmd.name(), 'command'),
    aliases: cmd.aliases().map((a) => safeWord(a, 'alias')),
    path,
    description: oneLine(cmd.summary() || cmd.description()),
    options: help.visibleOptions(cmd).map(optionSpec),
    // `help [command]` completes the names of its sibling commands.
    args: cmd.registeredArguments.map((a, i) => argSpec(a, path, isHelpCommand && i === 0 ? { kind: 'choices', choices: siblings } : undefined)),
    subcommands: visible.map((c) => {
      const implicitHelp = !cmd.commands.includes(c);
      return commandSpec(c, [...path, c.name()], implicitHelp, names);
    }),
  };
}

/** Reduces a commander program (with all its commands registered) to the completion model. */
export function completionModel(program: Command): CompletionModel {
  const root = commandSpec(program, [], false, []);
  const globals = root.options.filter((o) => o.long !== '--help' && o.long !== '--version');
  return { bin: safeWord(program.name(), 'program name'), globals, root };
}

/** Every command in the tree, parents before children. */
export function allCommands(model: CompletionModel): CommandSpec[] {
  const out: CommandSpec[] = [];
  const visit = (c: CommandSpec) => {
    out.push(c);
    c.subcommands.forEach(visit);
  };
  visit(model.root);
  return out;
}

/** The options offered at a command: its own, then the global ones it does not redefine. */
export function optionsAt(model: CompletionModel, cmd: CommandSpec): OptionSpec[] {
  if (cmd === model.root) return cmd.options;
  const own = new Set(cmd.options.flatMap((o) => [o.short, o.long]).filter(Boolean));
  return [...cmd.options, ...model.globals.filter((g) => !(g.long && own.has(g.long)) && !(g.short && own.has(g.short)))];
}

export function flagsOf(o: OptionSpec): string[] {
  return [o.short, o.long].filter((f): f is string => f !== undefined);
}

/** Subcommand names and aliases of a command. */
export function subcommandWords(cmd: CommandSpec): string[] {
  return cmd.subcommands.flatMap((s) => [s.name, ...s.aliases]);
}

/** Header comment shared by the three scripts. */
export function header(model: CompletionModel, shell: Shell, comment: string): string {
  return [
    `${comment} ${shell} completion for ${model.bin}.`,
    `${comment} Generated from the command tree by \`${model.bin} completion ${shell}\`; do not edit by hand.`,
  ].join('\n');
}
