// `users resend-registration`: the FAQ's "Send New Registration".

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import { parse } from '../../../src/commands/users/resend-registration.js';
import { at, boxLines, emlLinkFor, GRANTS, rawInput, strip, thrown, tsv, world, type World } from '../../helpers/run.js';

describe('parse', () => {
  it('reads users by id or address, --email for one user, or --all-expired', () => {
    expect(parse(rawInput([['42', 'Jane@Example.org']]))).toEqual({ users: [{ id: 42 }, { email: 'Jane@Example.org' }], email: undefined, allExpired: false });
    expect(parse(rawInput([['42']], { email: 'new@example.org' }))).toEqual({ users: [{ id: 42 }], email: 'new@example.org', allExpired: false });
    expect(parse(rawInput([undefined], { allExpired: true }))).toEqual({ users: [], email: undefined, allExpired: true });
  });

  it.each([
    [[], {}, 'missing_value', 'at least one user'],
    [['1'], { allExpired: true }, 'usage', '--all-expired'],
    [['1', '2'], { email: 'a@example.org' }, 'usage', '--email'],
    [[], { allExpired: true, email: 'a@example.org' }, 'usage', '--email'],
    [['jane doe'], {}, 'invalid_user', '"jane doe"'],
    [['1'], { email: 'not an address' }, 'invalid_email', '"not an address"'],
  ])('refuses %j %j (%s)', (users, options, code, named) => {
    const err = thrown(() => parse(rawInput([users], options)));
    expect(err).toMatchObject({ code, exitCode: 2 });
    expect(err.message).toContain(named);
  });
});

describe('users resend-registration', () => {
  let w: World;
  beforeEach(async () => {
    w = world();
    await w.run(GRANTS);
  });
  afterEach(() => w.close());

  const invite = (email: string, first = 'Amy', last = 'Adams', now = at(0)) =>
    w.run(['users', 'invite', '--email', email, '--first-name', first, '--last-name', last], { now });
  const link = (email: string, service: string, account: string, now = at(0)) =>
    w.run(['--json', 'link', emlLinkFor(w.mailDir, email), '--service', service, '--account', account], { now });
  const mails = () => readdirSync(w.mailDir).length;

  it("to a different address: the email goes there, the address becomes the user's, earlier links stop working", async () => {
    await invite('amy@old.example.org');
    const oldLink = emlLinkFor(w.mailDir, 'amy@old.example.org');
    const r = await w.run(['users', 'resend-registration', 'AMY@old.example.org', '--email', 'amy@new.example.org'], { now: at(8) });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(tsv(r.stdout)).toEqual([expect.objectContaining({ ID: '1', Email: 'amy@new.example.org', Status: 'pending', 'Link expires': at(15) })]);
    expect(r.stderr).toContain("User 1's address is now amy@new.example.org (was amy@old.example.org).");
    expect(r.stderr).toContain('Registration email to amy@new.example.org written to');
    const old = await w.run(['--json', 'link', oldLink, '--service', 'nih', '--account', 'amy'], { now: at(8) });
    expect(old.exitCode).toBe(1);
    expect(JSON.parse(old.stderr).error).toMatchObject({ code: 'link_superseded', details: { supersededAt: at(8) } });
    expect((await link('amy@new.example.org', 'nih', 'amy', at(9))).exitCode).toBe(0);
  });

  it('keeps the removal date, gives a new link with a new expiry; JSON and the terminal show it', async () => {
    await invite('amy@example.org');
    const doc = await w.json(['users', 'resend-registration', '1'], { now: at(3) });
    expect(doc.users).toEqual([expect.objectContaining({ id: 1, registrationExpiresAt: at(10), removalDueAt: at(30), status: 'pending' })]);
    const tty = await w.run(['users', 'resend-registration', '1'], { now: at(4), tty: true, columns: 200 });
    expect(strip(tty.stdout)).toMatch(
      /│ 1 +│ Amy Adams +│ amy@example\.org +│ \(This account is not linked\)\.\.\. +│ pending +│ 2026-12-09 09:00 EST \(in 7 days\) +│ 26 days +│/,
    );
    const narrow = await w.run(['users', 'resend-registration', '1'], { now: at(4), tty: true, columns: 80 });
    for (const l of boxLines(narrow.stdout)) expect([...l].length).toBeLessThanOrEqual(80);
  });

  it('switching login service: the user stays linked until the new link is used, then carries the new account, same id', async () => {
    await invite('bo@example.org', 'Bo', 'Brown');
    await link('bo@example.org', 'nih', 'bbrown');
    const r = await w.run(['users', 'resend-registration', 'bo@example.org'], { now: at(1) });
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toContain(
      'warning: User 1 (bo@example.org) is already linked as bbrown (NIH Network Login); a new registration email lets them switch login service, and their current account keeps working until they use it.',
    );
    expect((await w.json(['users', 'whoami-login', 'bo@example.org'], { now: at(1) })).users[0]).toMatchObject({
      status: 'linked',
      loginService: 'nih',
      username: 'bbrown',
    });
    const relinked = await link('bo@example.org', 'ims', 'bo.brown', at(2));
    expect(relinked.stderr).toBe('');
    const whoami = await w.run(['users', 'whoami-login', 'bo@example.org'], { now: at(2) });
    expect(tsv(whoami.stdout)[0]!['Username/ID (Login Service)']).toBe('bo.brown (IMS Login Service)');
    const show = (await w.json(['users', 'show', 'bo@example.org'], { now: at(2) })).users[0];
    expect(show.id).toBe(1);
    expect(show.accountChanges).toEqual([
      expect.objectContaining({ from: null, to: { loginService: 'nih', username: 'bbrown' } }),
      expect.objectContaining({ from: { loginService: 'nih', username: 'bbrown' }, to: { loginService: 'ims', username: 'bo.brown' } }),
    ]);
    expect(show.registrations.map((x: { state: string }) => x.state)).toEqual(['used', 'used']);
  });

  it('a linked user on a terminal: asks first; "no" sends nothing (exit 1)', async () => {
    await invite('bo@example.org', 'Bo', 'Brown');
    await link('bo@example.org', 'nih', 'bbrown');
    const before = mails();
    const r = await w.run(['users', 'resend-registration', '1'], { tty: true, answers: [false] });
    expect(r.asked).toEqual(['User 1 is already linked as bbrown (NIH Network Login); send a new registration email anyway?']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('Cancelled; nothing was changed.');
    expect(mails()).toBe(before);
  });

  it('--all-expired re-sends to every unlinked user whose link expired, and to nobody else', async () => {
    await invite('e1@example.org');
    await invite('e2@example.org');
    await invite('p1@example.org', 'P', 'One', at(5));
    await invite('l1@example.org');
    expect((await link('l1@example.org', 'nih', 'l1', at(1))).exitCode).toBe(0);
    const before = mails();
    const r = await w.json(['users', 'resend-registration', '--all-expired'], { now: at(8) });
    expect(r.users.map((u: { email: string }) => u.email).sort()).toEqual(['e1@example.org', 'e2@example.org']);
    expect(mails() - before).toBe(2);
    const again = await w.run(['users', 'resend-registration', '--all-expired'], { now: at(8) });
    expect(again).toMatchObject({ exitCode: 0, stdout: '', stderr: 'No unlinked user has an expired link; nothing was sent.\n' });
    expect(await w.json(['users', 'resend-registration', '--all-expired'], { now: at(8) })).toEqual({ users: [] });
  });

  it('--all-expired on a terminal asks once, then says how many', async () => {
    await invite('e1@example.org');
    await invite('e2@example.org');
    const no = await w.run(['users', 'resend-registration', '--all-expired'], { now: at(8), tty: true, answers: [false] });
    expect(no.asked).toEqual(['Send a new registration email to 2 users with an expired link?']);
    expect(no.exitCode).toBe(1);
    const yes = await w.run(['users', 'resend-registration', '--all-expired'], { now: at(8), tty: true, answers: [true] });
    expect(yes.exitCode).toBe(0);
    expect(yes.stderr).toContain('Sent new registration emails to 2 users.');
    expect((await w.json(['users', 'list', '--status', 'expired'], { now: at(8) })).users).toEqual([]);
  });

  it('one unknown user among several changes nothing (exit 1)', async () => {
    await invite('amy@example.org');
    const before = mails();
    const r = await w.run(['--json', 'users', 'resend-registration', '1', 'nobody@example.org'], { now: at(8) });
    expect(r.exitCode).toBe(1);
    expect(JSON.parse(r.stderr).error).toMatchObject({ code: 'not_found', message: expect.stringContaining('"nobody@example.org"') });
    expect(mails()).toBe(before);
    expect((await w.json(['users', 'list'], { now: at(8) })).users[0].status).toBe('expired');
  });

  it("an address that belongs to another user is refused (exit 1); the user's link keeps working", async () => {
    await invite('amy@example.org');
    await invite('bo@example.org', 'Bo', 'Brown');
    const r = await w.run(['--json', 'users', 'resend-registration', '1', '--email', 'BO@example.org']);
    expect(r.exitCode).toBe(1);
    expect(JSON.parse(r.stderr).error.code).toBe('email_in_use');
    expect((await link('amy@example.org', 'nih', 'amy')).exitCode).toBe(0);
  });
});
