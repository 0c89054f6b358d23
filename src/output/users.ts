// The Users overview (SPEC "The Users overview table"): its columns on a
// terminal (full, and compact for narrow windows), in tab-separated text, and
// in CSV for spreadsheets. JSON is the UserView itself.

import type { UserView } from '../domain/users.js';
import { daysLeft } from '../domain/time.js';
import type { Column } from './results.js';

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
      style: (u, text, s) => (u.loginService ? text : s.dim(text)),
    },
    {
      header: 'Status',
      value: (u) => u.status,
      style: (u, text, s) => (u.status === 'linked' ? s.green(text) : u.status === 'pending' ? s.yellow(text) : s.red(text)),
    },
    { header: 'Link expires', short: 'Expires', value: (u) => (u.status === 'linked' ? null : u.registrationExpiresAt), kind: 'time' },
    { header: 'Removal in', short: 'Removal', value: (u) => removalIn(u, now) },
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
