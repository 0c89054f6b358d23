// The Users overview (SPEC "The Users overview table"): its columns on a
// terminal (full, and compact for narrow windows), in tab-separated text, and
// in CSV for spreadsheets. JSON is the UserView itself.

import type { UserView } from '../domain/users.js';
import { neutralize } from '../text.js';
import { daysLeft, formatRelative } from '../domain/time.js';
import type { Column, StackedColumns } from './results.js';
import type { Styles } from './styles.js';

/** The Username/ID cell of a user who has not linked an account (FAQ). */
export const NOT_LINKED = '(This account is not linked)...';

/** "jdoe (NIH Network Login)", or the FAQ's "(This account is not linked)...". */
export function usernameCell(u: Pick<UserView, 'loginService' | 'loginServiceName' | 'username'>): string {
  if (!u.loginService || !u.username) return NOT_LINKED;
  return `${u.username} (${u.loginServiceName ?? u.loginService})`;
}

export function removalIn(u: UserView, now: Date): string {
  if (u.status === 'linked' || !u.removalDueAt) return '';
  const d = daysLeft(u.removalDueAt, now);
  return d <= 0 ? 'due now' : `${d} day${d === 1 ? '' : 's'}`;
}

/** The overview's columns, in SPEC's order. */
export function userColumns(now: Date): Column<UserView>[] {
  return [
    { header: 'ID', value: (u) => u.id, kind: 'number' },
    { header: 'Name', value: (u) => `${u.firstName} ${u.lastName}` },
    { header: 'Email', value: (u) => u.email },
    {
      header: 'Username/ID (Login Service)',
      short: 'Username/ID',
      value: (u) => usernameCell(u),
      keep: [0],
      style: (u, text, s) => (u.loginService ? text : s.dim(text)),
    },
    {
      header: 'Status',
      value: (u) => u.status,
      style: (u, text, s) => statusColour(u, s)(text),
    },
    { header: 'Link expires', short: 'Expires', value: (u) => (u.status === 'linked' ? null : u.registrationExpiresAt), kind: 'time', past: 'expired' },
    { header: 'Removal in', short: 'Removal', value: (u) => removalIn(u, now) },
  ];
}

const statusColour = (u: UserView, s: Styles) => (u.status === 'linked' ? s.green : u.status === 'pending' ? s.yellow : s.red);

/** "pending, expires in 6 days" / "expired 2 days ago" / "linked". */
function statusLine(u: UserView, now: Date): string {
  if (u.status === 'linked' || !u.registrationExpiresAt) return u.status;
  const when = formatRelative(u.registrationExpiresAt, now, 'expired');
  return u.status === 'pending' ? `pending, expires ${when}` : when.startsWith('expired') ? when : `expired ${when}`;
}

function usernameStatus(u: UserView, now: Date): string[] {
  const removal = removalIn(u, now);
  return [usernameCell(u), statusLine(u, now), ...(removal ? [removal === 'due now' ? 'removal due now' : `removal in ${removal}`] : [])];
}

/**
 * The overview on a narrow terminal (about 50 to 100 columns): the same
 * fields, three columns wide — the name above the address, and the
 * Username/ID (Login Service) above the status, the link's expiry and the
 * removal countdown — so the FAQ's "(This account is not linked)..." keeps
 * its line and a user takes two or three lines instead of a nine-line record.
 */
export function stackedUserColumns(now: Date): StackedColumns<UserView> {
  return [
    { header: 'ID', value: (u) => u.id, kind: 'number' },
    {
      header: 'Name\nEmail',
      value: (u) => `${u.firstName} ${u.lastName}\n${u.email}`,
      // Each field neutralised before the lines are joined: a name may bring no line break of its own.
      tty: (u) => `${neutralize(`${u.firstName} ${u.lastName}`)}\n${neutralize(u.email)}`,
      multiline: true,
    },
    {
      header: 'Username/ID (Login Service)\nStatus',
      multiline: true,
      keep: [0],
      value: (u) => usernameStatus(u, now).join('\n'),
      tty: (u) => usernameStatus(u, now).map(neutralize).join('\n'),
      // Each line its own colour: the account dim when there is none, the status as in the wide table.
      style: (u, text, s, paragraph) => (paragraph === 0 ? (u.loginService ? text : s.dim(text)) : paragraph === 1 ? statusColour(u, s)(text) : text),
    },
  ];
}

/** `users list --csv`: plain fields for spreadsheets (RFC 4180), times in ISO 8601 UTC. */
export const USER_CSV_COLUMNS: [string, (u: UserView) => string | number | null][] = [
  ['id', (u) => u.id],
  ['first_name', (u) => u.firstName],
  ['last_name', (u) => u.lastName],
  ['email', (u) => u.email],
  ['login_service', (u) => u.loginService],
  ['username', (u) => u.username],
  ['status', (u) => u.status],
  ['registration_expires_at', (u) => u.registrationExpiresAt],
  ['removal_due_at', (u) => u.removalDueAt],
  ['linked_at', (u) => u.linkedAt],
  ['created_at', (u) => u.createdAt],
];
