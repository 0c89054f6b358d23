// The zsh script: one _arguments function per command. A command with
// subcommands uses the usual `'1: :_commands' '*:: :->args'` shape and hands
// the rest of the line to the subcommand's function, so each level sees its own
// options, the global ones, its subcommands (with their summaries) and the
// values an option or argument takes. `-A '-*'` keeps a level from claiming
// options after its subcommand: in `users list --json --status <TAB>` they are
// the subcommand's business (global options are repeated at every level).
// Works from $fpath (autoloaded as _portalctl) and when sourced after compinit.

import { allCommands, header, optionsAt, type CommandSpec, type CompletionModel, type OptionSpec, type ValueSpec } from './model.js';

/** A zsh single-quoted word. */
function sq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Text inside an _arguments [explanation]. */
function explanation(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\[/g, '\\[').replace(/\]/g, '\\]');
}

/** Text of an _arguments message or a _describe name (colons separate fields). */
function field(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/:/g, '\\:');
}

/** A word inside an _arguments ((value\\:description …)) list: spaces, colons and quotes escaped. */
const listWord = (s: string) => s.replace(/[\\ :'"()]/g, '\\$&');

function action(v: ValueSpec, fn: string): string {
  if (v.kind === 'file') return '_files';
  if (v.kind === 'choices') {
    if (v.descriptions) return `((${v.choices.map((c, i) => `${listWord(c)}\\:${listWord(v.descriptions![i] ?? '')}`).join(' ')}))`;
    return `(${v.choices.join(' ')})`;
  }
  if (v.kind === 'dynamic') return `{${fn}_dynamic ${v.source}}`;
  return ' ';
}

function optionSpecs(o: OptionSpec, fn: string): string[] {
  const flags = [o.short, o.long].filter((f): f is string => f !== undefined);
  const exclusive = flags.length > 1 ? `(${flags.join(' ')})` : '';
  return flags.map((flag) => {
    const suffix = o.takesValue ? (flag.startsWith('--') ? '=' : '+') : '';
    const value = o.takesValue ? `:${field(o.valueName)}:${action(o.value, fn)}` : '';
    return sq(`${exclusive}${flag}${suffix}[${explanation(o.description)}]${value}`);
  });
}

function funcName(fn: string, c: CommandSpec): string {
  return [fn, ...c.path].join('__').replace(/[^A-Za-z0-9_]/g, '_');
}

export function zshScript(model: CompletionModel): string {
  const bin = model.bin;
  const fn = `_${bin.replace(/[^A-Za-z0-9_]/g, '_')}`;
  const out: string[] = [];

  for (const c of allCommands(model)) {
    const name = funcName(fn, c);
    const specs = optionsAt(model, c).flatMap((o) => optionSpecs(o, fn));
    const body: string[] = [];
    if (c.subcommands.length > 0) {
      specs.push(sq(`1: :${name}_commands`), sq('*:: :->args'));
      body.push(
        `    local curcontext="$curcontext" state state_descr line ret=1`,
        `    typeset -A opt_args`,
        `    _arguments -C -s -S -A '-*' \\\n        ${specs.join(' \\\n        ')} && ret=0`,
        `    if [[ $state == args ]]; then`,
        `        curcontext="\${curcontext%:*:*}:${[bin, ...c.path].join('-')}-$words[1]:"`,
        `        case $words[1] in`,
        ...c.subcommands.map((s) => `            (${[s.name, ...s.aliases].join('|')}) ${funcName(fn, s)} && ret=0 ;;`),
        `        esac`,
        `    fi`,
        `    return ret`,
      );
      const items = c.subcommands.flatMap((s) => [s.name, ...s.aliases].map((w) => sq(`${field(w)}:${s.description}`)));
      out.push(
        `(( $+functions[${name}_commands] )) ||`,
        `${name}_commands() {`,
        `    local -a commands`,
        `    commands=(\n        ${items.join('\n        ')}\n    )`,
        `    _describe -t commands ${sq(`${[bin, ...c.path].join(' ')} command`)} commands`,
        `}`,
        '',
      );
    } else {
      c.args.forEach((a, i) => {
        const pos = a.variadic ? '*' : String(i + 1);
        const optional = !a.required && !a.variadic ? ':' : '';
        specs.push(sq(`${pos}${optional}:${field(a.name)}:${action(a.value, fn)}`));
      });
      body.push(`    _arguments -s -S${specs.length ? ` \\\n        ${specs.join(' \\\n        ')}` : ''}`);
    }
    // The program's own function is always (re)defined: autoloaded, this file
    // is its first body, which defines the real one and calls it. It notes the
    // command as typed and the store and portal the line names, before the
    // subcommands' functions see only their part of the line.
    const context =
      c === model.root
        ? [
            `    local ${fn}_cmd=$words[1] i`,
            `    local -a ${fn}_scope`,
            `    for ((i = 2; i < CURRENT; i++)); do`,
            `        case $words[i] in`,
            `            (--db|--portal) (( i + 1 < CURRENT )) && ${fn}_scope+=($words[i] $words[i+1]) ;;`,
            `            (--db=*|--portal=*) ${fn}_scope+=(\${words[i]%%=*} \${words[i]#*=}) ;;`,
            `        esac`,
            `    done`,
          ]
        : [];
    out.push(...(c === model.root ? [] : [`(( $+functions[${name}] )) ||`]), `${name}() {`, ...context, ...body, `}`, '');
  }

  out.push(
    `# ${fn}_dynamic SOURCE: the values the store holds (portals, users), from`,
    `# \`${bin} __complete\` (read-only, quick, silent), with their descriptions.`,
    `(( $+functions[${fn}_dynamic] )) ||`,
    `${fn}_dynamic() {`,
    `    local -a lines described`,
    `    local l`,
    `    lines=(\${(f)"$(command \${${fn}_cmd:-${bin}} __complete $1 \${${fn}_scope[@]} -- $PREFIX 2>/dev/null)"})`,
    `    for l in $lines; do described+=("\${\${l%%$'\\t'*}//:/\\\\:}:\${l#*$'\\t'}"); done`,
    `    _describe -t $1 $1 described`,
    `}`,
    '',
  );

  return `#compdef ${bin}
${header(model, 'zsh', '#')}
# Install: put this file, named ${fn}, in a directory on $fpath before compinit
# runs (e.g. fpath=(~/.zfunc $fpath) in ~/.zshrc), or source it after compinit.

${out.join('\n')}
# Autoloaded from $fpath: complete now. Sourced (or eval'd): register.
if [[ $zsh_eval_context[-1] == loadautofunc || ( $zsh_eval_context[-1] == shfunc && $funcstack[1] == ${fn} ) ]]; then
    ${fn} "$@"
else
    compdef ${fn} ${bin}
fi
`;
}
