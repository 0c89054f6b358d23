// Times are stored as ISO 8601 UTC strings ("2026-11-28T09:00:00.000Z"), which
// sort as text, and shown in local time with the zone named.

import { UsageError } from '../errors.js';

export type Clock = () => Date;

export const DAY_MS = 24 * 60 * 60 * 1000;

const ISO = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/i;

/** Parses a user-supplied ISO 8601 time (PORTALCTL_NOW, --since). Date-only means UTC midnight. */
export function parseIsoTime(raw: string, what: string): Date {
  const value = raw.trim();
  const date = ISO.test(value) ? new Date(/^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value) : new Date(NaN);
  if (Number.isNaN(date.getTime())) {
    throw new UsageError(
      `Invalid ${what} ${JSON.stringify(raw.slice(0, 60))}: give an ISO 8601 time such as 2026-11-28T09:00:00Z.`,
      'invalid_time',
    );
  }
  return date;
}

/** The clock: PORTALCTL_NOW if set (tests, reproducible runs), otherwise the system clock. */
export function clockFromEnv(env: NodeJS.ProcessEnv): Clock {
  const fixed = env.PORTALCTL_NOW;
  if (fixed === undefined || fixed === '') return () => new Date();
  const date = parseIsoTime(fixed, 'PORTALCTL_NOW');
  return () => new Date(date.getTime());
}

export const iso = (d: Date): string => d.toISOString();
export const addDays = (d: Date, days: number): Date => new Date(d.getTime() + days * DAY_MS);

// Building an Intl.DateTimeFormat costs far more than using one, and a bulk
// invite formats an expiry for every email: keep one per zone and style.
const formatters = new Map<string, Intl.DateTimeFormat>();

function parts(date: Date, timeZone: string | undefined, opts: Intl.DateTimeFormatOptions) {
  const key = `${timeZone ?? ''}|${JSON.stringify(opts)}`;
  let fmt = formatters.get(key);
  if (!fmt) {
    fmt = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', ...opts });
    formatters.set(key, fmt);
  }
  return Object.fromEntries(fmt.formatToParts(date).map((p) => [p.type, p.value]));
}

/** "2026-12-05 09:02 EST" — for tables and messages on a terminal. */
export function formatLocal(isoTime: string, timeZone?: string): string {
  const p = parts(new Date(isoTime), timeZone, {
    year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', timeZoneName: 'short',
  });
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute} ${p.timeZoneName}`;
}

/** "Saturday, December 5, 2026 at 09:02 EST (14:02 UTC)" — for the registration email. */
export function formatForEmail(isoTime: string, timeZone?: string): string {
  const date = new Date(isoTime);
  const p = parts(date, timeZone, {
    weekday: 'long', year: 'numeric', month: 'long', day: 'numeric', hour: '2-digit', minute: '2-digit', timeZoneName: 'long',
  });
  const local = `${p.weekday}, ${p.month} ${p.day}, ${p.year} at ${p.hour}:${p.minute} ${p.timeZoneName}`;
  if (p.timeZoneName === 'Coordinated Universal Time') return local;
  const u = parts(date, 'UTC', { month: 'long', day: 'numeric', hour: '2-digit', minute: '2-digit' });
  return `${local} (${u.month} ${u.day}, ${u.hour}:${u.minute} UTC)`;
}

export function isValidTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** Whole days left, rounded up, so a fresh 30-day countdown reads "30 days". */
export function daysLeft(dueIso: string, now: Date): number {
  return Math.ceil((new Date(dueIso).getTime() - now.getTime()) / DAY_MS);
}
