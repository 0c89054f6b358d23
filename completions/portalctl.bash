# bash completion for portalctl.
# Generated from the command tree by `portalctl completion bash`; do not edit by hand.
# Install: source this file, or copy it to
# ~/.local/share/bash-completion/completions/portalctl (bash-completion loads it on demand).

# _portalctl_sub PATH WORD: is WORD a subcommand at PATH? REPLY is then the new path.
_portalctl_sub() {
    case "$1|$2" in
        '|users') REPLY='users' ;;
        '|link') REPLY='link' ;;
        '|remind') REPLY='remind' ;;
        '|prune') REPLY='prune' ;;
        '|serve') REPLY='serve' ;;
        '|portals') REPLY='portals' ;;
        '|outbox') REPLY='outbox' ;;
        '|audit') REPLY='audit' ;;
        '|events') REPLY='events' ;;
        '|store') REPLY='store' ;;
        '|doctor') REPLY='doctor' ;;
        '|config') REPLY='config' ;;
        '|completion') REPLY='completion' ;;
        '|help') REPLY='help' ;;
        'users|list') REPLY='users list' ;;
        'users|invite') REPLY='users invite' ;;
        'users|resend-registration') REPLY='users resend-registration' ;;
        'users|set-removal-days') REPLY='users set-removal-days' ;;
        'users|remove') REPLY='users remove' ;;
        'users|show') REPLY='users show' ;;
        'users|whoami-login') REPLY='users whoami-login' ;;
        'users|access-check') REPLY='users access-check' ;;
        'users|help') REPLY='users help' ;;
        'portals|add') REPLY='portals add' ;;
        'portals|set') REPLY='portals set' ;;
        'portals|list') REPLY='portals list' ;;
        'portals|help') REPLY='portals help' ;;
        'outbox|list') REPLY='outbox list' ;;
        'outbox|send') REPLY='outbox send' ;;
        'outbox|help') REPLY='outbox help' ;;
        'store|copy') REPLY='store copy' ;;
        'store|help') REPLY='store help' ;;
        *) return 1 ;;
    esac
}

# _portalctl_subcommands PATH: REPLY is the subcommands at PATH (empty at a leaf).
_portalctl_subcommands() {
    case $1 in
        '') REPLY='users link remind prune serve portals outbox audit events store doctor config completion help' ;;
        'users') REPLY='list invite resend-registration set-removal-days remove show whoami-login access-check help' ;;
        'portals') REPLY='add set list help' ;;
        'outbox') REPLY='list send help' ;;
        'store') REPLY='copy help' ;;
        *) REPLY='' ;;
    esac
}

# _portalctl_options PATH: REPLY is the options at PATH, the global ones included.
_portalctl_options() {
    case $1 in
        '') REPLY='--db --portal --json --no-color -q --quiet -y --yes --actor -V --version -h --help' ;;
        'users') REPLY='-h --help --db --portal --json --no-color -q --quiet -y --yes --actor' ;;
        'users list') REPLY='--status --search --sort --limit --csv -h --help --db --portal --json --no-color -q --quiet -y --yes --actor' ;;
        'users invite') REPLY='--email --first-name --last-name --from-csv -h --help --db --portal --json --no-color -q --quiet -y --yes --actor' ;;
        'users resend-registration') REPLY='--email --all-expired -h --help --db --portal --json --no-color -q --quiet -y --yes --actor' ;;
        'users set-removal-days') REPLY='-h --help --db --portal --json --no-color -q --quiet -y --yes --actor' ;;
        'users remove') REPLY='--status --include-linked --dry-run -h --help --db --portal --json --no-color -q --quiet -y --yes --actor' ;;
        'users show') REPLY='-h --help --db --portal --json --no-color -q --quiet -y --yes --actor' ;;
        'users whoami-login') REPLY='-h --help --db --portal --json --no-color -q --quiet -y --yes --actor' ;;
        'users access-check') REPLY='--service --account --email -h --help --db --portal --json --no-color -q --quiet -y --yes --actor' ;;
        'users help') REPLY='--db --portal --json --no-color -q --quiet -y --yes --actor' ;;
        'link') REPLY='--service --account -h --help --db --portal --json --no-color -q --quiet -y --yes --actor' ;;
        'remind') REPLY='--dry-run -h --help --db --portal --json --no-color -q --quiet -y --yes --actor' ;;
        'prune') REPLY='--dry-run -h --help --db --portal --json --no-color -q --quiet -y --yes --actor' ;;
        'serve') REPLY='--listen -h --help --db --portal --json --no-color -q --quiet -y --yes --actor' ;;
        'portals') REPLY='-h --help --db --portal --json --no-color -q --quiet -y --yes --actor' ;;
        'portals add') REPLY='--name --url --admin-email --register-url --link-days --removal-days --remind-days --warn-days --time-zone -h --help --db --portal --json --no-color -q --quiet -y --yes --actor' ;;
        'portals set') REPLY='--name --url --admin-email --register-url --link-days --removal-days --remind-days --warn-days --time-zone -h --help --db --portal --json --no-color -q --quiet -y --yes --actor' ;;
        'portals list') REPLY='-h --help --db --portal --json --no-color -q --quiet -y --yes --actor' ;;
        'portals help') REPLY='--db --portal --json --no-color -q --quiet -y --yes --actor' ;;
        'outbox') REPLY='-h --help --db --portal --json --no-color -q --quiet -y --yes --actor' ;;
        'outbox list') REPLY='-h --help --db --portal --json --no-color -q --quiet -y --yes --actor' ;;
        'outbox send') REPLY='--include-failed --eml -h --help --db --portal --json --no-color -q --quiet -y --yes --actor' ;;
        'outbox help') REPLY='--db --portal --json --no-color -q --quiet -y --yes --actor' ;;
        'audit') REPLY='--user --since --limit -h --help --db --portal --json --no-color -q --quiet -y --yes --actor' ;;
        'events') REPLY='--since --follow --type --retry-dead -h --help --db --portal --json --no-color -q --quiet -y --yes --actor' ;;
        'store') REPLY='-h --help --db --portal --json --no-color -q --quiet -y --yes --actor' ;;
        'store copy') REPLY='--to -h --help --db --portal --json --no-color -q --quiet -y --yes --actor' ;;
        'store help') REPLY='--db --portal --json --no-color -q --quiet -y --yes --actor' ;;
        'doctor') REPLY='-h --help --db --portal --json --no-color -q --quiet -y --yes --actor' ;;
        'config') REPLY='-h --help --db --portal --json --no-color -q --quiet -y --yes --actor' ;;
        'completion') REPLY='-h --help --db --portal --json --no-color -q --quiet -y --yes --actor' ;;
        'help') REPLY='--db --portal --json --no-color -q --quiet -y --yes --actor' ;;
        *) REPLY='' ;;
    esac
}

# _portalctl_value PATH OPTION [probe]: 1 if OPTION takes no value; else 0 with REPLY
# the values to offer (maybe none; with probe, not looked up), or 2 for file names.
_portalctl_value() {
    case "$1|$2" in
        '|--db') return 2 ;;
        '|--portal') [[ $3 == probe ]] || _portalctl_dynamic portals; return 0 ;;
        '|--actor') REPLY=''; return 0 ;;
        'users list|--status') REPLY='linked pending expired unlinked'; return 0 ;;
        'users list|--search') REPLY=''; return 0 ;;
        'users list|--sort') REPLY='id name email status expires removal'; return 0 ;;
        'users list|--limit') REPLY=''; return 0 ;;
        'users invite|--email') REPLY=''; return 0 ;;
        'users invite|--first-name') REPLY=''; return 0 ;;
        'users invite|--last-name') REPLY=''; return 0 ;;
        'users invite|--from-csv') return 2 ;;
        'users resend-registration|--email') REPLY=''; return 0 ;;
        'users remove|--status') REPLY='linked pending expired unlinked'; return 0 ;;
        'users access-check|--service') REPLY='nih ims-employee ims'; return 0 ;;
        'users access-check|--account') REPLY=''; return 0 ;;
        'users access-check|--email') REPLY=''; return 0 ;;
        'link|--service') REPLY='nih ims-employee ims'; return 0 ;;
        'link|--account') REPLY=''; return 0 ;;
        'serve|--listen') REPLY=''; return 0 ;;
        'portals add|--name') REPLY=''; return 0 ;;
        'portals add|--url') REPLY=''; return 0 ;;
        'portals add|--admin-email') REPLY=''; return 0 ;;
        'portals add|--register-url') REPLY=''; return 0 ;;
        'portals add|--link-days') REPLY=''; return 0 ;;
        'portals add|--removal-days') REPLY=''; return 0 ;;
        'portals add|--remind-days') REPLY=''; return 0 ;;
        'portals add|--warn-days') REPLY=''; return 0 ;;
        'portals add|--time-zone') REPLY=''; return 0 ;;
        'portals set|--name') REPLY=''; return 0 ;;
        'portals set|--url') REPLY=''; return 0 ;;
        'portals set|--admin-email') REPLY=''; return 0 ;;
        'portals set|--register-url') REPLY=''; return 0 ;;
        'portals set|--link-days') REPLY=''; return 0 ;;
        'portals set|--removal-days') REPLY=''; return 0 ;;
        'portals set|--remind-days') REPLY=''; return 0 ;;
        'portals set|--warn-days') REPLY=''; return 0 ;;
        'portals set|--time-zone') REPLY=''; return 0 ;;
        'audit|--user') [[ $3 == probe ]] || _portalctl_dynamic users; return 0 ;;
        'audit|--since') REPLY=''; return 0 ;;
        'audit|--limit') REPLY=''; return 0 ;;
        'events|--since') REPLY=''; return 0 ;;
        'events|--type') REPLY='invited email_sent email_failed reminded removal_warned link_viewed linked relinked link_failed expired removed'; return 0 ;;
        'store copy|--to') REPLY=''; return 0 ;;
        *'|--db') return 2 ;;
        *'|--portal') [[ $3 == probe ]] || _portalctl_dynamic portals; return 0 ;;
        *'|--actor') REPLY=''; return 0 ;;
        *) return 1 ;;
    esac
}

# _portalctl_arg PATH INDEX: values for the positional argument INDEX (from 0) at a
# leaf: 0 with REPLY, 2 for file names, 3 for an argument with nothing to
# offer, 1 when no argument goes there.
_portalctl_arg() {
    case $1 in
        'users resend-registration')
            case $2 in
            *) [[ $3 == probe ]] || _portalctl_dynamic users; return 0 ;;
            esac ;;
        'users set-removal-days')
            case $2 in
            0) [[ $3 == probe ]] || _portalctl_dynamic users; return 0 ;;
            1) return 3 ;;
            esac ;;
        'users remove')
            case $2 in
            *) [[ $3 == probe ]] || _portalctl_dynamic users; return 0 ;;
            esac ;;
        'users show')
            case $2 in
            0) [[ $3 == probe ]] || _portalctl_dynamic users; return 0 ;;
            esac ;;
        'users whoami-login')
            case $2 in
            0) [[ $3 == probe ]] || _portalctl_dynamic users; return 0 ;;
            esac ;;
        'users help')
            case $2 in
            0) REPLY='list invite resend-registration set-removal-days remove show whoami-login access-check'; return 0 ;;
            esac ;;
        'link')
            case $2 in
            0) return 3 ;;
            esac ;;
        'portals add')
            case $2 in
            0) return 3 ;;
            esac ;;
        'portals set')
            case $2 in
            0) [[ $3 == probe ]] || _portalctl_dynamic portals; return 0 ;;
            esac ;;
        'portals help')
            case $2 in
            0) REPLY='add set list'; return 0 ;;
            esac ;;
        'outbox help')
            case $2 in
            0) REPLY='list send'; return 0 ;;
            esac ;;
        'store help')
            case $2 in
            0) REPLY='copy'; return 0 ;;
            esac ;;
        'completion')
            case $2 in
            0) REPLY='bash zsh fish'; return 0 ;;
            esac ;;
        'help')
            case $2 in
            0) REPLY='users link remind prune serve portals outbox audit events store doctor config completion'; return 0 ;;
            esac ;;
    esac
    return 1
}

# _portalctl_dynamic SOURCE: REPLY is the values the store holds (portals, users)
# that start with $cur, from `portalctl __complete` (read-only, quick, silent),
# for the store and portal this command line names.
_portalctl_dynamic() {
    local i w
    local -a scope=()
    for ((i = 1; i < ${#words[@]}; i++)); do
        w=${words[i]}
        case $w in
            --db | --portal) ((i + 1 < cword)) && scope+=("$w" "${words[i + 1]}") ;;
            --db=* | --portal=*) scope+=("${w%%=*}" "${w#*=}") ;;
        esac
    done
    REPLY=$(command "${words[0]}" __complete "$1" "${scope[@]}" -- "$cur" 2>/dev/null | cut -f1)
}

# Without bash-completion: words with --option=value kept together, like
# _init_completion -s does.
_portalctl_words() {
    local i n=${#COMP_WORDS[@]} w last
    words=()
    cword=0
    for ((i = 0; i < n; i++)); do
        w=${COMP_WORDS[i]}
        last=$((${#words[@]} - 1))
        if [[ $w == = && $last -ge 1 && ${words[last]} == --?* && ${words[last]} != *=* ]]; then
            words[last]+='='
            ((i == COMP_CWORD)) && cword=$last
            if ((i + 1 < n)); then
                ((i++))
                words[last]+=${COMP_WORDS[i]}
                ((i == COMP_CWORD)) && cword=$last
            fi
            continue
        fi
        words+=("$w")
        ((i == COMP_CWORD)) && cword=$((${#words[@]} - 1))
    done
    cur=${words[cword]}
    prev=${words[cword - 1]}
    if [[ $cur == --?*=* ]]; then
        prev=${cur%%=*}
        cur=${cur#*=}
        split=true
    fi
}

# _portalctl_reply CODE: fill COMPREPLY from REPLY (CODE 0) or with file names (CODE 2).
_portalctl_reply() {
    if (($1 == 2)); then
        if declare -F _filedir >/dev/null 2>&1; then
            _filedir
        else
            compopt -o filenames 2>/dev/null
            mapfile -t COMPREPLY < <(compgen -f -- "$cur")
        fi
    elif (($1 == 0)); then
        # Not compgen -W: it expands its word list as the shell would, and the store's values (an
        # address may hold ` or $) are data. Split on white space (no value holds any), match the
        # typed prefix literally (its backslashes taken off), and insert each value quoted.
        local -a values
        local v want=${cur//\\/}
        IFS=$' \t\n' read -r -d '' -a values <<<"$REPLY"
        for v in "${values[@]}"; do
            [[ $v == "$want"* ]] || continue
            printf -v v '%q' "$v"
            COMPREPLY+=("$v")
        done
    fi
    return 0
}

_portalctl() {
    local cur prev words cword split=false REPLY
    COMPREPLY=()
    if declare -F _init_completion >/dev/null 2>&1; then
        _init_completion -s || return 0
    else
        _portalctl_words
    fi

    # Walk the words before the cursor: subcommands deepen the path; options
    # (and the value of one that takes a value) and arguments are skipped.
    local path='' w i nargs=0 skip=0 dd=0
    for ((i = 1; i < cword; i++)); do
        w=${words[i]}
        if ((skip)); then
            skip=0
            continue
        fi
        if ((!dd)); then
            case $w in
                --) dd=1; continue ;;
                --*=*) continue ;;
                -?*)
                    _portalctl_value "$path" "$w" probe
                    (($? != 1)) && skip=1
                    continue
                    ;;
            esac
            if ((nargs == 0)) && _portalctl_sub "$path" "$w"; then
                path=$REPLY
                continue
            fi
        fi
        ((nargs++))
    done

    # The value of an option: --option VALUE or --option=VALUE.
    if ((skip)) || [[ $split == true ]]; then
        _portalctl_value "$path" "$prev"
        _portalctl_reply $?
        return 0
    fi
    if ((!dd)) && [[ $cur == -* ]]; then
        _portalctl_options "$path"
        _portalctl_reply 0
        return 0
    fi
    _portalctl_subcommands "$path"
    if [[ -n $REPLY ]]; then
        ((nargs == 0 && !dd)) && _portalctl_reply 0
        return 0
    fi
    _portalctl_arg "$path" "$nargs"
    local code=$?
    # An argument with nothing to offer: offer nothing.
    ((code == 3)) && return 0
    if ((code == 1)); then
        # No argument goes here: offer the options.
        ((dd)) && return 0
        _portalctl_options "$path"
        code=0
    fi
    _portalctl_reply $code
    return 0
}

complete -F _portalctl portalctl
