// The fish script: `complete` rules guarded by one helper that finds the
// command path before the cursor (fish's __fish_seen_subcommand_from cannot
// tell `users list` from `portals list`). Global options carry no guard.

import { allCommands, header, type CompletionModel, type OptionSpec, type ValueSpec } from './model.js';

/** A fish single-quoted word. */
function sq(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** fish double-quoted text (for printf's arguments). */
const dq = (s: string) => `"${s.replace(/[\\"$]/g, '\\$&')}"`;

/** The -a of a value: the choices (each with its description when it has one), or the store's values at TAB. */
function candidates(v: ValueSpec, fn: string): string {
  if (v.kind === 'choices') {
    if (!v.descriptions) return ` -a ${sq(v.choices.join(' '))}`;
    // "value<TAB>description" lines: fish shows each value's own description.
    const pairs = v.choices.map((c, i) => `${dq(c)} ${dq(v.descriptions![i] ?? '')}`).join(' ');
    return ` -a ${sq(`(printf "%s\\t%s\\n" ${pairs})`)}`;
  }
  if (v.kind === 'dynamic') return ` -a ${sq(`(${fn}_dynamic ${v.source})`)}`;
  return '';
}

function valueFlags(v: ValueSpec, fn: string): string {
  if (v.kind === 'file') return ' -r -F';
  return ` -x${candidates(v, fn)}`;
}

export function fishScript(model: CompletionModel): string {
  const bin = model.bin;
  const fn = `__fish_${bin.replace(/[^A-Za-z0-9_]/g, '_')}`;
  const commands = allCommands(model);
  const key = (path: string[]) => path.join(' ');
  // Paths are safe words (see model.ts), so double quotes around the guard need no escapes.
  const at = (path: string[], nargs?: string) => `-n "${fn}_at '${key(path)}'${nargs !== undefined ? ` ${nargs}` : ''}"`;
  const globalFlags = new Set(model.globals.flatMap((o) => [o.short, o.long]).filter(Boolean));

  const subArms: string[] = [];
  const valueArms: string[] = [];
  for (const c of commands) {
    const k = key(c.path);
    for (const s of c.subcommands) {
      for (const word of [s.name, ...s.aliases]) subArms.push(`        case ${sq(`${k}|${word}`)}\n            echo ${sq(key(s.path))}`);
    }
    const valueFlagsHere = c.options.filter((o) => o.takesValue);
    // A command's own flag that hides a global option taking a value.
    const shadowing = c === model.root ? [] : c.options.filter((o) => !o.takesValue && (globalFlags.has(o.long) || globalFlags.has(o.short)));
    const flagsOf = (os: OptionSpec[]) => os.flatMap((o) => [o.short, o.long].filter((f): f is string => f !== undefined));
    if (valueFlagsHere.length)
      valueArms.push(
        `        case ${flagsOf(valueFlagsHere)
          .map((f) => sq(`${k}|${f}`))
          .join(' ')}\n            return 0`,
      );
    if (shadowing.length)
      valueArms.push(
        `        case ${flagsOf(shadowing)
          .map((f) => sq(`${k}|${f}`))
          .join(' ')}\n            return 1`,
      );
  }
  const globalValueFlags = model.globals.filter((o) => o.takesValue).flatMap((o) => [o.short, o.long].filter((f): f is string => f !== undefined));
  if (globalValueFlags.length) valueArms.push(`        case ${globalValueFlags.map((f) => sq(`*|${f}`)).join(' ')}\n            return 0`);

  const rules: string[] = [`complete -c ${bin} -f`];
  const optionRule = (o: OptionSpec, guard: string) => {
    const flags = `${o.short ? ` -s ${o.short.slice(1)}` : ''}${o.long ? ` -l ${o.long.slice(2)}` : ''}`;
    const value = o.takesValue ? valueFlags(o.value, fn) : '';
    return `complete -c ${bin}${guard}${flags}${value}${o.description ? ` -d ${sq(o.description)}` : ''}`;
  };
  rules.push('', '# Global options, after any subcommand too.');
  for (const o of model.globals) rules.push(optionRule(o, ''));
  for (const c of commands) {
    rules.push('', `# ${[bin, ...c.path].join(' ')}`);
    for (const s of c.subcommands) {
      for (const word of [s.name, ...s.aliases])
        rules.push(`complete -c ${bin} ${at(c.path, '0')} -a ${sq(word)}${s.description ? ` -d ${sq(s.description)}` : ''}`);
    }
    for (const o of c.options) if (!model.globals.includes(o)) rules.push(optionRule(o, ` ${at(c.path)}`));
    if (c.subcommands.length === 0) {
      c.args.forEach((a, i) => {
        if (a.value.kind === 'none') return;
        const guard = at(c.path, a.variadic ? `${i}+` : String(i));
        const what = a.value.kind === 'file' ? ' -F' : candidates(a.value, fn);
        rules.push(`complete -c ${bin} ${guard}${what}${a.description ? ` -d ${sq(a.description)}` : ''}`);
      });
    }
  }

  return `${header(model, 'fish', '#')}
# Install: copy this file to ~/.config/fish/completions/${bin}.fish

# ${fn}_sub PATH WORD: prints the new path if WORD is a subcommand at PATH.
function ${fn}_sub
    switch "$argv[1]|$argv[2]"
${subArms.join('\n')}
        case '*'
            return 1
    end
end

# ${fn}_takes_value PATH OPTION: does OPTION take a value (the next word) at PATH?
function ${fn}_takes_value
    switch "$argv[1]|$argv[2]"
${valueArms.join('\n')}
    end
    return 1
end

# ${fn}_state: "NARGS PATH" for the words before the cursor: the command path
# and how many positional arguments follow it.
function ${fn}_state
    set -l words (commandline -opc)
    set -e words[1]
    set -l path ''
    set -l nargs 0
    set -l skip 0
    set -l dd 0
    set -l next
    for w in $words
        if test $skip = 1
            set skip 0
            continue
        end
        if test $dd = 0
            if test "$w" = --
                set dd 1
                continue
            else if string match -q -- '--*=*' $w
                continue
            else if string match -q -- '-*' $w; and test "$w" != -
                ${fn}_takes_value "$path" $w; and set skip 1
                continue
            else if test $nargs = 0; and set next (${fn}_sub "$path" $w)
                set path $next
                continue
            end
        end
        set nargs (math $nargs + 1)
    end
    echo "$nargs $path"
end

# ${fn}_dynamic SOURCE: the values the store holds (portals, users), each with
# its description, from \`${bin} __complete\` (read-only, quick, silent), for
# the store and portal this command line names.
function ${fn}_dynamic
    set -l words (commandline -opc)
    set -l scope
    for i in (seq 2 (count $words))
        switch $words[$i]
            case --db --portal
                set -l next (math $i + 1)
                set -q words[$next]; and set scope $scope $words[$i] $words[$next]
            case '--db=*' '--portal=*'
                set scope $scope (string split -m 1 = -- $words[$i])
        end
    end
    command $words[1] __complete $argv[1] $scope -- (commandline -ct) 2>/dev/null
end

# ${fn}_at PATH [N | N+]: is the cursor at PATH (after exactly N, or at least N, arguments)?
function ${fn}_at
    set -l state (string split -m 1 ' ' -- (${fn}_state))
    test "$state[2]" = "$argv[1]"; or return 1
    set -q argv[2]; or return 0
    if string match -q -- '*+' $argv[2]
        test $state[1] -ge (string trim -r -c + -- $argv[2])
    else
        test $state[1] -eq $argv[2]
    end
end

${rules.join('\n')}
`;
}
