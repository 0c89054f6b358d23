// `link`: Step 2 — every way a link can fail, each with its code and what to
// do next (exit 1), and linking.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from '../../src/commands/link.js';
import { linkUrl, mintToken } from '../../src/domain/tokens.js';
import { at, boxLines, emlLinkFor, GRANTS, rawInput, strip, thrown, tsv, world, type World } from '../helpers/run.js';

describe('parse', () => {
  const t = mintToken();
  it('reads the full URL or the bare token, "-" for standard input, the service and the account', () => {
    expect(parse(rawInput([linkUrl('https://grants.example.org', t)], { service: 'NIH', account: 'jdoe' }))).toEqual({
      link: { token: t, url: new URL(linkUrl('https://grants.example.org', t)) },
      service: 'nih',
      account: 'jdoe',
    });
    expect(parse(rawInput([t]))).toEqual({ link: { token: t }, service: undefined, account: undefined });
    expect(parse(rawInput(['-'], { service: 'ims' }))).toEqual({ link: undefined, service: 'ims', account: undefined });
  });

  it.each([
    [[t.slice(0, -2)], {}, 'link_malformed', 1],
    [[`${t}\u0001`], {}, 'invalid_link', 2],
    [['A'.repeat(10_000)], {}, 'invalid_link', 2],
    [[t], { service: 'google' }, 'invalid_service', 2],
    [[t], { service: 'nih', account: 'x\u0007y' }, 'invalid_account', 2],
    // A mistyped flag is named whatever the link is: not "the link is incomplete".
    [[t.slice(0, -2)], { service: 'nih', account: '' }, 'invalid_account', 2],
    [['abc'], { service: 'nih', account: 'a b' }, 'invalid_account', 2],
    [['abc'], { service: 'google', account: 'jdoe' }, 'invalid_service', 2],
  ])('refuses %j %j with %s (exit %i)', (args, options, code, exitCode) => {
    expect(thrown(() => parse(rawInput(args, options)))).toMatchObject({ code, exitCode });
  });
});

describe('link', () => {
  let w: World;
  const invite = async (email: string, first: string, last: string, now = at(0)) => {
    const r = await w.run(['users', 'invite', '--email', email, '--first-name', first, '--last-name', last], { now });
    expect(r.exitCode, r.stderr).toBe(0);
    return emlLinkFor(w.mailDir, email);
  };
  const link = (url: string, service: string, account: string, now = at(0)) =>
    w.run(['--json', 'link', url, '--service', service, '--account', account], { now });
  const error = (r: { stderr: string }) => JSON.parse(r.stderr).error;

  beforeAll(async () => {
    w = world();
    await w.run(GRANTS);
  });
  afterAll(() => w.close());

  it('links: the user in the table, JSON and on a terminal, and says so', async () => {
    const url = await invite('jane@example.org', 'Jane', 'Doe');
    const r = await w.run(['link', url, '--service', 'nih', '--account', 'jdoe']);
    expect(r.exitCode).toBe(0);
    expect(tsv(r.stdout)).toEqual([
      {
        ID: '1',
        Name: 'Jane Doe',
        Email: 'jane@example.org',
        'Username/ID (Login Service)': 'jdoe (NIH Network Login)',
        Status: 'linked',
        'Link expires': '',
        'Removal in': '',
      },
    ]);
    expect(r.stderr).toBe('Linked jdoe (NIH Network Login) to portal grants.\n');
    const again = await w.run(['link', url, '--service', 'nih', '--account', 'JDOE'], { tty: true, columns: 200 });
    expect(again.exitCode).toBe(0);
    expect(again.stderr).toBe('This link was already used to link JDOE (NIH Network Login); nothing changed.\n');
    expect(strip(again.stdout)).toMatch(/│ 1 +│ Jane Doe +│ jane@example\.org +│ jdoe \(NIH Network Login\) +│ linked +│/);
    const json = await link(url, 'nih', 'jdoe');
    expect(JSON.parse(json.stdout).users[0]).toMatchObject({
      status: 'linked',
      loginService: 'nih',
      loginServiceName: 'NIH Network Login',
      username: 'jdoe',
      removalDueAt: null,
      linkedAt: at(0),
    });
    const narrow = await w.run(['link', url, '--service', 'nih', '--account', 'jdoe'], { tty: true, columns: 80 });
    for (const l of boxLines(narrow.stdout)) expect([...l].length).toBeLessThanOrEqual(80);
  });

  it('link_expired after 7 days, saying when and what to do; stdout stays empty', async () => {
    const url = await invite('exp@example.org', 'Ex', 'Pired');
    const r = await w.run(['link', url, '--service', 'nih', '--account', 'expd'], { now: at(7) });
    expect(r).toMatchObject({ exitCode: 1, stdout: '' });
    expect(r.stderr).toBe(
      'error: Error linking your account: this link expired 2026-12-05 09:00 EST. Ask the Site Administrator (admin@example.org) to send you a new registration email.\n',
    );
    expect(error(await link(url, 'nih', 'expd', at(8)))).toMatchObject({ code: 'link_expired', details: { expiredAt: at(7) } });
  });

  it('link_superseded after Send New Registration, saying to use the newest email; the new link works', async () => {
    const old = await invite('sup@example.org', 'Su', 'Perseded');
    await w.run(['users', 'resend-registration', 'sup@example.org'], { now: at(2) });
    const fresh = emlLinkFor(w.mailDir, 'sup@example.org');
    expect(fresh).not.toBe(old);
    const s = await link(old, 'nih', 'sup', at(3));
    expect(s.exitCode).toBe(1);
    expect(error(s)).toMatchObject({ code: 'link_superseded', details: { supersededAt: at(2) } });
    expect(error(s).message).toBe(
      'Error linking your account: this link was replaced by a newer registration email sent 2026-11-30 09:00 EST. Use the link in Step 2 of the newest registration email.',
    );
    expect((await link(fresh, 'nih', 'sup', at(3))).exitCode).toBe(0);
  });

  it('link_used: already used to link a different account — each email is unique to its recipient', async () => {
    const url = await invite('used@example.org', 'Us', 'Ed');
    expect((await link(url, 'nih', 'used', at(1))).exitCode).toBe(0);
    const r = await link(url, 'ims', 'mallory', at(1));
    expect(r.exitCode).toBe(1);
    expect(error(r).code).toBe('link_used');
    expect(error(r).message).toContain('unique to the person receiving it');
    expect(error(r).message).toContain('contact the Site Administrator (admin@example.org) to create a new portal account');
  });

  it('link_malformed for a mis-copied link, link_unknown for a well-formed one that does not exist; the real link still works', async () => {
    const url = await invite('mal@example.org', 'Mal', 'Formed');
    for (const bad of [url.slice(0, -4), `${url.slice(0, -1)}${url.endsWith('A') ? 'B' : 'A'}`, url.replace('token=', 'token=x')]) {
      const r = await link(bad, 'nih', 'mal');
      expect(r.exitCode).toBe(1);
      expect(error(r).code).toBe('link_malformed');
      expect(error(r).message).toContain('copy and paste the entire URL');
    }
    const unknown = await link(mintToken(), 'nih', 'mal');
    expect(unknown.exitCode).toBe(1);
    expect(error(unknown).code).toBe('link_unknown');
    expect((await link(url, 'ims', 'mal')).exitCode).toBe(0);
  });

  it('account_in_use when the account (any case) is linked to another user of the portal', async () => {
    const url = await invite('dup@example.org', 'Dup', 'Licate');
    const r = await link(url, 'nih', 'JDOE');
    expect(r.exitCode).toBe(1);
    expect(error(r).code).toBe('account_in_use');
    expect(error(r).message).toContain('the NIH Network Login account "JDOE" is already linked to another user of portal grants');
  });

  it('every attempt is recorded for `users show`', async () => {
    const attempts = (await w.json(['users', 'show', 'mal@example.org'])).users[0].linkAttempts.map((a: { outcome: string }) => a.outcome);
    expect(attempts).toEqual(['linked']); // malformed links cannot be tied to a user
    const exp = (await w.json(['users', 'show', 'exp@example.org'])).users[0].linkAttempts.map((a: { outcome: string }) => a.outcome);
    expect(exp).toEqual(['link_expired', 'link_expired']);
  });

  it('"-" reads the link from standard input, so the token is never on a command line', async () => {
    const url = await invite('stdin@example.org', 'Std', 'In');
    const r = await w.run(['link', '-', '--service', 'ims', '--account', 'stdin'], { input: `${url}\n` });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toBe('Linked stdin (IMS Login Service) to portal grants.\n');
    // Nothing piped in (an empty file, a variable that was not set): a usage error, not "the link is incomplete".
    const empty = await w.run(['--json', 'link', '-', '--service', 'ims', '--account', 'stdin'], { input: '\n' });
    expect(empty.exitCode).toBe(2);
    expect(error(empty)).toMatchObject({ code: 'missing_value', message: expect.stringContaining('"-" read no link from standard input (it was empty)') });
  });

  it('a link of another portal, or of no portal, is a usage error naming the right address', async () => {
    const t = new URL(await invite('other@example.org', 'Ot', 'Her')).searchParams.get('token')!;
    const r = await w.run(['--json', 'link', linkUrl('https://evil.example.org', t), '--service', 'nih', '--account', 'other']);
    expect(r.exitCode).toBe(2);
    expect(error(r)).toMatchObject({ code: 'invalid_link', message: expect.stringContaining('its links start with https://grants.example.org/register/link') });
  });

  it('on a terminal, asks for the login service and the username', async () => {
    const url = await invite('ask@example.org', 'As', 'K');
    const r = await w.run(['link', url], { tty: true, answers: ['ims-employee', 'ask.k'] });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.asked).toEqual(['Which login service do you sign in with?', 'Your IMS Employee Login username:']);
    expect(r.stderr).toBe('Linked ask.k (IMS Employee Login) to portal grants.\n');
  });

  it('without a terminal, a missing --service or --account is a usage error naming the flag', async () => {
    const r = await w.run(['--json', 'link', mintToken(), '--account', 'x']);
    expect(r.exitCode).toBe(2);
    expect(error(r)).toMatchObject({ code: 'missing_value', message: expect.stringContaining('--service') });
    const account = await w.run(['--json', 'link', mintToken(), '--service', 'nih']);
    expect(error(account)).toMatchObject({ code: 'missing_value', message: expect.stringContaining('--account') });
  });

  it('a token of the first release that starts with "-" is read as an option: the error says to put -- before it', async () => {
    const r = await w.run(['link', `-${mintToken().slice(1)}`, '--service', 'nih', '--account', 'x']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('a Step 2 link token that starts with "-" was read as an option; put `--` before it');
  });
});
