// The sections of `users show` below the user's row, as they are shown: every
// registration email, every opening of the Step 2 link, every link attempt,
// every change of login account. On a narrow terminal the three times of a
// registration stack in one cell, relative to now; piped, they are ISO times.

import { neutralize } from '../text.js';
import { serviceName } from '../domain/services.js';
import { formatRelative } from '../domain/time.js';
import type { Column } from './results.js';

export interface RegistrationRow {
  id: number;
  email: string;
  createdAt: string;
  sentAt: string | null;
  expiresAt: string;
  state: string;
  mail: { state: string; lastError: string | null } | null;
}

export interface LinkViewRow {
  at: string;
  registrationId: number;
  clientAddress: string | null;
  userAgent: string | null;
}

interface Account {
  loginService: string | null;
  username: string | null;
}

export interface LinkAttemptRow extends Account {
  at: string;
  registrationId: number | null;
  outcome: string;
  actor: string;
}

export interface AccountChangeRow {
  at: string;
  actor: string;
  from: Account | null;
  to: Account | null;
}

const account = (a: Account | null) => (a?.loginService ? `${a.username} (${serviceName(a.loginService) ?? a.loginService})` : '(not linked)');
const mailCell = (r: RegistrationRow) => (r.mail ? `${r.mail.state}${r.mail.lastError ? `: ${r.mail.lastError}` : ''}` : '');
const expiry = (relative: string) => (relative.startsWith('link') ? relative : `link expires ${relative}`);

export const registrationColumns: Column<RegistrationRow>[] = [
  { header: 'ID', value: (r) => r.id, kind: 'number' },
  { header: 'Sent to', value: (r) => r.email },
  { header: 'Created', value: (r) => r.createdAt, kind: 'time' },
  { header: 'Sent', value: (r) => r.sentAt, kind: 'time' },
  { header: 'Link expires', short: 'Expires', value: (r) => r.expiresAt, kind: 'time' },
  { header: 'State', value: (r) => r.state },
  { header: 'Mail', value: mailCell },
];

/** On a narrow terminal: the address above the state, the three times above each other. */
export const registrationStacked: Column<RegistrationRow>[] = [
  { header: 'ID', value: (r) => r.id, kind: 'number' },
  {
    header: 'Sent to\nState, mail',
    value: (r) => `${r.email}\n${r.state}${r.mail ? `, ${mailCell(r)}` : ''}`,
    multiline: true,
    tty: (r) => `${neutralize(r.email)}\n${neutralize(`${r.state}${r.mail ? `, ${mailCell(r)}` : ''}`)}`,
  },
  {
    header: 'Created\nSent\nLink expires',
    value: (r) => [r.createdAt, r.sentAt ?? '', r.expiresAt].join('\n'),
    tty: (r, at) =>
      [
        `created ${formatRelative(r.createdAt, at.now)}`,
        r.sentAt ? `sent ${formatRelative(r.sentAt, at.now)}` : 'not sent',
        expiry(formatRelative(r.expiresAt, at.now, 'link expired')),
      ].join('\n'),
    multiline: true,
  },
];

export const linkViewColumns: Column<LinkViewRow>[] = [
  { header: 'Opened', value: (v) => v.at, kind: 'time' },
  { header: 'Registration', short: 'Reg.', value: (v) => v.registrationId, kind: 'number' },
  { header: 'From', value: (v) => v.clientAddress ?? '' },
  { header: 'Browser', value: (v) => v.userAgent ?? '' },
];

export const linkAttemptColumns: Column<LinkAttemptRow>[] = [
  { header: 'At', value: (a) => a.at, kind: 'time' },
  { header: 'Account', value: (a) => account(a) },
  { header: 'Outcome', value: (a) => a.outcome },
  { header: 'By', value: (a) => a.actor },
];

export const accountChangeColumns: Column<AccountChangeRow>[] = [
  { header: 'At', value: (c) => c.at, kind: 'time' },
  { header: 'From', value: (c) => account(c.from) },
  { header: 'To', value: (c) => account(c.to) },
  { header: 'By', value: (c) => c.actor },
];
