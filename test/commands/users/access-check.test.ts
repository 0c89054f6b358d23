// `users access-check`: the FAQ's "Access Denied" diagnosis.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from '../../../src/commands/users/access-check.js';
import { at, boxLines, emlLinkFor, GRANTS, rawInput, strip, thrown, world, type World } from '../../helpers/run.js';

describe('parse', () => {
  it('reads the service, the account and an optional address', () => {
    expect(parse(rawInput([], { service: 'NIH', account: 'jdoe', email: 'jane@example.org' }))).toEqual({
      service: 'nih',
      account: 'jdoe',
      email: 'jane@example.org',
    });
    expect(parse(rawInput([], { service: 'ims', account: 'jdoe' }))).toEqual({ service: 'ims', account: 'jdoe', email: undefined });
    // Missing ones are asked for on a terminal (run), like link's.
    expect(parse(rawInput([], {}))).toEqual({ service: undefined, account: undefined, email: undefined });
  });

  it.each([
    [{ service: 'google', account: 'jdoe' }, 'invalid_service', '"google"'],
    [{ service: 'nih', account: 'j doe' }, 'invalid_account', '"j doe"'],
    [{ service: 'nih', account: 'jdoe', email: 'jane' }, 'invalid_email', '"jane"'],
  ])('refuses %j (%s)', (options, code, named) => {
    const err = thrown(() => parse(rawInput([], options)));
    expect(err).toMatchObject({ code, exitCode: 2 });
    expect(err.message).toContain(named);
  });
});

describe('users access-check', () => {
  let w: World;
  beforeAll(async () => {
    w = world();
    await w.run(GRANTS);
    await w.run(['portals', 'add', 'loans', '--name', 'Loans', '--url', 'https://loans.example.org', '--admin-email', 'a@example.org']);
    const invite = (portal: string, email: string, first: string) =>
      w.run(['--portal', portal, 'users', 'invite', '--email', email, '--first-name', first, '--last-name', 'Doe']);
    await invite('grants', 'bo@example.org', 'Bo');
    await invite('grants', 'eve@example.org', 'Eve');
    await invite('loans', 'zed@example.org', 'Zed');
    await w.run(['--portal', 'grants', 'link', emlLinkFor(w.mailDir, 'bo@example.org'), '--service', 'ims', '--account', 'bo.brown']);
    await w.run(['--portal', 'loans', 'link', emlLinkFor(w.mailDir, 'zed@example.org'), '--service', 'nih', '--account', 'zed']);
    // Eve tried her link with her NIH account after it expired.
    await w.run(['--portal', 'grants', 'link', emlLinkFor(w.mailDir, 'eve@example.org'), '--service', 'nih', '--account', 'eve'], { now: at(9) });
  });
  afterAll(() => w.close());
  const check = (args: string[], now = at(0)) => w.json(['--portal', 'grants', 'users', 'access-check', ...args], { now });

  it('on a terminal, asks for the service and the account that are missing, as link does; without one, names the flag', async () => {
    const asked = await w.run(['--portal', 'grants', 'users', 'access-check'], { tty: true, answers: ['ims', 'bo.brown'], now: at(0) });
    expect(asked.exitCode, asked.stderr).toBe(0);
    expect(strip(asked.stdout)).toContain('bo.brown (IMS Login Service) is linked to user 1 (Bo Doe) of portal grants');
    for (const [args, flag] of [
      [['--account', 'bo.brown'], '--service'],
      [['--service', 'ims'], '--account'],
    ] as const) {
      const r = await w.run(['--json', '--portal', 'grants', 'users', 'access-check', ...args]);
      expect(r.exitCode).toBe(2);
      expect(JSON.parse(r.stderr).error).toMatchObject({ code: 'missing_value', message: expect.stringContaining(`Missing ${flag}`) });
    }
  });

  it('a linked account (any case): linked, and the bookmark advice', async () => {
    const d = await check(['--service', 'ims', '--account', 'BO.BROWN']);
    expect(d).toMatchObject({
      linked: true,
      loginService: 'ims',
      account: 'BO.BROWN',
      portal: 'grants',
      users: [expect.objectContaining({ email: 'bo@example.org' })],
    });
    expect(d.diagnosis).toBe('BO.BROWN (IMS Login Service) is linked to user 1 (Bo Doe) of portal grants; the portal should let this account in.');
    expect(d.nextSteps).toEqual([
      expect.stringContaining('old links that are no longer valid get bookmarked. Send the user the portal Home page, https://grants.example.org'),
    ]);
  });

  it('a pending candidate found by address: point them to the original email, or send a new one', async () => {
    const d = await check(['--service', 'nih', '--account', 'eve', '--email', 'eve@example.org']);
    expect(d.linked).toBe(false);
    expect(d.diagnosis).toContain('is not linked to any user of portal grants');
    expect(d.users.map((u: { email: string }) => u.email)).toEqual(['eve@example.org']);
    expect(d.nextSteps).toEqual([
      'user 2 (eve@example.org) has not completed Step 2; their link is valid until 2026-12-05 09:00 EST. Direct them to the original registration email and to complete Step 2 — or send a new one: portalctl users resend-registration 2',
    ]);
  });

  it('an expired candidate, found by the failed link attempt alone: send a new registration', async () => {
    const d = await check(['--service', 'nih', '--account', 'eve'], at(10));
    expect(d.users.map((u: { email: string }) => u.email)).toEqual(['eve@example.org']);
    expect(d.nextSteps).toEqual([
      'user 2 (eve@example.org) has not completed Step 2 and their link has expired. Send a new registration email and ask them to complete Step 2: portalctl users resend-registration 2',
    ]);
  });

  it("an account linked in another portal: the user may use the other portal's bookmark", async () => {
    const d = await check(['--service', 'nih', '--account', 'zed']);
    expect(d.linked).toBe(false);
    expect(d.nextSteps).toContain(
      'zed (NIH Network Login) is linked to portal loans (https://loans.example.org), not to grants: the user may be using a link or bookmark of the other portal. Send them https://grants.example.org and ask them to update the bookmark.',
    );
  });

  it('nobody to be found: how to find the profile, or invite the address', async () => {
    expect((await check(['--service', 'nih', '--account', 'nobody'])).nextSteps[0]).toMatch(
      /^Find the person's profile .* If it shows \(This account is not linked\)\.\.\./,
    );
    expect((await check(['--service', 'nih', '--account', 'nobody', '--email', 'new@example.org'])).nextSteps[0]).toContain(
      'invite them: portalctl users invite --email new@example.org',
    );
  });

  it('exits 0 either way; piped, the candidates, the diagnosis and the steps; on a terminal, the table', async () => {
    const r = await w.run(['--portal', 'grants', 'users', 'access-check', '--service', 'nih', '--account', 'eve', '--email', 'eve@example.org'], {
      now: at(10),
    });
    expect(r.exitCode).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('ID\tName\tEmail\tUsername/ID (Login Service)\tStatus\tLink expires\tRemoval in');
    expect(lines[1]).toMatch(/^2\tEve Doe\teve@example\.org\t\(This account is not linked\)\.\.\.\texpired\t/);
    expect(lines[2]).toBe(
      'eve (NIH Network Login) is not linked to any user of portal grants: the user has not linked their login service account to the portal, so the portal answers "Access Denied".',
    );
    expect(lines[3]).toMatch(
      /^ {2}- user 2 \(eve@example\.org\) has not completed Step 2 and their link has expired\..*portalctl users resend-registration 2$/,
    );
    const tty = await w.run(['--portal', 'grants', 'users', 'access-check', '--service', 'nih', '--account', 'eve', '--email', 'eve@example.org'], {
      tty: true,
      columns: 80,
    });
    for (const l of boxLines(tty.stdout)) expect([...l].length).toBeLessThanOrEqual(80);
    // The diagnosis wraps between words within 80 columns, each step's continuation under its text.
    const text = strip(tty.stdout)
      .split('\n')
      .slice(
        strip(tty.stdout)
          .split('\n')
          .findIndex((l) => l.startsWith('eve (NIH')),
      );
    for (const l of text) expect([...l].length, l).toBeLessThanOrEqual(80);
    expect(text[0]).toBe('eve (NIH Network Login) is not linked to any user of portal grants: the user has');
    expect(text[1]).toBe('not linked their login service account to the portal, so the portal answers');
    const step = text.findIndex((l) => l.startsWith('  - user 2 (eve@example.org) has not completed Step 2'));
    expect(step).toBeGreaterThan(0);
    expect(text[step + 1]).toMatch(/^ {4}\S/);
    expect(text.join(' ').replace(/ +/g, ' ')).toContain('portalctl users resend-registration 2');
  });
});

describe("users access-check reads how the account's last try ended", () => {
  let w: World;
  const check = (args: string[], now = at(3)) => w.json(['users', 'access-check', ...args], { now });
  const invite = (email: string, first: string) => w.run(['users', 'invite', '--email', email, '--first-name', first, '--last-name', 'Doe']);
  beforeAll(async () => {
    w = world();
    await w.run(GRANTS);
    await invite('zed@example.org', 'Zed');
    await invite('ivy@example.org', 'Ivy');
    await invite('dave@example.org', 'Dave');
    await invite('kim@example.org', 'Kim');
    const zeds = emlLinkFor(w.mailDir, 'zed@example.org');
    await w.run(['link', zeds, '--service', 'nih', '--account', 'zedz']);
    // Someone else with Zed's (shared) email, after it was used.
    expect((await w.run(['link', zeds, '--service', 'nih', '--account', 'bobx'], { now: at(1) })).exitCode).toBe(1);
    // Ivy follows her first email after a newer one replaced it.
    const ivysFirst = emlLinkFor(w.mailDir, 'ivy@example.org');
    await w.run(['users', 'resend-registration', 'ivy@example.org'], { now: at(1) });
    expect((await w.run(['link', ivysFirst, '--service', 'nih', '--account', 'ivyg'], { now: at(2) })).exitCode).toBe(1);
    await w.run(['link', emlLinkFor(w.mailDir, 'dave@example.org'), '--service', 'nih', '--account', 'dgrohl']);
  });
  afterAll(() => w.close());

  it('a try with a link that had already linked another account (link_used): not "send a new registration" alone — a shared email needs an account of its own', async () => {
    const d = await check(['--service', 'nih', '--account', 'bobx']);
    expect(d.linked).toBe(false);
    expect(d.nextSteps[0]).toBe(
      "user 1 (zed@example.org) is linked with zedz (NIH Network Login); on 2026-11-29 09:00 EST bobx (NIH Network Login) tried their registration link after it had linked that account (link_used). Each registration email is unique to the person receiving it: if bobx is someone else's (a shared email), that person needs a portal account of their own: portalctl users invite --email … --first-name … --last-name …. If it is the same person switching login service, send a new registration: portalctl users resend-registration 1",
    );
  });

  it('a try with a replaced link (link_superseded): the newest email, not the original one', async () => {
    const d = await check(['--service', 'nih', '--account', 'ivyg', '--email', 'ivy@example.org']);
    expect(d.nextSteps).toEqual([
      'user 2 (ivy@example.org) tried on 2026-11-30 09:00 EST with the link of an older registration email, which a newer one replaced (link_superseded); the newest link is valid until 2026-12-06 09:00 EST. Direct them to the newest registration email and to complete Step 2 — or send a new one: portalctl users resend-registration 2',
    ]);
  });

  it("an account linked to one user, asked about with another user's address: says whose profile it opens", async () => {
    const d = await check(['--service', 'nih', '--account', 'dgrohl', '--email', 'kim@example.org']);
    expect(d.linked).toBe(true);
    expect(d.users.map((u: { id: number }) => u.id)).toEqual([3, 4]);
    expect(d.nextSteps[0]).toBe(
      'kim@example.org is user 4 (Kim Doe), not the user this account is linked to: signing in with dgrohl (NIH Network Login) opens the profile of user 3 (Dave Doe, dave@example.org). User 4 has not completed Step 2; their link is valid until 2026-12-05 09:00 EST. If dgrohl belongs to user 4, it was linked to the wrong profile: check with both people before changing anything.',
    );
    // Asked with the holder's own address: as before, one user and the bookmark advice.
    const own = await check(['--service', 'nih', '--account', 'dgrohl', '--email', 'dave@example.org']);
    expect(own.users).toHaveLength(1);
    expect(own.nextSteps).toHaveLength(1);
  });
});
