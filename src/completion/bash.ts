// The bash script: a completion function that walks the words before the
// cursor to find the command path (skipping options and their values), then
// offers subcommands, options, or an option's or argument's values. The
// command tree is written into it as `case` tables, so TAB runs no program.
// Works with bash-completion (uses _init_completion and _filedir) and without.

import { allCommands, flagsOf, header, optionsAt, subcommandWords, type CompletionModel, type ValueSpec } from './model.js';

/** A bash single-quoted word. */
function sq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** `return` code and REPLY for a value: 0 with REPLY words (maybe none), 2 for file names. */
function valueArm(v: ValueSpec, fn: string): string {
  if (v.kind === 'file') return 'return 2';
  if (v.kind === 'choices') return `REPLY=${sq(v.choices.join(' '))}; return 0`;
  // Only when values are wanted: the walk over the words before the cursor asks whether an option takes a value ("probe").
  if (v.kind === 'dynamic') return `[[ $3 == probe ]] || ${fn}_dynamic ${v.source}; return 0`;
  return "REPLY=''; return 0";
}

export function bashScript(model: CompletionModel): string {
  const bin = model.bin;
  const fn = `_${bin.replace(/[^A-Za-z0-9_]/g, '_')}`;
  const commands = allCommands(model);
  const key = (path: string[]) => path.join(' ');

  const subArms: string[] = [];
  const subListArms: string[] = [];
  const optionArms: string[] = [];
  const valueArms: string[] = [];
  const argArms: string[] = [];
  const globalFlags = new Set(model.globals.flatMap(flagsOf));

  for (const c of commands) {
    const k = key(c.path);
    for (const s of c.subcommands) {
      for (const word of [s.name, ...s.aliases]) subArms.push(`        ${sq(`${k}|${word}`)}) REPLY=${sq(key(s.path))} ;;`);
    }
    if (c.subcommands.length > 0) subListArms.push(`        ${sq(k)}) REPLY=${sq(subcommandWords(c).join(' '))} ;;`);
    optionArms.push(`        ${sq(k)}) REPLY=${sq(optionsAt(model, c).flatMap(flagsOf).join(' '))} ;;`);
    for (const o of c.options) {
      for (const flag of flagsOf(o)) {
        if (o.takesValue) valueArms.push(`        ${sq(`${k}|${flag}`)}) ${valueArm(o.value, fn)} ;;`);
        // A command's own flag that hides a global option taking a value.
        else if (c !== model.root && globalFlags.has(flag)) valueArms.push(`        ${sq(`${k}|${flag}`)}) return 1 ;;`);
      }
    }
    if (c.subcommands.length === 0) {
      const inner: string[] = [];
      // An argument with nothing to offer is still an argument: no options (and no "-" inserted) in its place.
      c.args.forEach((a, i) => {
        inner.push(`            ${a.variadic ? '*' : String(i)}) ${a.value.kind === 'none' ? 'return 3' : valueArm(a.value, fn)} ;;`);
      });
      if (inner.length > 0) argArms.push(`        ${sq(k)})\n            case $2 in\n${inner.join('\n')}\n            esac ;;`);
    }
  }
  for (const o of model.globals) {
    if (!o.takesValue) continue;
    for (const flag of flagsOf(o)) valueArms.push(`        *${sq(`|${flag}`)}) ${valueArm(o.value, fn)} ;;`);
  }

  return `${header(model, 'bash', '#')}
# Install: source this file, or copy it to
# ~/.local/share/bash-completion/completions/${bin} (bash-completion loads it on demand).

# ${fn}_sub PATH WORD: is WORD a subcommand at PATH? REPLY is then the new path.
${fn}_sub() {
    case "$1|$2" in
${subArms.join('\n')}
        *) return 1 ;;
    esac
}

# ${fn}_subcommands PATH: REPLY is the subcommands at PATH (empty at a leaf).
${fn}_subcommands() {
    case $1 in
${subListArms.join('\n')}
        *) REPLY='' ;;
    esac
}

# ${fn}_options PATH: REPLY is the options at PATH, the global ones included.
${fn}_options() {
    case $1 in
${optionArms.join('\n')}
        *) REPLY='' ;;
    esac
}

# ${fn}_value PATH OPTION [probe]: 1 if OPTION takes no value; else 0 with REPLY
# the values to offer (maybe none; with probe, not looked up), or 2 for file names.
${fn}_value() {
    case "$1|$2" in
${valueArms.join('\n')}
        *) return 1 ;;
    esac
}

# ${fn}_arg PATH INDEX: values for the positional argument INDEX (from 0) at a
# leaf: 0 with REPLY, 2 for file names, 3 for an argument with nothing to
# offer, 1 when no argument goes there.
${fn}_arg() {
    case $1 in
${argArms.join('\n')}
    esac
    return 1
}

# ${fn}_dynamic SOURCE: REPLY is the values the store holds (portals, users)
# that start with $cur, from \`portalctl __complete\` (read-only, quick, silent),
# for the store and portal this command line names.
${fn}_dynamic() {
    local i w
    local -a scope=()
    for ((i = 1; i < \${#words[@]}; i++)); do
        w=\${words[i]}
        case $w in
            --db | --portal) ((i + 1 < cword)) && scope+=("$w" "\${words[i + 1]}") ;;
            --db=* | --portal=*) scope+=("\${w%%=*}" "\${w#*=}") ;;
        esac
    done
    REPLY=$(command "\${words[0]}" __complete "$1" "\${scope[@]}" -- "$cur" 2>/dev/null | cut -f1)
}

# Without bash-completion: words with --option=value kept together, like
# _init_completion -s does.
${fn}_words() {
    local i n=\${#COMP_WORDS[@]} w last
    words=()
    cword=0
    for ((i = 0; i < n; i++)); do
        w=\${COMP_WORDS[i]}
        last=$((\${#words[@]} - 1))
        if [[ $w == = && $last -ge 1 && \${words[last]} == --?* && \${words[last]} != *=* ]]; then
            words[last]+='='
            ((i == COMP_CWORD)) && cword=$last
            if ((i + 1 < n)); then
                ((i++))
                words[last]+=\${COMP_WORDS[i]}
                ((i == COMP_CWORD)) && cword=$last
            fi
            continue
        fi
        words+=("$w")
        ((i == COMP_CWORD)) && cword=$((\${#words[@]} - 1))
    done
    cur=\${words[cword]}
    prev=\${words[cword - 1]}
    if [[ $cur == --?*=* ]]; then
        prev=\${cur%%=*}
        cur=\${cur#*=}
        split=true
    fi
}

# ${fn}_reply CODE: fill COMPREPLY from REPLY (CODE 0) or with file names (CODE 2).
${fn}_reply() {
    if (($1 == 2)); then
        if declare -F _filedir >/dev/null 2>&1; then
            _filedir
        else
            compopt -o filenames 2>/dev/null
            mapfile -t COMPREPLY < <(compgen -f -- "$cur")
        fi
    elif (($1 == 0)); then
        # Not compgen -W: it expands its word list as the shell would, and the store's values (an
        # address may hold \` or $) are data. Split on white space (no value holds any), match the
        # typed prefix literally (its backslashes taken off), and insert each value quoted.
        local -a values
        local v want=\${cur//\\\\/}
        IFS=$' \\t\\n' read -r -d '' -a values <<<"$REPLY"
        for v in "\${values[@]}"; do
            [[ $v == "$want"* ]] || continue
            printf -v v '%q' "$v"
            COMPREPLY+=("$v")
        done
    fi
    return 0
}

${fn}() {
    local cur prev words cword split=false REPLY
    COMPREPLY=()
    if declare -F _init_completion >/dev/null 2>&1; then
        _init_completion -s || return 0
    else
        ${fn}_words
    fi

    # Walk the words before the cursor: subcommands deepen the path; options
    # (and the value of one that takes a value) and arguments are skipped.
    local path='' w i nargs=0 skip=0 dd=0
    for ((i = 1; i < cword; i++)); do
        w=\${words[i]}
        if ((skip)); then
            skip=0
            continue
        fi
        if ((!dd)); then
            case $w in
                --) dd=1; continue ;;
                --*=*) continue ;;
                -?*)
                    ${fn}_value "$path" "$w" probe
                    (($? != 1)) && skip=1
                    continue
                    ;;
            esac
            if ((nargs == 0)) && ${fn}_sub "$path" "$w"; then
                path=$REPLY
                continue
            fi
        fi
        ((nargs++))
    done

    # The value of an option: --option VALUE or --option=VALUE.
    if ((skip)) || [[ $split == true ]]; then
        ${fn}_value "$path" "$prev"
        ${fn}_reply $?
        return 0
    fi
    if ((!dd)) && [[ $cur == -* ]]; then
        ${fn}_options "$path"
        ${fn}_reply 0
        return 0
    fi
    ${fn}_subcommands "$path"
    if [[ -n $REPLY ]]; then
        ((nargs == 0 && !dd)) && ${fn}_reply 0
        return 0
    fi
    ${fn}_arg "$path" "$nargs"
    local code=$?
    # An argument with nothing to offer: offer nothing.
    ((code == 3)) && return 0
    if ((code == 1)); then
        # No argument goes here: offer the options.
        ((dd)) && return 0
        ${fn}_options "$path"
        code=0
    fi
    ${fn}_reply $code
    return 0
}

complete -F ${fn} ${bin}
`;
}
