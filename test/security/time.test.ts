// Issue 14, Low: PORTALCTL_NOW accepted February 30 (rolled to March 2) and
// year-10000 times broke the text comparison of stored times; TZ=UTC+99
// put "undefined" in the email and the wrong local day.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GRANTS, world, type World } from '../helpers/run.js';
import { storeSql } from '../helpers/sql.js';

let w: World;
beforeEach(async () => {
  w = world();
  expect((await w.run(GRANTS)).exitCode).toBe(0);
});
afterEach(() => w.close());

const INVITE = ['users', 'invite', '--email', 'jane@example.org', '--first-name', 'Jane', '--last-name', 'Doe'];

async function recorded(w: World): Promise<number> {
  const [r] = await storeSql<{ n: number }>(w, 'SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM outbox) + (SELECT count(*) FROM events) AS n');
  return Number(r!.n);
}

describe('PORTALCTL_NOW', () => {
  const BAD = [
    '2026-02-30T00:00:00Z',
    '2027-02-29T12:00:00Z', // not a leap year
    '2026-04-31',
    '2026-13-01T00:00:00Z',
    '2026-11-28T24:00:00Z',
    '2026-11-28T23:60:00Z',
    '10000-01-01T00:00:00Z',
    '+010000-01-01T00:00:00Z',
    '+002026-11-28T00:00:00Z',
    '1969-12-31T23:59:59Z',
    'now',
    '',
  ];
  it.each(BAD.filter((v) => v !== ''))('%j: exit 2 (invalid_time) for every command, nothing recorded', async (now) => {
    for (const argv of [INVITE, ['users', 'list'], ['prune', '--yes']]) {
      const r = await w.run(['--json', ...argv], { now });
      expect(r.exitCode, `${argv.join(' ')}: ${r.stderr}`).toBe(2);
      expect(JSON.parse(r.stderr).error.code).toBe('invalid_time');
    }
    expect(await recorded(w)).toBe(0);
  });

  it('February 29 of a leap year is fine', async () => {
    expect((await w.run(INVITE, { now: '2028-02-29T12:00:00Z' })).exitCode).toBe(0);
  });

  it('a time so late that a link would expire after year 9999: refused (exit 2), nothing recorded', async () => {
    const r = await w.run(['--json', ...INVITE], { now: '9999-12-30T00:00:00Z' });
    expect(r.exitCode, r.stderr).toBe(2);
    expect(JSON.parse(r.stderr).error.code).toBe('invalid_time');
    expect(await recorded(w)).toBe(0);
  });
});

describe('TZ', () => {
  it.each(['UTC+99', ':UTC+99', 'America/Nowhere', '../../etc/passwd', 'EST5EDT,M3.2.0,M11.1.0', '\u001b[2J'])(
    '%j: exit 2 before anything happens',
    async (tz) => {
      for (const argv of [INVITE, ['users', 'list']]) {
        const r = await w.run(['--json', ...argv], { env: { TZ: tz } });
        expect(r.exitCode, `${argv.join(' ')}: ${r.stderr}`).toBe(2);
        expect(JSON.parse(r.stderr).error.code).toBe('invalid_time_zone');
        expect(r.stderr).not.toContain('\u001b');
      }
      expect(await recorded(w)).toBe(0);
    },
  );

  it('a portal time zone of UTC+99 is refused too', async () => {
    const r = await w.run(['--json', 'portals', 'set', 'grants', '--time-zone', 'UTC+99']);
    expect(r.exitCode).toBe(2);
  });

  it('a real zone far from UTC: the email names the right local day and never says "undefined"', async () => {
    // 2026-11-28T14:00Z + 7 days = 2026-12-05T14:00Z = Sunday, December 6, 04:00 in Kiritimati (UTC+14).
    expect((await w.run(INVITE, { env: { TZ: 'Pacific/Kiritimati' } })).exitCode).toBe(0);
    const { simpleParser } = await import('mailparser');
    const file = readdirSync(w.mailDir).find((f) => f.endsWith('.eml'))!;
    const mail = await simpleParser(readFileSync(join(w.mailDir, file)));
    expect(mail.text).toContain('Sunday, December 6, 2026 at 04:00');
    expect(`${mail.text}${mail.html}`).not.toContain('undefined');
  });
});
