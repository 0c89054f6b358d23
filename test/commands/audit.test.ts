// `audit`: every change, newest first, with who and the values before and after.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from '../../src/commands/audit.js';
import { changeWords } from '../../src/output/audit.js';
import { at, boxLines, emlLinkFor, GRANTS, rawInput, strip, thrown, tsv, world, type World } from '../helpers/run.js';

describe('parse', () => {
  it('reads --user, --since and --limit', () => {
    expect(parse(rawInput([], { user: 'jane@example.org', since: '7d', limit: '5' }))).toEqual({ user: 'jane@example.org', since: '7d', limit: 5 });
    expect(parse(rawInput())).toEqual({ user: undefined, since: undefined, limit: undefined });
  });

  it.each([
    [{ limit: '0' }, 'invalid_number'],
    [{ limit: 'all' }, 'invalid_number'],
    [{ user: 'Jane Doe' }, 'invalid_user'],
  ])('refuses %j (%s)', (options, code) => {
    expect(thrown(() => parse(rawInput([], options)))).toMatchObject({ code, exitCode: 2 });
  });
});

describe('change words', () => {
  it('says what changed, from what to what', () => {
    // One changed field a line, in an administrator's words (issue 13).
    expect(changeWords({ email: 'a@x.org', registrationId: 4 }, { email: 'b@x.org', registrationId: 5 })).toBe('email: a@x.org → b@x.org\nregistration: 4 → 5');
    expect(changeWords(null, { email: 'a@x.org', loginService: null })).toBe('email: a@x.org');
    expect(changeWords({ email: 'a@x.org' }, null)).toBe('was email: a@x.org');
  });

  it('shows the time fields in local time on a terminal, and a name that looks like a time as typed', () => {
    const after = { lastName: '2026-03-04T12:00:00Z', removalDueAt: '2026-03-04T12:00:00Z' };
    expect(changeWords(null, after, 'America/Los_Angeles')).toBe('last name: 2026-03-04T12:00:00Z; removal date: 2026-03-04 04:00 PST');
  });
});

describe('audit', () => {
  let w: World;
  beforeAll(async () => {
    w = world();
    await w.run(GRANTS);
    await w.run(['--actor', 'alice', 'users', 'invite', '--email', 'jane@example.org', '--first-name', 'Jane', '--last-name', 'Doe'], { now: at(1) });
    await w.run(['--actor', 'bob', 'users', 'resend-registration', 'jane@example.org', '--email', 'jane@new.example.org'], { now: at(2) });
    await w.run(['link', emlLinkFor(w.mailDir, 'jane@new.example.org'), '--service', 'nih', '--account', 'jdoe'], { now: at(3) });
    await w.run(['--actor', 'carol', 'portals', 'set', 'grants', '--removal-days', '45'], { now: at(4) });
  });
  afterAll(() => w.close());

  it('--json: newest first, with when, who, what and the values before and after', async () => {
    const doc = await w.json(['audit'], { now: at(5) });
    expect(doc.audit.map((a: { action: string }) => a.action)).toEqual(['portal-set', 'link', 'resend-registration', 'invite', 'portal-add']);
    expect(doc.audit[2]).toMatchObject({
      at: at(2),
      actor: 'bob',
      portal: 'grants',
      userId: 1,
      userEmail: 'jane@new.example.org',
      before: { email: 'jane@example.org', registrationId: 1 },
      after: { email: 'jane@new.example.org', registrationId: 2 },
    });
    expect(doc.audit[0]).toMatchObject({
      actor: 'carol',
      before: expect.objectContaining({ removalDays: 30 }),
      after: expect.objectContaining({ removalDays: 45 }),
    });
  });

  it('--user (id or address, also the old address), --since, --limit', async () => {
    const actions = async (...args: string[]) => (await w.json(['audit', ...args], { now: at(5) })).audit.map((a: { action: string }) => a.action);
    expect(await actions('--user', '1')).toEqual(['link', 'resend-registration', 'invite']);
    expect(await actions('--user', 'JANE@new.example.org')).toEqual(['link', 'resend-registration', 'invite']);
    expect(await actions('--since', at(3))).toEqual(['portal-set', 'link']);
    expect(await actions('--since', '2d')).toEqual(['portal-set', 'link']);
    expect(await actions('--limit', '1')).toEqual(['portal-set']);
    const none = await w.run(['--json', 'audit', '--user', '99']);
    expect(none.exitCode).toBe(1);
    expect(JSON.parse(none.stderr).error.code).toBe('not_found');
    const bad = await w.run(['--json', 'audit', '--since', 'last week']);
    expect(bad.exitCode).toBe(2);
    expect(JSON.parse(bad.stderr).error).toMatchObject({ code: 'invalid_time', message: expect.stringContaining('"last week"') });
  });

  it('piped: ISO times and the values as JSON; on a terminal: the change in words', async () => {
    const rows = tsv((await w.run(['audit', '--user', '1'], { now: at(5) })).stdout);
    expect(Object.keys(rows[0]!)).toEqual(['When', 'Who', 'Action', 'Portal', 'User', 'Before', 'After']);
    expect(rows[1]).toMatchObject({ When: at(2), Who: 'bob', Action: 'resend-registration', User: '1 jane@new.example.org' });
    expect(JSON.parse(rows[1]!.After!)).toEqual({ email: 'jane@new.example.org', registrationId: 2 });
    const tty = await w.run(['audit', '--user', '1'], { now: at(5), tty: true, columns: 200 });
    expect(strip(tty.stdout)).toContain('email: jane@example.org → jane@new.example.org');
    expect(strip(tty.stdout)).not.toContain('"registrationId"');
    const narrow = await w.run(['audit'], { now: at(5), tty: true, columns: 80 });
    for (const l of boxLines(narrow.stdout)) expect([...l].length).toBeLessThanOrEqual(80);
  });
});
