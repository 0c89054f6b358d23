// Times are stored as ISO 8601 UTC strings ("2026-11-28T09:00:00.000Z"), which
// sort as text, and shown in local time with the zone named. The clock is read
// once per run (the context's `now`); below the command an instant is passed,
// never a clock.

import { realpathSync } from 'node:fs';
import { UsageError } from '../errors.js';
import { quote } from '../text.js';

export const DAY_MS = 24 * 60 * 60 * 1000;

const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?)?$/i;

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/**
 * Parses an ISO 8601 time given by a person (PORTALCTL_NOW, --since). A date
 * alone means UTC midnight. Impossible dates (February 30) and years past 9999
 * are refused rather than rolled over.
 */
export function parseIsoTime(raw: string, what: string): Date {
  const value = raw.trim();
  const m = ISO.exec(value);
  const bad = () => new UsageError(`Invalid ${what} ${quote(raw, 60)}: give an ISO 8601 time such as 2026-11-28T09:00:00Z.`, 'invalid_time');
  if (!m) throw bad();
  const [, y, mo, d, h = '00', mi = '00', s = '00'] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  if (year < 1970 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) || Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) throw bad();
  const date = new Date(m[4] === undefined ? `${value}T00:00:00Z` : value.replace(' ', 'T'));
  if (Number.isNaN(date.getTime()) || date.getUTCFullYear() > 9999) throw bad();
  return date;
}

/** "now" for this run: PORTALCTL_NOW if set (tests, reproducible runs), else the system clock. */
export function clockFromEnv(env: NodeJS.ProcessEnv): () => Date {
  const fixed = env.PORTALCTL_NOW;
  if (fixed === undefined || fixed === '') return () => new Date();
  const date = parseIsoTime(fixed, 'PORTALCTL_NOW');
  return () => new Date(date.getTime());
}

/**
 * --since: an ISO date or time, "yesterday", "today", or a span back from now
 * ("7d", "12h", "30m", "2w").
 */
export function parseSince(raw: string, now: Date, zone: string): Date {
  const value = raw.trim().toLowerCase();
  const span = /^(\d{1,5})\s*(m|min|h|d|w)$/.exec(value);
  if (span) {
    const unit = { m: 60_000, min: 60_000, h: 3_600_000, d: DAY_MS, w: 7 * DAY_MS }[span[2] as 'm'];
    return new Date(now.getTime() - Number(span[1]) * unit);
  }
  if (value === 'today' || value === 'yesterday') {
    const midnight = startOfLocalDay(now, zone);
    return value === 'today' ? midnight : startOfLocalDay(new Date(midnight.getTime() - 1), zone);
  }
  try {
    const at = parseIsoTime(raw, '--since');
    // A date alone is that day as the reader's clock has it, as "today" and "yesterday" are.
    if (/^\d{4}-\d{2}-\d{2}$/.test(value)) return localMidnight(at.getUTCFullYear(), at.getUTCMonth() + 1, at.getUTCDate(), zone);
    return at;
  } catch {
    throw new UsageError(
      `Invalid --since ${quote(raw, 60)}: give a date (2026-11-01), a time (2026-11-01T09:00:00Z), "yesterday", "today", or a span such as 7d, 12h or 2w.`,
      'invalid_time',
    );
  }
}

const WALL_CLOCK: Intl.DateTimeFormatOptions = { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' };

/** How far `zone`'s clocks are ahead of UTC at the instant `t` (ms). */
function offsetAt(t: number, zone: string): number {
  const p = parts(new Date(t), zone, WALL_CLOCK);
  return Date.UTC(Number(p.year), Number(p.month) - 1, Number(p.day), Number(p.hour), Number(p.minute), Number(p.second)) - Math.floor(t / 1000) * 1000;
}

/**
 * The first instant of a calendar day in `zone`: its midnight, found by the zone's offset then — not
 * by going back the hours the clock shows, which is an hour off on the days the clocks change. Where
 * midnight itself is skipped (clocks that change at midnight), the first hour that exists.
 */
function localMidnight(year: number, month: number, day: number, zone: string): Date {
  const wall = Date.UTC(year, month - 1, day);
  let t = wall - offsetAt(wall, zone);
  t = wall - offsetAt(t, zone);
  const p = parts(new Date(t), zone, WALL_CLOCK);
  // Skipped midnight: t fell on the day before; the day starts where the clocks jumped.
  if (Number(p.day) !== day) t += DAY_MS - (Number(p.hour) * 3600 + Number(p.minute) * 60 + Number(p.second)) * 1000;
  return new Date(t);
}

/** Midnight at the start of the day `at` falls on, in `zone`. */
function startOfLocalDay(at: Date, zone: string): Date {
  const p = parts(at, zone, WALL_CLOCK);
  return localMidnight(Number(p.year), Number(p.month), Number(p.day), zone);
}

/**
 * A time as it is stored. Stored times are compared as text, which holds only
 * for four-digit years: "+010000-01-01…" sorts before "2026-…". A time past
 * 9999 (PORTALCTL_NOW near the end of 9999 plus a link lifetime) is refused
 * rather than stored, so the transaction that needed it changes nothing.
 */
export function iso(d: Date): string {
  const year = d.getUTCFullYear();
  if (Number.isNaN(year) || year < 0 || year > 9999) {
    throw new UsageError(
      `A time outside the years 0–9999 cannot be recorded (is PORTALCTL_NOW set near the end of 9999?); nothing was changed.`,
      'invalid_time',
    );
  }
  return d.toISOString();
}
export const addDays = (d: Date, days: number): Date => new Date(d.getTime() + days * DAY_MS);

// Building an Intl.DateTimeFormat costs far more than using one, and a bulk
// invite formats an expiry for every email: keep one per zone and style.
const formatters = new Map<string, Intl.DateTimeFormat>();

function parts(date: Date, timeZone: string, opts: Intl.DateTimeFormatOptions): Record<string, string> {
  const key = `${timeZone}|${JSON.stringify(opts)}`;
  let fmt = formatters.get(key);
  if (!fmt) {
    fmt = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', ...opts });
    formatters.set(key, fmt);
  }
  const out: Record<string, string> = {};
  for (const p of fmt.formatToParts(date)) out[p.type] = p.value;
  return out;
}

/** "2026-12-05 09:02 EST" — for tables and messages. */
export function formatLocal(isoTime: string, timeZone: string): string {
  const p = parts(new Date(isoTime), timeZone, {
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    timeZoneName: 'short',
  });
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute} ${p.timeZoneName}`;
}

// A bulk send states the same expiry and removal date in every email: each is
// worked out once. Bounded, since a server runs for months.
const emailTimes = new Map<string, string>();

/** "Saturday, December 5, 2026 at 09:02 Eastern Standard Time (December 5, 14:02 UTC)" — for emails and web pages. */
export function formatForEmail(isoTime: string, timeZone: string): string {
  const key = `${timeZone}|${isoTime}`;
  let text = emailTimes.get(key);
  if (text === undefined) {
    if (emailTimes.size >= 1000) emailTimes.clear();
    emailTimes.set(key, (text = formatForEmailUncached(isoTime, timeZone)));
  }
  return text;
}

function formatForEmailUncached(isoTime: string, timeZone: string): string {
  const date = new Date(isoTime);
  const p = parts(date, timeZone, {
    weekday: 'long',
    year: 'numeric',
    month: 'long',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    timeZoneName: 'long',
  });
  const local = `${p.weekday}, ${p.month} ${p.day}, ${p.year} at ${p.hour}:${p.minute} ${p.timeZoneName}`;
  if (p.timeZoneName === 'Coordinated Universal Time') return local;
  const u = parts(date, 'UTC', { month: 'long', day: 'numeric', hour: '2-digit', minute: '2-digit' });
  return `${local} (${u.month} ${u.day}, ${u.hour}:${u.minute} UTC)`;
}

/** "December 28, 2026" in the zone — a removal date, where the hour would be noise. */
export function formatDate(isoTime: string, timeZone: string): string {
  const p = parts(new Date(isoTime), timeZone, { year: 'numeric', month: 'long', day: 'numeric' });
  return `${p.month} ${p.day}, ${p.year}`;
}

/** "in 6 days", "2 hours ago" — beside the absolute time on a terminal; with `past` = "expired": "expired 2 days ago". */
export function formatRelative(isoTime: string, now: Date, past?: string): string {
  const ms = new Date(isoTime).getTime() - now.getTime();
  const abs = Math.abs(ms);
  const [n, unit] =
    abs < 60_000
      ? [0, 'now']
      : abs < 3_600_000
        ? [Math.round(abs / 60_000), 'minute']
        : abs < DAY_MS
          ? [Math.round(abs / 3_600_000), 'hour']
          : abs < 60 * DAY_MS
            ? [Math.round(abs / DAY_MS), 'day']
            : [Math.round(abs / (30 * DAY_MS)), 'month'];
  // At the very moment (ms 0) a link is expired (status expired): said so, as a moment later.
  if (unit === 'now') return past && ms <= 0 ? `${past} just now` : 'just now';
  const text = `${n} ${unit}${n === 1 ? '' : 's'}`;
  return ms >= 0 ? `in ${text}` : `${past ? `${past} ` : ''}${text} ago`;
}

export function isValidTimeZone(tz: string): boolean {
  if (!/^[A-Za-z][A-Za-z0-9_+\-/]*$/.test(tz)) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

export function parseTimeZone(raw: string, what = 'time zone'): string {
  const value = raw.trim();
  if (!isValidTimeZone(value)) throw new UsageError(`Unknown ${what} ${quote(raw)}; use an IANA name such as America/New_York or UTC.`, 'invalid_time_zone');
  return value;
}

/**
 * TZ=:/etc/localtime (a common setting in containers and systemd units) names a
 * zone file, not a zone: the zone is where the file leads in a zoneinfo tree
 * (/usr/share/zoneinfo/Europe/Berlin → Europe/Berlin). Only the path is read.
 */
function zoneOfFile(path: string): string | undefined {
  try {
    const m = /\/zoneinfo\/(?:posix\/|right\/)?(.+)$/.exec(realpathSync(path));
    return m?.[1];
  } catch {
    return undefined;
  }
}

/**
 * The zone this machine shows times in: TZ if set (it must name a real zone —
 * "UTC+99" would print "undefined" dates), else the system's.
 */
export function localZone(env: NodeJS.ProcessEnv): string {
  const tz = env.TZ;
  if (tz !== undefined && tz !== '') {
    const bare = tz.startsWith(':') ? tz.slice(1) : tz;
    const name = bare.startsWith('/') ? zoneOfFile(bare) : bare;
    if (name === undefined || !isValidTimeZone(name))
      throw new UsageError(
        `TZ=${quote(tz)} is not a time zone portalctl can use; set TZ to an IANA name such as America/New_York, or unset it.`,
        'invalid_time_zone',
      );
    return name;
  }
  // TZ set but empty is UTC to the C library; ICU then names the zone "Etc/Unknown", which no formatter
  // takes (every time shown was an internal error, some after the change was saved).
  const system = Intl.DateTimeFormat().resolvedOptions().timeZone;
  return system && isValidTimeZone(system) ? system : 'UTC';
}

/** Whole days left, rounded up, so a fresh 30-day countdown reads "30 days". */
export function daysLeft(dueIso: string, now: Date): number {
  return Math.ceil((new Date(dueIso).getTime() - now.getTime()) / DAY_MS);
}
