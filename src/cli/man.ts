// The manual page, man/portalctl.1, written from the command tree — the same
// static data --help and the completions come from — so it cannot drift from
// the commands (scripts/gen-man.mjs writes it; a test compares). Plain man(7)
// macros, ASCII where a terminal might not have the glyph, no date: the same
// tree always gives the same page.

import { COMMANDS, GLOBAL_OPTIONS, NOUNS, TOP_LEVEL_ORDER, type CommandSpec, type OptionSpec } from '../commands/registry.js';
import { VERSION } from './version-number.js';

const GLYPHS: Record<string, string> = { '…': '...', '—': '\\(em', '–': '\\(en', '→': '\\(->', '⇄': '<->', '’': "'", '‘': "'", '“': '\\(lq', '”': '\\(rq' };

/** Text for roff: backslashes and the glyphs escaped, hyphens of options as minus signs, no line starting a request. */
function roff(text: string): string {
  return text
    .replace(/\\/g, '\\e')
    .replace(/[…—–→⇄’‘“”]/g, (c) => GLYPHS[c]!)
    .replace(/(^|[\s(`'"[=|])--?(?=[a-zA-Z])/g, (m) => m.replace(/-/g, '\\-'))
    .split('\n')
    .map((line) => (/^[.']/.test(line) ? `\\&${line}` : line))
    .join('\n');
}

/** `--db <path>` as bold flags and an italic value. */
function flags(o: OptionSpec): string {
  const [names, value] = [o.flags.replace(/\s*[<[].*$/, ''), /[<[]([^>\]]+)[>\]]/.exec(o.flags)?.[1]];
  const bold = names
    .split(/,\s*/)
    .map((f) => `\\fB${f.replace(/-/g, '\\-')}\\fR`)
    .join(', ');
  return value ? `${bold} \\fI${roff(value)}\\fR` : bold;
}

function options(list: readonly OptionSpec[]): string[] {
  return list.flatMap((o) => ['.TP', flags(o), `${roff(o.description)}${o.default !== undefined ? ` (default: ${roff(o.default)})` : ''}.`]);
}

function usage(c: CommandSpec): string {
  const args = (c.args ?? []).map((a) => {
    const name = `\\fI${roff(a.name.toUpperCase())}\\fR${a.variadic ? '...' : ''}`;
    return a.required ? name : `[${name}]`;
  });
  return ['\\fBportalctl\\fR', ...c.path.map((w) => `\\fB${w}\\fR`), ...(c.options?.length ? ['[\\fIoptions\\fR]'] : []), ...args].join(' ');
}

function command(c: CommandSpec): string[] {
  const out = [`.SS ${c.path.join(' ')}`, usage(c), '.PP', ...c.description.split('\n').flatMap((p, i) => (i ? ['.PP', roff(p)] : [roff(p)]))];
  for (const a of c.args ?? []) out.push('.TP', `\\fI${roff(a.name.toUpperCase())}\\fR`, `${roff(a.description)}.`);
  out.push(...options(c.options ?? []));
  if (c.examples.length) out.push('.PP', 'Examples:', '.PP', '.RS', '.nf', ...c.examples.map(roff), '.fi', '.RE');
  return out;
}

const ENVIRONMENT: [string, string][] = [
  ['PORTALCTL_DB', 'The store: a SQLite file (default $XDG_DATA_HOME/portalctl/portalctl.db) or a postgres:// URL.'],
  ['PORTALCTL_PORTAL', 'The portal to work on when --portal is not given.'],
  [
    'PORTALCTL_SMTP_URL',
    'smtp://user:pass@host:port or smtps://...; when unset, emails are only written as .eml files to a mail folder beside the store, and every sending command says so.',
  ],
  ['PORTALCTL_SMTP_PASSWORD_FILE', 'A file holding the SMTP password (mode 0600), so the URL need not carry it.'],
  ['PORTALCTL_MAIL_FROM', 'The sender: one address, optionally with a display name: Grants Portal <no-reply@grants.example.org>.'],
  ['PORTALCTL_CONFIG', 'The config file (default $XDG_CONFIG_HOME/portalctl/config.json).'],
  ['PORTALCTL_NOW', 'An ISO 8601 time taken as "now" (tests, reproducible runs); doctor and config say when it is set.'],
  ['NO_COLOR, FORCE_COLOR', 'Colour conventions; --no-color too.'],
];

const EXIT: [string, string][] = [
  ['0', 'Success.'],
  ['1', 'The operation was refused or failed: not found, a link error, the mail server refused a message.'],
  ['2', 'Usage error or invalid input; nothing was changed.'],
  ['75', 'Done, but an email could not be delivered now; it is queued (portalctl outbox send).'],
  ['130', 'Interrupted (Ctrl-C): the email or batch in flight finished, the rest is kept and queued, and the command said how many went and how many wait.'],
];

/** The whole page. */
export function manPage(): string {
  const ordered: CommandSpec[] = [];
  for (const name of TOP_LEVEL_ORDER) {
    const noun = NOUNS.find((n) => n.name === name);
    if (noun) ordered.push(...COMMANDS.filter((c) => c.path.length === 2 && c.path[0] === name));
    else ordered.push(...COMMANDS.filter((c) => c.path.length === 1 && c.path[0] === name));
  }
  const lines = [
    `.\\" Generated from the command tree by scripts/gen-man.mjs (npm run man); do not edit by hand.`,
    `.TH PORTALCTL 1 "" "portalctl ${VERSION}" "User Commands"`,
    // No hyphenation, ragged right: addresses, variables and flags stay whole.
    '.nh',
    '.ad l',
    '.SH NAME',
    'portalctl \\- administer portal user registration for single sign-on',
    '.SH SYNOPSIS',
    '\\fBportalctl\\fR [\\fIglobal options\\fR] \\fIcommand\\fR [\\fIoptions\\fR] [\\fIarguments\\fR]',
    '.br',
    '\\fBportalctl\\fR \\fIcommand\\fR \\fB\\-\\-help\\fR',
    '.SH DESCRIPTION',
    roff(
      'portalctl invites people to a portal by email; each person links a login-service account (NIH Network Login, IMS Employee Login or IMS Login Service) through a single-use, expiring Step 2 link. Administrators send new registration emails, reset removal dates and read the Users overview; a nightly prune removes profiles that were never linked; the helpdesk looks up who is linked with what, and why someone gets "Access Denied".',
    ),
    '.PP',
    roff(
      'Commands that show users print the Users overview: ID, Name, Email, Username/ID (Login Service), Status, Link expires, Removal in. An unlinked user\'s Username/ID cell reads "(This account is not linked)...". On a terminal it is a table fitted to the window; piped, tab-separated text with ISO 8601 UTC times; with --json, one JSON document. Messages and errors go to standard error.',
    ),
    '.SH GLOBAL OPTIONS',
    ...options(GLOBAL_OPTIONS.filter((o) => !o.hidden)),
    '.SH COMMANDS',
    ...ordered.flatMap(command),
    '.SH ENVIRONMENT',
    ...ENVIRONMENT.flatMap(([name, text]) => ['.TP', `\\fB${name}\\fR`, roff(text)]),
    '.SH EXIT STATUS',
    ...EXIT.flatMap(([code, text]) => ['.TP', `\\fB${code}\\fR`, roff(text)]),
    '.SH FILES',
    '.TP',
    '\\fI$XDG_CONFIG_HOME/portalctl/config.json\\fR',
    roff(
      'Settings: db, portal, smtpUrl, smtpPasswordFile, mailFrom, mailDir, services, webhooks, serve. Flags win over the environment, the environment over the file.',
    ),
    '.TP',
    '\\fI$XDG_DATA_HOME/portalctl/portalctl.db\\fR',
    roff('The default store (mode 0600), with the mail folder mail/ beside it.'),
    '.SH SEE ALSO',
    roff('portalctl completion bash|zsh|fish prints a shell completion script; every command takes --help.'),
    '',
  ];
  return lines.join('\n');
}
