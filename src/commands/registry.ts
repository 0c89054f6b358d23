// Every command portalctl has, as static data: where it sits in the tree, what
// it says in --help, its arguments and options, and its examples. The handler
// of a command is imported only when that command runs, so `--help`, a typo,
// or `users list` never load the modules of the others.
//
// To add a command: add an entry here and a file under src/commands/ that
// exports `parse` and `run` (see command.ts); the help test and the
// completion drift test will tell you what else to regenerate.

import type { CommandModule } from './command.js';
import { LOGIN_SERVICES } from '../domain/services.js';

export interface OptionSpec {
  flags: string;
  description: string;
  default?: string;
  /** Values offered by shell completion. */
  choices?: readonly string[];
  /** Shell completion offers file names. */
  file?: boolean;
}

export interface ArgSpec {
  name: string;
  description: string;
  required: boolean;
  variadic?: boolean;
  choices?: readonly string[];
}

export interface NounSpec {
  name: string;
  summary: string;
  group: string;
  examples: string[];
}

export interface CommandSpec {
  /** Words from the program to the command: ['users', 'invite']. */
  path: string[];
  summary: string;
  description: string;
  args?: ArgSpec[];
  options?: OptionSpec[];
  examples: string[];
  /** The help group the command is listed under (top-level commands and noun children). */
  group?: string;
  /** Streams a report that grows with the store (a million rows): run with a heap kept small (runtime/heap.ts). */
  streams?: boolean;
  /** Reads the whole command tree (completion scripts are made from it). */
  wholeTree?: boolean;
  load(): Promise<CommandModule<any>>;
}

const SERVICES = LOGIN_SERVICES.map((s) => s.key);
const STATUSES = ['linked', 'pending', 'expired', 'unlinked'] as const;
const SORTS = ['id', 'name', 'email', 'status', 'expires', 'removal'] as const;
const SHELLS = ['bash', 'zsh', 'fish'] as const;

export const GLOBAL_OPTIONS: (OptionSpec & { hidden?: boolean })[] = [
  {
    flags: '--db <path>',
    description: 'the store: a SQLite file or postgres://… URL; default $PORTALCTL_DB or $XDG_DATA_HOME/portalctl/portalctl.db',
    file: true,
  },
  { flags: '--portal <slug>', description: 'the portal to work on; default $PORTALCTL_PORTAL or the only portal' },
  { flags: '--json', description: 'print one JSON document on stdout' },
  { flags: '--no-color', description: 'no colour (also NO_COLOR=1)' },
  { flags: '-q, --quiet', description: 'print nothing but errors on success' },
  { flags: '-y, --yes', description: 'do not ask for confirmation (required without a terminal)' },
  { flags: '--actor <name>', description: 'who the audit trail records (default: the OS user)' },
  { flags: '--debug', description: 'show stack traces of internal errors', hidden: true },
  { flags: '-V, --version', description: "print the versions of portalctl, Node.js and SQLite, and the store's migration level (JSON with --json)" },
];

export const NOUNS: NounSpec[] = [
  {
    name: 'users',
    summary: 'the Users overview: invite, send new registrations, look users up',
    group: 'Registration:',
    examples: [
      'portalctl users invite --email jane.doe@example.org --first-name Jane --last-name Doe',
      'portalctl users list --status expired',
      'portalctl users resend-registration jane.doe@example.org',
      'portalctl users whoami-login jane.doe@example.org',
    ],
  },
  {
    name: 'portals',
    summary: 'create and configure portals',
    group: 'Administration:',
    examples: [
      'portalctl portals add grants --name "Grants Portal" --url https://grants.example.org --admin-email admin@example.org',
      'portalctl portals set grants --removal-days 45',
    ],
  },
  { name: 'outbox', summary: 'emails waiting for delivery', group: 'Administration:', examples: ['portalctl outbox list', 'portalctl outbox send'] },
  {
    name: 'store',
    summary: 'the store itself: copy it to another store',
    group: 'Administration:',
    examples: ['portalctl store copy --to postgres://portalctl@db.example.org/portalctl'],
  },
];

const PORTAL_SETTINGS = (defaults: boolean): OptionSpec[] => [
  { flags: '--name <name>', description: 'display name, e.g. "Grants Portal"' },
  { flags: '--url <url>', description: 'base URL of the portal; Step 2 links point here' },
  { flags: '--admin-email <address>', description: 'Site Administrator contact (Reply-To of the emails)' },
  { flags: '--register-url <url>', description: 'IMS Login Service registration form for Step 1 (default: URL/register)' },
  { flags: '--link-days <days>', description: 'days a Step 2 link stays valid', ...(defaults ? { default: '7' } : {}) },
  { flags: '--removal-days <days>', description: 'days until an unlinked profile is removed', ...(defaults ? { default: '30' } : {}) },
  { flags: '--remind-days <list>', description: 'days after the registration email to send reminders ("0" for none)', ...(defaults ? { default: '2,5' } : {}) },
  { flags: '--warn-days <days>', description: 'days before removal to send a removal warning (0 for none)', ...(defaults ? { default: '7' } : {}) },
  { flags: '--time-zone <zone>', description: `IANA zone the emails state times in (default: this machine's${defaults ? '' : '; "" to unset'})` },
];

export const COMMANDS: CommandSpec[] = [
  // ---------------------------------------------------------------- users
  {
    path: ['users', 'list'],
    streams: true,
    summary: 'the Users overview',
    description: 'The Users overview: every user of the portal with their Username/ID (Login Service), status, link expiry and removal countdown.',
    options: [
      { flags: '--status <status>', description: 'only linked, pending (link valid), expired (link expired) or unlinked users', choices: STATUSES },
      { flags: '--search <text>', description: 'only users whose name, email or username contains TEXT (any case)' },
      { flags: '--sort <column>', description: `order by ${SORTS.join(', ')} (default id)`, choices: SORTS },
      { flags: '--limit <n>', description: 'at most N users (a terminal shows 500 unless told; piped, --json and --csv show all)' },
      { flags: '--csv', description: 'CSV for spreadsheets (RFC 4180, ISO times)' },
    ],
    examples: [
      'portalctl users list',
      'portalctl users list --status expired --sort expires',
      'portalctl users list --search doe --json',
      'portalctl users list --csv > users.csv',
    ],
    load: () => import('./users/list.js'),
  },
  {
    path: ['users', 'invite'],
    summary: 'invite people and send their registration emails',
    description: 'Create an unlinked user and send the registration email (Step 1: register for an IMS Login Service account; Step 2: the unique link).',
    options: [
      { flags: '--email <address>', description: "the person's email address" },
      { flags: '--first-name <name>', description: 'first name' },
      { flags: '--last-name <name>', description: 'last name' },
      { flags: '--from-csv <file>', description: 'invite everyone in a CSV file with the columns email, first name, last name', file: true },
    ],
    examples: ['portalctl users invite --email jane.doe@example.org --first-name Jane --last-name Doe', 'portalctl users invite --from-csv people.csv --yes'],
    load: () => import('./users/invite.js'),
  },
  {
    path: ['users', 'resend-registration'],
    summary: 'Send New Registration: a new email with a new link and expiry',
    description:
      "Send New Registration: email the user a new Step 2 link with a new expiry date; every earlier link of the user stops working.\nWith --email the email goes to a new address, which becomes the user's address. A linked user stays linked until the new link is used — that is how a person switches login service.\nThe removal date is not changed (see `users set-removal-days`).",
    args: [{ name: 'users', description: 'user ids or email addresses', required: false, variadic: true }],
    options: [
      { flags: '--email <address>', description: "send to this address instead, and make it the user's address" },
      { flags: '--all-expired', description: 'every unlinked user whose link has expired' },
    ],
    examples: [
      'portalctl users resend-registration jane.doe@example.org',
      'portalctl users resend-registration 42 --email jane@new-institute.org',
      'portalctl users resend-registration --all-expired --yes',
    ],
    load: () => import('./users/resend-registration.js'),
  },
  {
    path: ['users', 'set-removal-days'],
    summary: "restart an unlinked user's removal countdown",
    description: "Reset the number of days until account removal: the unlinked user's profile is removed DAYS days from now unless linked first.",
    args: [
      { name: 'user', description: 'user id or email address', required: true },
      { name: 'days', description: 'whole number of days from now (0 or more)', required: true },
    ],
    examples: ['portalctl users set-removal-days jane.doe@example.org 30'],
    load: () => import('./users/set-removal-days.js'),
  },
  {
    path: ['users', 'remove'],
    streams: true,
    summary: 'remove profiles now (a mistyped invitation, a person who left)',
    description:
      'Remove portal user profiles now; every link of theirs stops working at once. Linked users only with --include-linked.\nSelect users by id or address, or every unlinked user with a status (--status expired), and try it with --dry-run first.',
    args: [{ name: 'users', description: 'user ids or email addresses', required: false, variadic: true }],
    options: [
      {
        flags: '--status <status>',
        description: 'every user with this status: pending, expired or unlinked (linked with --include-linked)',
        choices: STATUSES,
      },
      { flags: '--include-linked', description: 'also remove users who have linked an account' },
      { flags: '--dry-run', description: 'show who would be removed, change nothing' },
    ],
    examples: [
      'portalctl users remove jane.doe@example.org',
      'portalctl users remove --status pending --dry-run',
      'portalctl users remove 42 --include-linked --yes',
    ],
    load: () => import('./users/remove.js'),
  },
  {
    path: ['users', 'show'],
    summary: 'one user in full: registrations, link views, link attempts, account changes',
    description:
      'Everything about one user: each registration email (address, sent, expiry, state), each time the Step 2 link was opened (when, from where, which browser), each link attempt and its outcome, and each change of login account.',
    args: [{ name: 'user', description: 'user id or email address', required: true }],
    examples: ['portalctl users show jane.doe@example.org', 'portalctl users show 42 --json'],
    load: () => import('./users/show.js'),
  },
  {
    path: ['users', 'whoami-login'],
    summary: "helpdesk: a user's Username/ID (Login Service)",
    description:
      'Show the user\'s Username/ID (Login Service), e.g. "jdoe (NIH Network Login)". USER is an id, an email address, or part of a name (every match is shown).',
    args: [{ name: 'user', description: 'user id, email address or name', required: true }],
    group: 'Helpdesk:',
    examples: ['portalctl users whoami-login jane.doe@example.org', 'portalctl users whoami-login "Jane Doe"'],
    load: () => import('./users/whoami-login.js'),
  },
  {
    path: ['users', 'access-check'],
    summary: 'helpdesk: why does this account get "Access Denied"?',
    description:
      'The "Access Denied" diagnosis: is this login-service account linked to a user of the portal? If not, show the candidate users with their registration state and what the Site Administrator should do next.',
    options: [
      { flags: '--service <key>', description: `login service the person signed in with: ${SERVICES.join(', ')}`, choices: SERVICES },
      { flags: '--account <username>', description: 'the username they signed in with' },
      { flags: '--email <address>', description: "the person's email address, to find their profile" },
    ],
    group: 'Helpdesk:',
    examples: ['portalctl users access-check --service nih --account jdoe --email jane.doe@example.org'],
    load: () => import('./users/access-check.js'),
  },
  // ---------------------------------------------------------------- registration
  {
    path: ['link'],
    summary: 'Step 2: link a login-service account with a registration link',
    description:
      'Step 2 of the registration email: redeem the link (the full URL, the bare token, or "-" to read it from standard input) with a login-service account.\nFails with link_expired, link_malformed, link_unknown, link_superseded, link_used or account_in_use, each saying what to do next.',
    args: [{ name: 'url-or-token', description: 'the Step 2 link from the registration email, or - to read it from standard input', required: true }],
    options: [
      { flags: '--service <key>', description: `login service: ${SERVICES.join(', ')}`, choices: SERVICES },
      { flags: '--account <username>', description: 'the username at that login service' },
    ],
    group: 'Registration:',
    examples: [
      "portalctl link 'https://grants.example.org/register/link?token=…' --service nih --account jdoe",
      'portalctl link - --service nih --account jdoe < link.txt',
    ],
    load: () => import('./link.js'),
  },
  {
    path: ['remind'],
    summary: 'send the reminders and removal warnings that are due',
    description:
      "The nightly companion of prune: sends an unlinked person with a valid link a reminder on the portal's --remind-days (a working Step 2 link, same expiry), and a removal warning --warn-days before their removal date. Each at most once per registration. Without a terminal it needs --yes.",
    options: [{ flags: '--dry-run', description: 'show who would get what, send nothing' }],
    group: 'Registration:',
    examples: ['portalctl remind --dry-run', 'portalctl remind --yes --quiet        # nightly, from cron'],
    load: () => import('./remind.js'),
  },
  {
    path: ['prune'],
    streams: true,
    summary: 'remove unlinked users past their removal date',
    description:
      'Remove portal user profiles that were never linked and whose removal date has passed.\nNever removes a linked user, nor one whose Step 2 link is still valid. Without a terminal it needs --yes.',
    options: [{ flags: '--dry-run', description: 'show who would be removed, change nothing' }],
    group: 'Registration:',
    examples: ['portalctl prune --dry-run', 'portalctl prune --yes --quiet        # nightly, from cron'],
    load: () => import('./prune.js'),
  },
  {
    path: ['serve'],
    summary: 'the Step 2 web page and the access API',
    description:
      'Answer the Step 2 links of every portal in the store (a reverse proxy maps each portal\'s /register/ here), sign people in with their login service, and answer the portal\'s access checks at /api/v1/access. Login services come from the config file ("services"). SIGTERM finishes the requests in flight and exits 0.',
    options: [{ flags: '--listen <host:port>', description: 'address to listen on (default serve.listen from the config file, or 127.0.0.1:8080)' }],
    group: 'Registration:',
    examples: ['portalctl serve --listen 127.0.0.1:8080'],
    load: () => import('./serve.js'),
  },
  // ---------------------------------------------------------------- administration
  {
    path: ['portals', 'add'],
    summary: 'create a portal',
    description: 'Create a portal: its slug, display name, base URL and Site Administrator contact.',
    args: [{ name: 'slug', description: 'short name used with --portal, e.g. grants', required: true }],
    options: PORTAL_SETTINGS(true),
    examples: ['portalctl portals add grants --name "Grants Portal" --url https://grants.example.org --admin-email admin@example.org'],
    load: () => import('./portals/add.js'),
  },
  {
    path: ['portals', 'set'],
    summary: "change a portal's settings",
    description:
      "Change a portal's settings, such as its link lifetime, removal period and reminder schedule.\nNew periods apply to invitations and registrations made from now on; use `users set-removal-days` for one user.",
    args: [{ name: 'slug', description: 'the portal', required: true }],
    options: PORTAL_SETTINGS(false),
    examples: [
      'portalctl portals set grants --removal-days 45',
      'portalctl portals set grants --link-days 14 --time-zone America/New_York',
      'portalctl portals set grants --remind-days 0',
    ],
    load: () => import('./portals/set.js'),
  },
  {
    path: ['portals', 'list'],
    summary: 'list portals',
    description: 'List the portals in the store with their settings.',
    examples: ['portalctl portals list', 'portalctl portals list --json'],
    load: () => import('./portals/list.js'),
  },
  {
    path: ['outbox', 'list'],
    summary: 'emails not yet delivered',
    description: 'List queued (waiting for a retry) and failed (refused by the mail server) emails.',
    examples: ['portalctl outbox list', 'portalctl outbox list --json'],
    load: () => import('./outbox/list.js'),
  },
  {
    path: ['outbox', 'send'],
    summary: 'retry delivery of queued emails',
    description: 'Retry queued emails, oldest first. Each retry of a registration email carries a fresh Step 2 link that replaces the undelivered one.',
    options: [
      { flags: '--include-failed', description: 'also retry emails the mail server refused (after fixing the cause)' },
      { flags: '--eml', description: 'with no mail server set (PORTALCTL_SMTP_URL unset), write the queued emails as .eml files' },
    ],
    examples: [
      'portalctl outbox send',
      'portalctl outbox send --include-failed',
      'portalctl outbox send --eml    # the .eml default: write what an interrupted run left queued',
    ],
    load: () => import('./outbox/send.js'),
  },
  {
    path: ['audit'],
    streams: true,
    summary: 'the audit trail, newest first',
    description:
      'Every change — invite, resend-registration, set-removal-days, link, relink, prune, remove, portal changes — with when, who, and the values before and after.',
    options: [
      { flags: '--user <user>', description: 'only this user (id or email address; also works for removed users)' },
      { flags: '--since <when>', description: 'only changes since then: 2026-11-01, yesterday, 7d, 12h' },
      { flags: '--limit <n>', description: 'at most N records' },
    ],
    group: 'Administration:',
    examples: ['portalctl audit --user jane.doe@example.org', 'portalctl audit --since 7d', 'portalctl audit --since 2026-11-01 --json'],
    load: () => import('./audit.js'),
  },
  {
    path: ['events'],
    streams: true,
    summary: 'the lifecycle event log, oldest first',
    description:
      'Every lifecycle event (invited, email_sent, email_failed, reminded, removal_warned, link_viewed, linked, relinked, link_failed, expired, removed) with its id, the cursor for --since, oldest first. --follow keeps printing new ones (one JSON object per line with --json) until Ctrl-C. Also shows the webhook deliveries still pending or dead.',
    options: [
      { flags: '--since <cursor>', description: 'only events after this event id' },
      { flags: '--follow', description: 'keep printing new events as they happen' },
      { flags: '--type <types>', description: 'only these event types (comma-separated)' },
      { flags: '--retry-dead', description: 'queue the webhook deliveries that gave up again (after fixing the receiver)' },
    ],
    group: 'Administration:',
    examples: ['portalctl events --since 1200 --json', 'portalctl events --follow --json | jq .type', 'portalctl events --type linked,removed'],
    load: () => import('./events.js'),
  },
  {
    path: ['store', 'copy'],
    summary: 'copy the whole store to another store (SQLite ⇄ PostgreSQL)',
    description:
      'Copy every record — portals, users, registrations, link digests, outbox, audit, link attempts and views, events — to an empty store in one transaction, and check the counts. Links keep working on the new store.',
    options: [{ flags: '--to <store>', description: 'the target: a postgres:// URL or a SQLite path' }],
    examples: ['portalctl store copy --to postgres://portalctl@db.example.org/portalctl', 'portalctl --db postgres://… store copy --to ./backup.db'],
    load: () => import('./store/copy.js'),
  },
  {
    path: ['doctor'],
    summary: 'check the store, mail delivery, login services, portals and queues',
    description:
      'Check that portalctl is ready to work: the store (where it is, its version, migration level and latency), mail delivery (the SMTP server is reachable and accepts the login — or emails are only written to files), the login services and API tokens of serve, the portals, and the mail and webhook queues. Exits 1 if any check fails.',
    group: 'Administration:',
    examples: ['portalctl doctor', 'portalctl doctor --json'],
    load: () => import('./doctor.js'),
  },
  {
    path: ['config'],
    summary: 'show the effective settings and where each came from',
    description:
      'Show the effective settings (store, default portal, mail, serve) and where each came from: a flag, an environment variable, the config file ($XDG_CONFIG_HOME/portalctl/config.json, or PORTALCTL_CONFIG), or the default. Secrets are masked.',
    group: 'Administration:',
    examples: ['portalctl config', 'portalctl config --json'],
    load: () => import('./config.js'),
  },
  {
    path: ['completion'],
    wholeTree: true,
    summary: 'print a shell completion script (bash, zsh or fish)',
    description: 'Print the completion script for SHELL (bash, zsh or fish) on stdout. The same scripts are kept in completions/ of the package.',
    args: [{ name: 'shell', description: `the shell: ${SHELLS.join(', ')}`, required: true, choices: SHELLS }],
    group: 'Shell:',
    examples: [
      'portalctl completion bash > ~/.local/share/bash-completion/completions/portalctl',
      'portalctl completion zsh > ~/.zfunc/_portalctl      # a directory on $fpath',
      'portalctl completion fish > ~/.config/fish/completions/portalctl.fish',
    ],
    load: () => import('./completion.js'),
  },
];

/** The order top-level entries appear in --help. */
export const TOP_LEVEL_ORDER = ['users', 'link', 'remind', 'prune', 'serve', 'portals', 'outbox', 'audit', 'events', 'store', 'doctor', 'config', 'completion'];
