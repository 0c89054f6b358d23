import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { clockFromEnv, daysLeft, formatDate, formatForEmail, formatLocal, formatRelative, localZone, parseIsoTime, parseSince } from '../../src/domain/time.js';
import { thrown } from '../helpers/run.js';

const NOW = new Date('2026-11-28T14:00:00Z');

describe('times given by a person', () => {
  it('PORTALCTL_NOW fixes the clock; unset, the system clock', () => {
    expect(clockFromEnv({ PORTALCTL_NOW: '2026-11-28T14:00:00Z' })().toISOString()).toBe('2026-11-28T14:00:00.000Z');
    expect(Math.abs(clockFromEnv({})().getTime() - Date.now())).toBeLessThan(5000);
  });

  it.each(['yesterday', '2026-02-30', '2026-13-01', '26-11-28', '2026-11-28T25:00:00Z', '10000-01-01', '1969-12-31', ''])(
    'refuses the ISO time %j, naming it',
    (v) => {
      if (v === '') return expect(clockFromEnv({ PORTALCTL_NOW: '' })).toBeTypeOf('function');
      const err = thrown(() => parseIsoTime(v, 'PORTALCTL_NOW'));
      expect(err.code).toBe('invalid_time');
      expect(err.exitCode).toBe(2);
      expect(err.message).toContain(`PORTALCTL_NOW ${JSON.stringify(v)}`);
    },
  );

  it('accepts a date (UTC midnight), a time with a zone offset, and a space for the T', () => {
    expect(parseIsoTime('2026-11-01', 'x').toISOString()).toBe('2026-11-01T00:00:00.000Z');
    expect(parseIsoTime('2026-11-01T09:00:00-05:00', 'x').toISOString()).toBe('2026-11-01T14:00:00.000Z');
    expect(parseIsoTime('2026-11-01 09:00Z', 'x').toISOString()).toBe('2026-11-01T09:00:00.000Z');
  });

  it('--since: spans back from now, today and yesterday in the local zone, or an ISO time', () => {
    expect(parseSince('7d', NOW, 'UTC').toISOString()).toBe('2026-11-21T14:00:00.000Z');
    expect(parseSince('12h', NOW, 'UTC').toISOString()).toBe('2026-11-28T02:00:00.000Z');
    expect(parseSince('2w', NOW, 'UTC').toISOString()).toBe('2026-11-14T14:00:00.000Z');
    expect(parseSince('30m', NOW, 'UTC').toISOString()).toBe('2026-11-28T13:30:00.000Z');
    expect(parseSince('today', NOW, 'America/New_York').toISOString()).toBe('2026-11-28T05:00:00.000Z');
    expect(parseSince('yesterday', NOW, 'America/New_York').toISOString()).toBe('2026-11-27T05:00:00.000Z');
    expect(parseSince('2026-11-01', NOW, 'UTC').toISOString()).toBe('2026-11-01T00:00:00.000Z');
    const err = thrown(() => parseSince('last week', NOW, 'UTC'));
    expect(err.code).toBe('invalid_time');
    expect(err.message).toContain('"last week"');
  });

  it('--since: today, yesterday and a date start at local midnight, also on the days the clocks change', () => {
    const since = (v: string, now: string, zone: string) => parseSince(v, new Date(now), zone).toISOString();
    // Los Angeles, November 1 (25 hours long): yesterday began at 00:00 PDT, today at 00:00 PDT.
    expect(since('yesterday', '2026-11-01T12:00:00Z', 'America/Los_Angeles')).toBe('2026-10-31T07:00:00.000Z');
    expect(since('today', '2026-11-01T12:00:00Z', 'America/Los_Angeles')).toBe('2026-11-01T07:00:00.000Z');
    // March 8 (23 hours long): it began at 00:00 PST.
    expect(since('today', '2026-03-08T12:00:00Z', 'America/Los_Angeles')).toBe('2026-03-08T08:00:00.000Z');
    expect(since('yesterday', '2026-03-09T12:00:00Z', 'America/Los_Angeles')).toBe('2026-03-08T08:00:00.000Z');
    // Santiago skips midnight on September 6: the day begins at 01:00.
    expect(since('today', '2026-09-06T12:00:00Z', 'America/Santiago')).toBe('2026-09-06T04:00:00.000Z');
    // A date alone is that day on the reader's clock, as today and yesterday are.
    expect(since('2026-03-03', '2026-03-04T12:00:00Z', 'Asia/Kolkata')).toBe('2026-03-02T18:30:00.000Z');
    expect(since('2026-03-03', '2026-03-04T12:00:00Z', 'America/Los_Angeles')).toBe('2026-03-03T08:00:00.000Z');
  });

  it('TZ must name a zone portalctl can show times in', () => {
    expect(localZone({ TZ: 'Europe/Berlin' })).toBe('Europe/Berlin');
    expect(localZone({ TZ: ':UTC' })).toBe('UTC');
    expect(thrown(() => localZone({ TZ: 'UTC+99' })).code).toBe('invalid_time_zone');
  });

  it('TZ=:/etc/localtime (containers, systemd) is the zone its zoneinfo file is named for', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tz-'));
    try {
      mkdirSync(join(dir, 'zoneinfo', 'America'), { recursive: true });
      writeFileSync(join(dir, 'zoneinfo', 'America', 'Chicago'), '');
      symlinkSync(join(dir, 'zoneinfo', 'America', 'Chicago'), join(dir, 'localtime'));
      expect(localZone({ TZ: `:${join(dir, 'localtime')}` })).toBe('America/Chicago');
      expect(localZone({ TZ: join(dir, 'zoneinfo', 'America', 'Chicago') })).toBe('America/Chicago');
      // A file that leads to no zone name is still refused, naming TZ.
      writeFileSync(join(dir, 'elsewhere'), '');
      for (const tz of [`:${join(dir, 'elsewhere')}`, ':/nonexistent/localtime']) {
        const err = thrown(() => localZone({ TZ: tz }));
        expect(err.code).toBe('invalid_time_zone');
        expect(err.message).toMatch(/^TZ=".*" is not a time zone portalctl can use/);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('times shown to a person', () => {
  it('in tables and messages: local time with the zone', () => {
    expect(formatLocal('2026-12-05T14:00:00.000Z', 'America/New_York')).toBe('2026-12-05 09:00 EST');
    expect(formatLocal('2026-07-05T14:00:00.000Z', 'America/New_York')).toBe('2026-07-05 10:00 EDT');
  });

  it('in emails: the weekday, the zone in words, and UTC', () => {
    expect(formatForEmail('2026-12-05T14:00:00.000Z', 'America/New_York')).toBe(
      'Saturday, December 5, 2026 at 09:00 Eastern Standard Time (December 5, 14:00 UTC)',
    );
    expect(formatForEmail('2026-12-05T14:00:00.000Z', 'UTC')).toBe('Saturday, December 5, 2026 at 14:00 Coordinated Universal Time');
    expect(formatDate('2026-12-28T14:00:00.000Z', 'Asia/Tokyo')).toBe('December 28, 2026');
  });

  it('relative times on a terminal', () => {
    expect(formatRelative('2026-12-05T14:00:00.000Z', NOW)).toBe('in 7 days');
    expect(formatRelative('2026-11-28T12:00:00.000Z', NOW)).toBe('2 hours ago');
    expect(formatRelative('2026-11-28T14:00:20.000Z', NOW)).toBe('just now');
    expect(formatRelative('2027-03-28T14:00:00.000Z', NOW)).toBe('in 4 months');
    // A link expiring at this very moment is expired (as its status says), not "just now".
    expect(formatRelative(NOW.toISOString(), NOW, 'expired')).toBe('expired just now');
  });

  it('days left count whole days, rounded up, so a fresh 30-day countdown reads 30', () => {
    expect(daysLeft('2026-12-28T14:00:00.000Z', NOW)).toBe(30);
    expect(daysLeft('2026-11-28T14:00:01.000Z', NOW)).toBe(1);
    expect(daysLeft('2026-11-28T14:00:00.000Z', NOW)).toBe(0);
  });
});
