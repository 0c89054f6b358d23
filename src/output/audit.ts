// The audit trail as it is shown: on a terminal, each change in words
// ("email: old@x → new@y", one changed field a line, times in the local zone);
// piped, the before and after values as JSON, whole; with --json, the records.

import { neutralize } from '../text.js';
import { formatLocal, formatRelative } from '../domain/time.js';
import type { AuditRecord } from '../store/types.js';
import type { Column } from './results.js';

/** Field names as an administrator says them. */
const WORDS: Record<string, string> = {
  email: 'email',
  firstName: 'first name',
  lastName: 'last name',
  loginService: 'login service',
  username: 'username',
  removalDueAt: 'removal date',
  registrationExpiresAt: 'link expiry',
  registrationId: 'registration',
  baseUrl: 'URL',
  adminEmail: 'Site Administrator',
  registerUrl: 'Step 1 form',
  linkDays: 'link days',
  removalDays: 'removal days',
  remindDays: 'reminder days',
  warnDays: 'warning days',
  timeZone: 'time zone',
  createdAt: 'created',
};

/** Recorded only before a change (the link a new registration replaced): said as what it was, not as a change to nothing. */
const WAS_ONLY = new Set(['registrationExpiresAt']);

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?Z$/;

/** Fields that hold times (removalDueAt, registrationExpiresAt, createdAt, …): only these are shown in local time — a name that looks like a time stays as typed. */
const isTimeField = (k: string) => k.endsWith('At');

/** A value in words, neutralised: the words keep their own line breaks, so a value may bring none. */
function show(v: unknown, zone: string | undefined, key = ''): string {
  if (v === null || v === undefined) return '(none)';
  if (typeof v === 'string') return zone && isTimeField(key) && ISO_TIME.test(v) ? formatLocal(v, zone) : neutralize(v);
  if (Array.isArray(v) && v.every((x) => typeof x !== 'object')) return v.length ? neutralize(v.join(', ')) : '(none)';
  return neutralize(JSON.stringify(v));
}

const fields = (o: unknown) => (o && typeof o === 'object' && !Array.isArray(o) ? (o as Record<string, unknown>) : {});
const word = (k: string) => WORDS[k] ?? neutralize(k);

/**
 * Before and after in words: a change is one line per changed field
 * ("email: old@x → new@y"); a record made is its fields on one line
 * ("email: …; first name: …"); a record removed starts with "was".
 */
export function changeWords(before: unknown, after: unknown, zone?: string): string {
  const b = fields(before);
  const a = fields(after);
  const listed = (o: Record<string, unknown>) =>
    Object.entries(o)
      .filter(([, v]) => v !== null && v !== undefined)
      .map(([k, v]) => `${word(k)}: ${show(v, zone, k)}`)
      .join('; ');
  if (!before && after) return listed(a);
  if (before && !after) return `was ${listed(b)}`;
  return [...new Set([...Object.keys(b), ...Object.keys(a)])]
    .filter((k) => JSON.stringify(b[k]) !== JSON.stringify(a[k]))
    .map((k) => (WAS_ONLY.has(k) && !(k in a) ? `${word(k)} was ${show(b[k], zone, k)}` : `${word(k)}: ${show(b[k], zone, k)} → ${show(a[k], zone, k)}`))
    .join('\n');
}

export const AUDIT_COLUMNS: Column<AuditRecord>[] = [
  { header: 'When', value: (r) => r.at, kind: 'time' },
  { header: 'Who', value: (r) => r.actor },
  { header: 'Action', value: (r) => r.action },
  { header: 'Portal', value: (r) => r.portal ?? '' },
  { header: 'User', value: (r) => (r.userId === null ? '' : `${r.userId} ${r.userEmail ?? ''}`.trim()) },
  { header: 'Before', value: (r) => (r.before === null ? '' : JSON.stringify(r.before)), only: 'piped' },
  { header: 'After', value: (r) => (r.after === null ? '' : JSON.stringify(r.after)), only: 'piped' },
  {
    header: 'Change',
    value: (r) => changeWords(r.before, r.after),
    tty: (r, at) => changeWords(r.before, r.after, at.zone),
    multiline: true,
    only: 'terminal',
  },
];

/** The trail on a narrow terminal: when, who and what above each other, the user above the portal, and the change. */
export const AUDIT_STACKED: Column<AuditRecord>[] = [
  {
    header: 'When\nWho\nAction',
    value: (r) => `${r.at}\n${r.actor}\n${r.action}`,
    tty: (r, at) => [formatRelative(r.at, at.now), r.actor, r.action].map(neutralize).join('\n'),
    multiline: true,
  },
  {
    header: 'User\nPortal',
    value: (r) => `${r.userId ?? ''} ${r.userEmail ?? ''}\n${r.portal ?? ''}`,
    tty: (r) => [r.userId === null ? '' : `${r.userId} ${r.userEmail ?? ''}`.trim(), r.portal ?? ''].map(neutralize).join('\n'),
    multiline: true,
  },
  { header: 'Change', value: (r) => changeWords(r.before, r.after), tty: (r, at) => changeWords(r.before, r.after, at.zone), multiline: true },
];
