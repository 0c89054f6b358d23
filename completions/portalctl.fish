# fish completion for portalctl.
# Generated from the command tree by `portalctl completion fish`; do not edit by hand.
# Install: copy this file to ~/.config/fish/completions/portalctl.fish

# __fish_portalctl_sub PATH WORD: prints the new path if WORD is a subcommand at PATH.
function __fish_portalctl_sub
    switch "$argv[1]|$argv[2]"
        case '|users'
            echo 'users'
        case '|link'
            echo 'link'
        case '|remind'
            echo 'remind'
        case '|prune'
            echo 'prune'
        case '|serve'
            echo 'serve'
        case '|portals'
            echo 'portals'
        case '|outbox'
            echo 'outbox'
        case '|audit'
            echo 'audit'
        case '|events'
            echo 'events'
        case '|store'
            echo 'store'
        case '|doctor'
            echo 'doctor'
        case '|config'
            echo 'config'
        case '|completion'
            echo 'completion'
        case '|help'
            echo 'help'
        case 'users|list'
            echo 'users list'
        case 'users|invite'
            echo 'users invite'
        case 'users|resend-registration'
            echo 'users resend-registration'
        case 'users|set-removal-days'
            echo 'users set-removal-days'
        case 'users|remove'
            echo 'users remove'
        case 'users|show'
            echo 'users show'
        case 'users|whoami-login'
            echo 'users whoami-login'
        case 'users|access-check'
            echo 'users access-check'
        case 'users|help'
            echo 'users help'
        case 'portals|add'
            echo 'portals add'
        case 'portals|set'
            echo 'portals set'
        case 'portals|list'
            echo 'portals list'
        case 'portals|help'
            echo 'portals help'
        case 'outbox|list'
            echo 'outbox list'
        case 'outbox|send'
            echo 'outbox send'
        case 'outbox|help'
            echo 'outbox help'
        case 'store|copy'
            echo 'store copy'
        case 'store|help'
            echo 'store help'
        case '*'
            return 1
    end
end

# __fish_portalctl_takes_value PATH OPTION: does OPTION take a value (the next word) at PATH?
function __fish_portalctl_takes_value
    switch "$argv[1]|$argv[2]"
        case '|--db' '|--portal' '|--actor'
            return 0
        case 'users list|--status' 'users list|--search' 'users list|--sort' 'users list|--limit'
            return 0
        case 'users invite|--email' 'users invite|--first-name' 'users invite|--last-name' 'users invite|--from-csv'
            return 0
        case 'users resend-registration|--email'
            return 0
        case 'users remove|--status'
            return 0
        case 'users access-check|--service' 'users access-check|--account' 'users access-check|--email'
            return 0
        case 'link|--service' 'link|--account'
            return 0
        case 'serve|--listen'
            return 0
        case 'portals add|--name' 'portals add|--url' 'portals add|--admin-email' 'portals add|--register-url' 'portals add|--link-days' 'portals add|--removal-days' 'portals add|--remind-days' 'portals add|--warn-days' 'portals add|--time-zone'
            return 0
        case 'portals set|--name' 'portals set|--url' 'portals set|--admin-email' 'portals set|--register-url' 'portals set|--link-days' 'portals set|--removal-days' 'portals set|--remind-days' 'portals set|--warn-days' 'portals set|--time-zone'
            return 0
        case 'audit|--user' 'audit|--since' 'audit|--limit'
            return 0
        case 'events|--since' 'events|--type'
            return 0
        case 'store copy|--to'
            return 0
        case '*|--db' '*|--portal' '*|--actor'
            return 0
    end
    return 1
end

# __fish_portalctl_state: "NARGS PATH" for the words before the cursor: the command path
# and how many positional arguments follow it.
function __fish_portalctl_state
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
                __fish_portalctl_takes_value "$path" $w; and set skip 1
                continue
            else if test $nargs = 0; and set next (__fish_portalctl_sub "$path" $w)
                set path $next
                continue
            end
        end
        set nargs (math $nargs + 1)
    end
    echo "$nargs $path"
end

# __fish_portalctl_dynamic SOURCE: the values the store holds (portals, users), each with
# its description, from `portalctl __complete` (read-only, quick, silent), for
# the store and portal this command line names.
function __fish_portalctl_dynamic
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

# __fish_portalctl_at PATH [N | N+]: is the cursor at PATH (after exactly N, or at least N, arguments)?
function __fish_portalctl_at
    set -l state (string split -m 1 ' ' -- (__fish_portalctl_state))
    test "$state[2]" = "$argv[1]"; or return 1
    set -q argv[2]; or return 0
    if string match -q -- '*+' $argv[2]
        test $state[1] -ge (string trim -r -c + -- $argv[2])
    else
        test $state[1] -eq $argv[2]
    end
end

complete -c portalctl -f

# Global options, after any subcommand too.
complete -c portalctl -l db -r -F -d 'the store: a SQLite file or postgres://… URL; default $PORTALCTL_DB or $XDG_DATA_HOME/portalctl/portalctl.db'
complete -c portalctl -l portal -x -a '(__fish_portalctl_dynamic portals)' -d 'the portal to work on; default $PORTALCTL_PORTAL or the only portal'
complete -c portalctl -l json -d 'print one JSON document on stdout'
complete -c portalctl -l no-color -d 'no colour (also NO_COLOR=1)'
complete -c portalctl -s q -l quiet -d 'print nothing but errors on success'
complete -c portalctl -s y -l yes -d 'do not ask for confirmation (required without a terminal)'
complete -c portalctl -l actor -x -d 'who the audit trail records (default: the OS user)'

# portalctl
complete -c portalctl -n "__fish_portalctl_at '' 0" -a 'users' -d 'the Users overview: invite, send new registrations, look users up'
complete -c portalctl -n "__fish_portalctl_at '' 0" -a 'link' -d 'Step 2: link a login-service account with a registration link'
complete -c portalctl -n "__fish_portalctl_at '' 0" -a 'remind' -d 'send the reminders and removal warnings that are due'
complete -c portalctl -n "__fish_portalctl_at '' 0" -a 'prune' -d 'remove unlinked users past their removal date'
complete -c portalctl -n "__fish_portalctl_at '' 0" -a 'serve' -d 'the Step 2 web page and the access API'
complete -c portalctl -n "__fish_portalctl_at '' 0" -a 'portals' -d 'create and configure portals'
complete -c portalctl -n "__fish_portalctl_at '' 0" -a 'outbox' -d 'emails waiting for delivery'
complete -c portalctl -n "__fish_portalctl_at '' 0" -a 'audit' -d 'the audit trail, newest first'
complete -c portalctl -n "__fish_portalctl_at '' 0" -a 'events' -d 'the lifecycle event log, oldest first'
complete -c portalctl -n "__fish_portalctl_at '' 0" -a 'store' -d 'the store itself: copy it to another store'
complete -c portalctl -n "__fish_portalctl_at '' 0" -a 'doctor' -d 'check the store, mail delivery, login services, portals and queues'
complete -c portalctl -n "__fish_portalctl_at '' 0" -a 'config' -d 'show the effective settings and where each came from'
complete -c portalctl -n "__fish_portalctl_at '' 0" -a 'completion' -d 'print a shell completion script (bash, zsh or fish)'
complete -c portalctl -n "__fish_portalctl_at '' 0" -a 'help' -d 'display help for command'
complete -c portalctl -n "__fish_portalctl_at ''" -s V -l version -d 'print the versions of portalctl, Node.js and SQLite, and the store\'s migration level (JSON with --json)'
complete -c portalctl -n "__fish_portalctl_at ''" -s h -l help -d 'show help for a command'

# portalctl users
complete -c portalctl -n "__fish_portalctl_at 'users' 0" -a 'list' -d 'the Users overview'
complete -c portalctl -n "__fish_portalctl_at 'users' 0" -a 'invite' -d 'invite people and send their registration emails'
complete -c portalctl -n "__fish_portalctl_at 'users' 0" -a 'resend-registration' -d 'Send New Registration: a new email with a new link and expiry'
complete -c portalctl -n "__fish_portalctl_at 'users' 0" -a 'set-removal-days' -d 'restart an unlinked user\'s removal countdown'
complete -c portalctl -n "__fish_portalctl_at 'users' 0" -a 'remove' -d 'remove profiles now (a mistyped invitation, a person who left)'
complete -c portalctl -n "__fish_portalctl_at 'users' 0" -a 'show' -d 'one user in full: registrations, link views, link attempts, account changes'
complete -c portalctl -n "__fish_portalctl_at 'users' 0" -a 'whoami-login' -d 'helpdesk: a user\'s Username/ID (Login Service)'
complete -c portalctl -n "__fish_portalctl_at 'users' 0" -a 'access-check' -d 'helpdesk: why does this account get "Access Denied"?'
complete -c portalctl -n "__fish_portalctl_at 'users' 0" -a 'help' -d 'display help for command'
complete -c portalctl -n "__fish_portalctl_at 'users'" -s h -l help -d 'show help for a command'

# portalctl users list
complete -c portalctl -n "__fish_portalctl_at 'users list'" -l status -x -a 'linked pending expired unlinked' -d 'only linked, pending (link valid), expired (link expired) or unlinked users'
complete -c portalctl -n "__fish_portalctl_at 'users list'" -l search -x -d 'only users whose name, email or username contains TEXT (any case)'
complete -c portalctl -n "__fish_portalctl_at 'users list'" -l sort -x -a 'id name email status expires removal' -d 'order by id, name, email, status, expires, removal (default id)'
complete -c portalctl -n "__fish_portalctl_at 'users list'" -l limit -x -d 'at most N users (a terminal shows 500 unless told; piped, --json and --csv show all)'
complete -c portalctl -n "__fish_portalctl_at 'users list'" -l csv -d 'CSV for spreadsheets (RFC 4180, ISO times)'
complete -c portalctl -n "__fish_portalctl_at 'users list'" -s h -l help -d 'show help for a command'

# portalctl users invite
complete -c portalctl -n "__fish_portalctl_at 'users invite'" -l email -x -d 'the person\'s email address'
complete -c portalctl -n "__fish_portalctl_at 'users invite'" -l first-name -x -d 'first name'
complete -c portalctl -n "__fish_portalctl_at 'users invite'" -l last-name -x -d 'last name'
complete -c portalctl -n "__fish_portalctl_at 'users invite'" -l from-csv -r -F -d 'invite everyone in a CSV file with the columns email, first name, last name'
complete -c portalctl -n "__fish_portalctl_at 'users invite'" -s h -l help -d 'show help for a command'

# portalctl users resend-registration
complete -c portalctl -n "__fish_portalctl_at 'users resend-registration'" -l email -x -d 'send to this address instead, and make it the user\'s address'
complete -c portalctl -n "__fish_portalctl_at 'users resend-registration'" -l all-expired -d 'every unlinked user whose link has expired'
complete -c portalctl -n "__fish_portalctl_at 'users resend-registration'" -s h -l help -d 'show help for a command'
complete -c portalctl -n "__fish_portalctl_at 'users resend-registration' 0+" -a '(__fish_portalctl_dynamic users)' -d 'user ids or email addresses'

# portalctl users set-removal-days
complete -c portalctl -n "__fish_portalctl_at 'users set-removal-days'" -s h -l help -d 'show help for a command'
complete -c portalctl -n "__fish_portalctl_at 'users set-removal-days' 0" -a '(__fish_portalctl_dynamic users)' -d 'user id or email address'

# portalctl users remove
complete -c portalctl -n "__fish_portalctl_at 'users remove'" -l status -x -a 'linked pending expired unlinked' -d 'every user with this status: pending, expired or unlinked (linked with --include-linked)'
complete -c portalctl -n "__fish_portalctl_at 'users remove'" -l include-linked -d 'also remove users who have linked an account'
complete -c portalctl -n "__fish_portalctl_at 'users remove'" -l dry-run -d 'show who would be removed, change nothing'
complete -c portalctl -n "__fish_portalctl_at 'users remove'" -s h -l help -d 'show help for a command'
complete -c portalctl -n "__fish_portalctl_at 'users remove' 0+" -a '(__fish_portalctl_dynamic users)' -d 'user ids or email addresses'

# portalctl users show
complete -c portalctl -n "__fish_portalctl_at 'users show'" -s h -l help -d 'show help for a command'
complete -c portalctl -n "__fish_portalctl_at 'users show' 0" -a '(__fish_portalctl_dynamic users)' -d 'user id or email address'

# portalctl users whoami-login
complete -c portalctl -n "__fish_portalctl_at 'users whoami-login'" -s h -l help -d 'show help for a command'
complete -c portalctl -n "__fish_portalctl_at 'users whoami-login' 0" -a '(__fish_portalctl_dynamic users)' -d 'user id, email address or name'

# portalctl users access-check
complete -c portalctl -n "__fish_portalctl_at 'users access-check'" -l service -x -a '(printf "%s\\t%s\\n" "nih" "NIH Network Login" "ims-employee" "IMS Employee Login" "ims" "IMS Login Service")' -d 'login service the person signed in with: nih, ims-employee, ims'
complete -c portalctl -n "__fish_portalctl_at 'users access-check'" -l account -x -d 'the username they signed in with'
complete -c portalctl -n "__fish_portalctl_at 'users access-check'" -l email -x -d 'the person\'s email address, to find their profile'
complete -c portalctl -n "__fish_portalctl_at 'users access-check'" -s h -l help -d 'show help for a command'

# portalctl users help
complete -c portalctl -n "__fish_portalctl_at 'users help' 0" -a 'list invite resend-registration set-removal-days remove show whoami-login access-check'

# portalctl link
complete -c portalctl -n "__fish_portalctl_at 'link'" -l service -x -a '(printf "%s\\t%s\\n" "nih" "NIH Network Login" "ims-employee" "IMS Employee Login" "ims" "IMS Login Service")' -d 'login service: nih, ims-employee, ims'
complete -c portalctl -n "__fish_portalctl_at 'link'" -l account -x -d 'the username at that login service'
complete -c portalctl -n "__fish_portalctl_at 'link'" -s h -l help -d 'show help for a command'

# portalctl remind
complete -c portalctl -n "__fish_portalctl_at 'remind'" -l dry-run -d 'show who would get what, send nothing'
complete -c portalctl -n "__fish_portalctl_at 'remind'" -s h -l help -d 'show help for a command'

# portalctl prune
complete -c portalctl -n "__fish_portalctl_at 'prune'" -l dry-run -d 'show who would be removed, change nothing'
complete -c portalctl -n "__fish_portalctl_at 'prune'" -s h -l help -d 'show help for a command'

# portalctl serve
complete -c portalctl -n "__fish_portalctl_at 'serve'" -l listen -x -d 'address to listen on (default serve.listen from the config file, or 127.0.0.1:8080)'
complete -c portalctl -n "__fish_portalctl_at 'serve'" -s h -l help -d 'show help for a command'

# portalctl portals
complete -c portalctl -n "__fish_portalctl_at 'portals' 0" -a 'add' -d 'create a portal'
complete -c portalctl -n "__fish_portalctl_at 'portals' 0" -a 'set' -d 'change a portal\'s settings'
complete -c portalctl -n "__fish_portalctl_at 'portals' 0" -a 'list' -d 'list portals'
complete -c portalctl -n "__fish_portalctl_at 'portals' 0" -a 'help' -d 'display help for command'
complete -c portalctl -n "__fish_portalctl_at 'portals'" -s h -l help -d 'show help for a command'

# portalctl portals add
complete -c portalctl -n "__fish_portalctl_at 'portals add'" -l name -x -d 'display name, e.g. "Grants Portal"'
complete -c portalctl -n "__fish_portalctl_at 'portals add'" -l url -x -d 'base URL of the portal; Step 2 links point here'
complete -c portalctl -n "__fish_portalctl_at 'portals add'" -l admin-email -x -d 'Site Administrator contact (Reply-To of the emails)'
complete -c portalctl -n "__fish_portalctl_at 'portals add'" -l register-url -x -d 'IMS Login Service registration form for Step 1 (default: URL/register)'
complete -c portalctl -n "__fish_portalctl_at 'portals add'" -l link-days -x -d 'days a Step 2 link stays valid'
complete -c portalctl -n "__fish_portalctl_at 'portals add'" -l removal-days -x -d 'days until an unlinked profile is removed'
complete -c portalctl -n "__fish_portalctl_at 'portals add'" -l remind-days -x -d 'days after the registration email to send reminders ("0" for none)'
complete -c portalctl -n "__fish_portalctl_at 'portals add'" -l warn-days -x -d 'days before removal to send a removal warning (0 for none)'
complete -c portalctl -n "__fish_portalctl_at 'portals add'" -l time-zone -x -d 'IANA zone the emails state times in (default: this machine\'s)'
complete -c portalctl -n "__fish_portalctl_at 'portals add'" -s h -l help -d 'show help for a command'

# portalctl portals set
complete -c portalctl -n "__fish_portalctl_at 'portals set'" -l name -x -d 'display name, e.g. "Grants Portal"'
complete -c portalctl -n "__fish_portalctl_at 'portals set'" -l url -x -d 'base URL of the portal; Step 2 links point here'
complete -c portalctl -n "__fish_portalctl_at 'portals set'" -l admin-email -x -d 'Site Administrator contact (Reply-To of the emails)'
complete -c portalctl -n "__fish_portalctl_at 'portals set'" -l register-url -x -d 'IMS Login Service registration form for Step 1 (default: URL/register)'
complete -c portalctl -n "__fish_portalctl_at 'portals set'" -l link-days -x -d 'days a Step 2 link stays valid'
complete -c portalctl -n "__fish_portalctl_at 'portals set'" -l removal-days -x -d 'days until an unlinked profile is removed'
complete -c portalctl -n "__fish_portalctl_at 'portals set'" -l remind-days -x -d 'days after the registration email to send reminders ("0" for none)'
complete -c portalctl -n "__fish_portalctl_at 'portals set'" -l warn-days -x -d 'days before removal to send a removal warning (0 for none)'
complete -c portalctl -n "__fish_portalctl_at 'portals set'" -l time-zone -x -d 'IANA zone the emails state times in (default: this machine\'s; "" to unset)'
complete -c portalctl -n "__fish_portalctl_at 'portals set'" -s h -l help -d 'show help for a command'
complete -c portalctl -n "__fish_portalctl_at 'portals set' 0" -a '(__fish_portalctl_dynamic portals)' -d 'the portal'

# portalctl portals list
complete -c portalctl -n "__fish_portalctl_at 'portals list'" -s h -l help -d 'show help for a command'

# portalctl portals help
complete -c portalctl -n "__fish_portalctl_at 'portals help' 0" -a 'add set list'

# portalctl outbox
complete -c portalctl -n "__fish_portalctl_at 'outbox' 0" -a 'list' -d 'emails not yet delivered'
complete -c portalctl -n "__fish_portalctl_at 'outbox' 0" -a 'send' -d 'retry delivery of queued emails'
complete -c portalctl -n "__fish_portalctl_at 'outbox' 0" -a 'help' -d 'display help for command'
complete -c portalctl -n "__fish_portalctl_at 'outbox'" -s h -l help -d 'show help for a command'

# portalctl outbox list
complete -c portalctl -n "__fish_portalctl_at 'outbox list'" -s h -l help -d 'show help for a command'

# portalctl outbox send
complete -c portalctl -n "__fish_portalctl_at 'outbox send'" -l include-failed -d 'also retry emails the mail server refused (after fixing the cause)'
complete -c portalctl -n "__fish_portalctl_at 'outbox send'" -l eml -d 'with no mail server set (PORTALCTL_SMTP_URL unset), write the queued emails as .eml files'
complete -c portalctl -n "__fish_portalctl_at 'outbox send'" -s h -l help -d 'show help for a command'

# portalctl outbox help
complete -c portalctl -n "__fish_portalctl_at 'outbox help' 0" -a 'list send'

# portalctl audit
complete -c portalctl -n "__fish_portalctl_at 'audit'" -l user -x -a '(__fish_portalctl_dynamic users)' -d 'only this user (id or email address; also works for removed users)'
complete -c portalctl -n "__fish_portalctl_at 'audit'" -l since -x -d 'only changes since then: 2026-11-01, yesterday, 7d, 12h'
complete -c portalctl -n "__fish_portalctl_at 'audit'" -l limit -x -d 'at most N records'
complete -c portalctl -n "__fish_portalctl_at 'audit'" -s h -l help -d 'show help for a command'

# portalctl events
complete -c portalctl -n "__fish_portalctl_at 'events'" -l since -x -d 'only events after this event id'
complete -c portalctl -n "__fish_portalctl_at 'events'" -l follow -d 'keep printing new events as they happen'
complete -c portalctl -n "__fish_portalctl_at 'events'" -l type -x -a 'invited email_sent email_failed reminded removal_warned link_viewed linked relinked link_failed expired removed' -d 'only these event types (comma-separated)'
complete -c portalctl -n "__fish_portalctl_at 'events'" -l retry-dead -d 'queue the webhook deliveries that gave up again (after fixing the receiver)'
complete -c portalctl -n "__fish_portalctl_at 'events'" -s h -l help -d 'show help for a command'

# portalctl store
complete -c portalctl -n "__fish_portalctl_at 'store' 0" -a 'copy' -d 'copy the whole store to another store (SQLite ⇄ PostgreSQL)'
complete -c portalctl -n "__fish_portalctl_at 'store' 0" -a 'help' -d 'display help for command'
complete -c portalctl -n "__fish_portalctl_at 'store'" -s h -l help -d 'show help for a command'

# portalctl store copy
complete -c portalctl -n "__fish_portalctl_at 'store copy'" -l to -x -d 'the target: a postgres:// URL or a SQLite path'
complete -c portalctl -n "__fish_portalctl_at 'store copy'" -s h -l help -d 'show help for a command'

# portalctl store help
complete -c portalctl -n "__fish_portalctl_at 'store help' 0" -a 'copy'

# portalctl doctor
complete -c portalctl -n "__fish_portalctl_at 'doctor'" -s h -l help -d 'show help for a command'

# portalctl config
complete -c portalctl -n "__fish_portalctl_at 'config'" -s h -l help -d 'show help for a command'

# portalctl completion
complete -c portalctl -n "__fish_portalctl_at 'completion'" -s h -l help -d 'show help for a command'
complete -c portalctl -n "__fish_portalctl_at 'completion' 0" -a 'bash zsh fish' -d 'the shell: bash, zsh, fish'

# portalctl help
complete -c portalctl -n "__fish_portalctl_at 'help' 0" -a 'users link remind prune serve portals outbox audit events store doctor config completion'
