// `users whoami-login`: "what is this person's username, and with which login service?"

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from '../../../src/commands/users/whoami-login.js';
import { at, boxLines, emlLinkFor, GRANTS, rawInput, strip, thrown, tsv, world, type World } from '../../helpers/run.js';

describe('parse', () => {
  it('an id or an address is a reference; anything else is part of a name', () => {
    expect(parse(rawInput(['42']))).toEqual({ ref: { id: 42 } });
    expect(parse(rawInput(['Eve@Example.org']))).toEqual({ ref: { email: 'Eve@Example.org' } });
    expect(parse(rawInput(['  Eve Evan ']))).toEqual({ search: 'Eve Evan' });
  });

  it.each([['E'], ['x'.repeat(201)], ['Eve\u0007']])('refuses %j (invalid_user)', (v) => {
    expect(thrown(() => parse(rawInput([v])))).toMatchObject({ code: 'invalid_user', exitCode: 2 });
  });
});

describe('users whoami-login', () => {
  let w: World;
  beforeAll(async () => {
    w = world();
    await w.run(GRANTS);
    const invite = (email: string, first: string, last: string) => w.run(['users', 'invite', '--email', email, '--first-name', first, '--last-name', last]);
    await invite('bo@example.org', 'Bo', 'Brown');
    await invite('eve@example.org', 'Eve', 'Evans');
    await invite('eve2@example.org', 'Eve', 'Evanston');
    await w.run(['link', emlLinkFor(w.mailDir, 'bo@example.org'), '--service', 'nih', '--account', 'bbrown']);
  });
  afterAll(() => w.close());

  it('a linked user: "bbrown (NIH Network Login)"', async () => {
    const r = await w.run(['users', 'whoami-login', 'BO@example.org']);
    expect(r.exitCode).toBe(0);
    expect(tsv(r.stdout)[0]).toMatchObject({ Name: 'Bo Brown', 'Username/ID (Login Service)': 'bbrown (NIH Network Login)', Status: 'linked' });
    expect(r.stderr).toBe('Bo Brown: bbrown (NIH Network Login)\n');
    expect((await w.json(['users', 'whoami-login', '1'])).users[0]).toMatchObject({
      loginService: 'nih',
      loginServiceName: 'NIH Network Login',
      username: 'bbrown',
    });
  });

  it('an unlinked user with a valid link: "(This account is not linked)..." and what to tell them', async () => {
    const r = await w.run(['users', 'whoami-login', 'eve@example.org']);
    expect(tsv(r.stdout)[0]).toMatchObject({ Name: 'Eve Evans', 'Username/ID (Login Service)': '(This account is not linked)...' });
    expect(r.stderr).toBe(
      'Eve Evans: (This account is not linked)... Their Step 2 link is valid until 2026-12-05 09:00 EST: ask them to complete Step 2 of the registration email, or send a new one with `portalctl users resend-registration 2`.\n',
    );
  });

  it("an unlinked user whose link expired: the FAQ's advice — contact the IMS Login Service Administrator", async () => {
    const r = await w.run(['users', 'whoami-login', 'eve@example.org'], { now: at(8) });
    expect(r.stderr).toContain('Eve Evans: (This account is not linked)... No login service account is linked to this profile');
    expect(r.stderr).toContain('contact the IMS Login Service Administrator for the username');
  });

  it('part of a name shows every match, with the advice said once per kind; no match is exit 1', async () => {
    const r = await w.run(['users', 'whoami-login', 'eve evan']);
    expect(tsv(r.stdout).map((u) => u.Email)).toEqual(['eve@example.org', 'eve2@example.org']);
    expect(r.stderr).toBe(
      '2 users pending: not linked yet, their Step 2 link is still valid; ask them to complete Step 2, or send a new registration email (`portalctl users resend-registration ID`).\n',
    );
    const none = await w.run(['--json', 'users', 'whoami-login', 'Zebedee']);
    expect(none.exitCode).toBe(1);
    expect(JSON.parse(none.stderr).error).toMatchObject({ code: 'not_found', message: expect.stringContaining('"Zebedee"') });
  });

  it('on a terminal, wide and narrow', async () => {
    const wide = await w.run(['users', 'whoami-login', 'Brown'], { tty: true, columns: 200 });
    expect(strip(wide.stdout)).toMatch(/│ 1 +│ Bo Brown +│ bo@example\.org +│ bbrown \(NIH Network Login\) +│ linked +│ +│ +│/);
    const narrow = await w.run(['users', 'whoami-login', 'Eve'], { tty: true, columns: 80 });
    for (const l of boxLines(narrow.stdout)) expect([...l].length).toBeLessThanOrEqual(80);
    expect(strip(narrow.stdout)).toContain('eve2@example.org');
  });
});
