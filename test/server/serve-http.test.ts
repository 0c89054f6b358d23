// `portalctl serve` over real HTTP, in this process: the real serve command
// and fastify on a port, a real OpenID Connect provider for NIH Network
// Login, a real SMTP server that receives the registration emails whose
// Step 2 links the tests open, and a movable clock. Clients are plain HTTP
// "browsers" (agent.ts) with their own cookies; each sends its own
// X-Forwarded-For (believed from loopback, as from a reverse proxy in front)
// so each has its own rate-limit bucket and its own recorded address.
//
// Checked in the store after every refusal: the user is still unlinked, no
// link attempt, no `linked` event — nothing but a sign-in that really
// happened links an account.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintToken } from '../../src/domain/tokens.js';
import { Agent, chooseService, field, h1, isCallback, seen, signInWithNih } from './agent.js';
import { API_TOKENS, CLIENT_SECRET, startServe, UNTRUSTED_PROXY, type ServeHarness } from './harness.js';

let h: ServeHarness;
let next = 10;
/** A browser of its own, from its own address. */
const agent = (ua = 'Mozilla/5.0 (Test browser)') => new Agent({ 'user-agent': ua, 'x-forwarded-for': `198.51.100.${next++}` });
const links: string[] = [];

async function invite(email: string, firstName = 'Eve'): Promise<string> {
  const link = await h.invite(email, firstName);
  links.push(link);
  return link;
}

async function show(email: string) {
  const doc = await h.world.json(['users', 'show', email]);
  return doc.users[0] as {
    id: number;
    status: string;
    loginService: string | null;
    username: string | null;
    linkViews: { clientAddress: string; userAgent: string }[];
    linkAttempts: { loginService: string; username: string; outcome: string; actor: string }[];
    registrations: { state: string }[];
  };
}

/** The user is exactly as invited: unlinked, no attempt, no link event. */
async function untouched(email: string) {
  const u = await show(email);
  expect(u.status, email).toBe('pending');
  expect(u.loginService).toBeNull();
  expect(u.linkAttempts).toEqual([]);
  expect(u.registrations.map((r) => r.state)).toEqual(['active']);
  const events = (await h.events()).filter((e) => e.userId === u.id).map((e) => e.type);
  expect(events.filter((t) => !['invited', 'email_sent', 'link_viewed'].includes(t))).toEqual([]);
}

const lastLog = (path: string) => [...h.logs()].reverse().find((l) => String(l.path).startsWith(path))!;

beforeAll(async () => {
  h = await startServe();
});

afterAll(async () => {
  expect(await h?.stop()).toBe(0);
});

describe('the Step 2 page (GET and HEAD)', () => {
  it('greets the person, names the portal, states the expiry in its zone, offers each service; records the view', async () => {
    const link = await invite('paula@example.org', 'Paula');
    expect(link).toMatch(new RegExp(`^${h.url}/register/link\\?token=[A-Za-z0-9_-]{27}$`));
    const a = agent('Mozilla/5.0 (X11; Linux x86_64) Paula');
    const r = await a.request(link);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const text = seen(r.text);
    expect(text).toContain('Hello Paula, you have been registered as a user of Grants Portal.');
    expect(text).toContain('This link expires on Saturday, December 5, 2026 at 09:00 Eastern Standard Time (December 5, 14:00 UTC).');
    for (const name of ['NIH Network Login', 'IMS Employee Login', 'IMS Login Service']) expect(r.text).toContain(`>Link with ${name}</button>`);
    expect(text).toContain('Register for an IMS Login Service account');
    expect(r.text).toContain('<form method="post" action="link">');
    expect(r.text).toContain('<link rel="stylesheet" href="assets/portalctl.css?v=');

    const u = await show('paula@example.org');
    expect(u.status).toBe('pending');
    expect(u.linkViews).toEqual([expect.objectContaining({ clientAddress: a.headers['x-forwarded-for'], userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Paula' })]);
    const viewed = (await h.events()).filter((e) => e.type === 'link_viewed' && e.userId === u.id);
    expect(viewed).toHaveLength(1);
    expect(viewed[0]!.data).toMatchObject({ clientAddress: a.headers['x-forwarded-for'], userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Paula' });
    expect(JSON.stringify(viewed)).not.toContain(new URL(link).searchParams.get('token'));
    // The request log names the client as the proxy forwarded it, as the view does.
    expect(lastLog('/register/link')).toMatchObject({ method: 'GET', status: 200, ip: a.headers['x-forwarded-for'] });

    // The stylesheet the page links to.
    const css = await a.request(new URL('assets/portalctl.css', link));
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
  });

  it('sends the security headers and a cookie that is HttpOnly and SameSite=Lax', async () => {
    const link = await invite('headers@example.org');
    const r = await agent().request(link);
    const csp = r.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("style-src 'self'");
    // The POST answers with a redirect to the login service; browsers check every hop against form-action.
    expect(csp).toContain(`form-action 'self' https: ${h.oidc.issuer}`);
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toMatch(/script-src|unsafe-inline|unsafe-eval/);
    expect(r.headers.get('referrer-policy')).toBe('no-referrer');
    expect(r.headers.get('cache-control')).toBe('no-store');
    expect(r.headers.get('x-frame-options')).toBe('DENY');
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    const cookie = r.headers.getSetCookie().find((c) => c.startsWith('portalctl-browser='))!;
    expect(cookie).toMatch(/; HttpOnly/);
    expect(cookie).toMatch(/; SameSite=Lax/);
    expect(cookie).not.toMatch(/Secure/); // the portal is plain http here; https: app.test.ts
    expect(r.text).not.toMatch(/<script|\sstyle=|\son[a-z]+=/i);
  });

  it('Outlook Safe Links and Proofpoint open it twenty times each, GET and HEAD, and submit its form: nothing is used; then the person links', async () => {
    const link = await invite('scanned@example.org');
    const safeLinks = new Agent({ 'user-agent': 'Mozilla/5.0 (compatible; Microsoft Office Protocol Discovery; Safe Links)', 'x-forwarded-for': '40.94.1.1' });
    const proofpoint = new Agent({ 'user-agent': 'Proofpoint URL Defense', 'x-forwarded-for': '148.163.1.1' });
    for (let i = 0; i < 20; i++) {
      expect((await safeLinks.request(link, { method: i % 2 ? 'HEAD' : 'GET' })).status).toBe(200);
      expect((await proofpoint.request(link, { method: i % 2 ? 'GET' : 'HEAD' })).status).toBe(200);
    }
    // Scanners that submit forms: without the page's cookie it is refused; with it, it goes as far as the login page.
    const page = await proofpoint.request(link);
    const form = { token: field(page.text, 'token'), csrf: field(page.text, 'csrf'), service: 'nih' };
    const bare = await new Agent({ 'x-forwarded-for': '148.163.1.2' }).request(new URL('link', link), { form });
    expect(bare.status).toBe(403);
    const submitted = await proofpoint.request(new URL('link', link), { form });
    expect(submitted.status).toBe(303);
    const atProvider = await proofpoint.follow(new URL(submitted.headers.get('location')!, link), isCallback(h));
    expect(atProvider.stoppedAt).toBeUndefined();
    expect(atProvider.last.text).toContain('<h1>Sign in</h1>');

    await untouched('scanned@example.org');
    const u = await show('scanned@example.org');
    expect(u.linkViews).toHaveLength(41);
    expect(new Set(u.linkViews.map((v) => v.clientAddress))).toEqual(new Set(['40.94.1.1', '148.163.1.1']));

    // The person, after all that.
    const person = agent();
    const back = await person.request(await signInWithNih(person, h, link, 'asmith'));
    expect(back.status).toBe(200);
    expect(h1(back.text)).toBe('Your NIH Network Login account asmith is now linked to Grants Portal');
    expect(back.text).toContain(`href="${h.url}"`);
    const linked = await show('scanned@example.org');
    expect(linked).toMatchObject({ status: 'linked', loginService: 'nih', username: 'asmith' });
    expect(linked.linkAttempts).toEqual([expect.objectContaining({ loginService: 'nih', username: 'asmith', outcome: 'linked', actor: 'serve' })]);
    const who = await h.world.run(['users', 'whoami-login', 'scanned@example.org']);
    expect(who.stdout).toContain('asmith (NIH Network Login)');
  });
});

describe('the "Error linking your account" pages', () => {
  const expectError = (r: { status: number; text: string }, status: number, words: string[]) => {
    expect(r.status).toBe(status);
    expect(h1(r.text)).toBe('Error linking your account');
    for (const w of words) expect(seen(r.text)).toContain(w);
    expect(r.text).not.toContain('<form');
  };

  it('unknown (404), truncated or altered (400), missing (400)', async () => {
    const a = agent();
    expectError(await a.request(`${h.url}/register/link?token=${mintToken()}`), 404, ['There is no such registration link.']);
    const link = await invite('copied@example.org');
    expectError(await a.request(link.slice(0, -1)), 400, ['incorrectly copied and pasted', 'copy and paste the entire URL']);
    const token = new URL(link).searchParams.get('token')!;
    const altered = token.slice(0, 5) + (token[5] === 'A' ? 'B' : 'A') + token.slice(6);
    expectError(await a.request(`${h.url}/register/link?token=${altered}`), 400, ['The link is incomplete or has been changed.']);
    expectError(await a.request(`${h.url}/register/link`), 400, ['The link is incomplete']);
    expect(lastLog('/register/link')).toMatchObject({ status: 400, outcome: 'link_malformed' });
    await untouched('copied@example.org');
  });

  it('a link that leads nowhere (cut short, missing, unknown) still names the one portal of the store and its Site Administrator', async () => {
    const a = agent();
    const link = await invite('nowhere@example.org');
    for (const r of [
      await a.request(link.slice(0, -1)),
      await a.request(`${h.url}/register/link`),
      await a.request(`${h.url}/register/link?token=${mintToken()}`),
    ]) {
      expect(h1(r.text)).toBe('Error linking your account');
      expect(seen(r.text)).toContain('Grants Portal');
      expect(seen(r.text)).toContain('admin@example.org');
    }
  });

  it('superseded by a newer registration email (410); the new link works', async () => {
    const old = await invite('resent@example.org');
    const resent = await h.world.run(['users', 'resend-registration', 'resent@example.org']);
    expect(resent.exitCode).toBe(0);
    await h.smtp.waitFor(h.smtp.messages.length);
    const fresh = h.smtp.linkFor('resent@example.org');
    expect(fresh).not.toBe(old);
    expectError(await agent().request(old), 410, [
      'A newer registration email replaced this link on',
      'Use the link in Step 2 of the newest registration email',
    ]);
    expect((await agent().request(fresh)).status).toBe(200);
  });

  it('expired, once the clock has passed the expiry (410), and the expiry is recorded as an event', async () => {
    const link = await invite('late@example.org');
    const u = await show('late@example.org');
    h.clock.advanceDays(8);
    try {
      expectError(await agent().request(link), 410, [
        'The link expired on Saturday, December 5, 2026 at 09:00 Eastern Standard Time',
        'Contact the Site Administrator at admin@example.org to reissue you a new registration email with a new link.',
      ]);
    } finally {
      h.clock.advanceDays(-8);
    }
    const expired = (await h.events()).filter((e) => e.type === 'expired' && e.userId === u.id);
    expect(expired).toHaveLength(1);
  });

  it('used to link a different account (410) — on opening it, and on signing in with another account', async () => {
    const link = await invite('carol@example.org', 'Carol');
    // Carol links through the trusted-header service (ims, trusted from this machine).
    const carol = agent();
    const chosen = await chooseService(carol, link, 'ims');
    expect([chosen.status, chosen.headers.get('location')]).toEqual([303, 'callback/ims']);
    const linked = await carol.request(`${h.url}/register/callback/ims`, { headers: { 'x-remote-user': 'carol.c' } });
    expect(linked.status).toBe(200);
    expect(h1(linked.text)).toBe('Your IMS Login Service account carol.c is now linked to Grants Portal');

    // Someone she forwarded the email to.
    const other = agent();
    expectError(await other.request(link), 410, [
      'This link has already been used to link a different account.',
      'Each registration email is unique to the person receiving it.',
    ]);
    // Using it needs a usable link: the form is not even offered, and a POST of the old form is refused.
    const form = await carol.request(new URL('link', link), {
      form: { token: new URL(link).searchParams.get('token')!, csrf: 'x', service: 'nih' },
    });
    expect(form.status).toBe(403);

    const u = await show('carol@example.org');
    expect(u).toMatchObject({ status: 'linked', loginService: 'ims', username: 'carol.c' });
    expect(u.linkAttempts.map((x) => x.outcome)).toEqual(['linked']);
  });

  it('a login-service account already linked to another user (409)', async () => {
    const first = await invite('dana@example.org', 'Dana');
    const second = await invite('dana2@example.org', 'Dana');
    for (const [link, status] of [
      [first, 200],
      [second, 409],
    ] as const) {
      const a = agent();
      await chooseService(a, link, 'ims');
      const r = await a.request(`${h.url}/register/callback/ims`, { headers: { 'x-remote-user': 'dana' } });
      expect(r.status).toBe(status);
      if (status === 409) expect(seen(r.text)).toContain('The IMS Login Service account dana is already linked to another user of Grants Portal.');
    }
    const u = await show('dana2@example.org');
    expect(u.status).toBe('pending');
    expect(u.linkAttempts).toEqual([expect.objectContaining({ username: 'dana', outcome: 'account_in_use' })]);
    const failed = (await h.events()).filter((e) => e.type === 'link_failed' && e.userId === u.id);
    expect(failed.map((e) => e.data.code)).toEqual(['account_in_use']);
  });

  it('an address that is no page (404)', async () => {
    const r = await agent().request(`${h.url}/register/nothing-here`);
    expect(r.status).toBe(404);
    expect(h1(r.text)).toBe('Page not found');
  });
});

describe('sign-in: only the return from a real sign-in links, and only what was verified', () => {
  it('rejects ID tokens with a wrong signature, audience, issuer, nonce or expiry', async () => {
    const reasons: Record<string, string> = {
      'wrong-key': 'JWT signature verification failed',
      'wrong-aud': '"aud"',
      'wrong-iss': '"iss"',
      'wrong-nonce': '"nonce"',
      expired: '"exp"',
    };
    for (const [fault, reason] of Object.entries(reasons)) {
      const email = `fault-${fault}@example.org`;
      const link = await invite(email);
      const a = agent();
      const callback = await signInWithNih(a, h, link, 'mallory');
      h.oidc.idTokenFault = fault as typeof h.oidc.idTokenFault;
      let r;
      try {
        r = await a.request(callback);
      } finally {
        h.oidc.idTokenFault = 'none';
      }
      expect(r.status, fault).toBe(400);
      expect(seen(r.text)).toContain('The sign-in with the login service did not complete');
      expect(lastLog('/register/callback/nih')).toMatchObject({ status: 400, outcome: 'signin_failed', reason: expect.stringContaining(reason) });
      await untouched(email);
    }
  });

  it('a forged state, a callback without a start, a tampered or foreign cookie, a stale sign-in: nothing linked', async () => {
    const email = 'forged@example.org';
    const link = await invite(email);

    // Forged state: this browser's transaction says otherwise.
    const a = agent();
    const callback = await signInWithNih(a, h, link, 'mallory');
    const forged = new URL(callback);
    forged.searchParams.set('state', 'forged-state');
    expect((await a.request(forged)).status).toBe(400);
    expect(lastLog('/register/callback/nih').reason).toContain('"state"');
    // The transaction was used up by that attempt: the genuine callback now fails too.
    expect((await a.request(callback)).status).toBe(400);

    // A callback no POST began (no cookie at all).
    const b = agent();
    const none = await b.request(`${h.url}/register/callback/nih?code=abc&state=xyz&iss=${encodeURIComponent(h.oidc.issuer)}`);
    expect(none.status).toBe(400);
    expect(lastLog('/register/callback/nih').reason).toBe('no pending sign-in');

    // A cookie changed by one character.
    const c = agent();
    const cb = await signInWithNih(c, h, link, 'mallory');
    const jar = c.jar(h.url);
    const sealed = jar.get('portalctl-signin')!;
    jar.set('portalctl-signin', sealed.slice(0, 20) + (sealed[20] === 'A' ? 'B' : 'A') + sealed.slice(21));
    expect((await c.request(cb)).status).toBe(400);
    expect(lastLog('/register/callback/nih').reason).toBe('pending sign-in cookie not ours');

    // A pending sign-in with the header service brought to the OpenID Connect callback.
    const d = agent();
    await chooseService(d, link, 'ims');
    expect((await d.request(`${h.url}/register/callback/nih?code=abc&state=xyz`)).status).toBe(400);
    expect(lastLog('/register/callback/nih').reason).toBe('pending sign-in is for ims');

    // A sign-in that took longer than ten minutes.
    const e = agent();
    const slow = await signInWithNih(e, h, link, 'mallory');
    h.clock.now = new Date(h.clock.now.getTime() + 11 * 60_000);
    try {
      expect((await e.request(slow)).status).toBe(400);
    } finally {
      h.clock.now = new Date(h.clock.now.getTime() - 11 * 60_000);
    }
    expect(lastLog('/register/callback/nih').reason).toBe('pending sign-in expired');

    // Cancel at the provider's login page.
    const f = agent();
    const chosen = await chooseService(f, link, 'nih');
    const login = await f.follow(new URL(chosen.headers.get('location')!, link), isCallback(h));
    const abort = /formaction="([^"]+\/abort)"/.exec(login.last.text)![1]!;
    const cancelled = await f.follow(new URL(abort, login.last.url), isCallback(h), { form: {} });
    expect(cancelled.stoppedAt!.searchParams.get('error')).toBe('access_denied');
    expect((await f.request(cancelled.stoppedAt!)).status).toBe(400);
    expect(lastLog('/register/callback/nih').reason).toContain('access_denied');

    await untouched(email);
  });

  it('a replayed callback, with the captured cookie or without, changes nothing', async () => {
    const email = 'replay@example.org';
    const link = await invite(email);
    const a = agent();
    const callback = await signInWithNih(a, h, link, 'jdoe');
    const captured = a.jar(h.url).get('portalctl-signin')!;
    // A HEAD of the callback (a link checker, a prefetch) spends nothing.
    expect((await a.request(callback, { method: 'HEAD' })).status).toBe(404);
    expect(a.jar(h.url).get('portalctl-signin')).toBe(captured);
    expect((await a.request(callback)).status).toBe(200);
    expect(a.jar(h.url).has('portalctl-signin')).toBe(false); // cleared on the way back

    expect((await a.request(callback)).status).toBe(400); // no transaction any more
    const attacker = agent();
    attacker.jar(h.url).set('portalctl-signin', captured);
    expect((await attacker.request(callback)).status).toBe(400); // the code is spent at the provider
    expect(lastLog('/register/callback/nih').reason).toContain('invalid_grant');

    const u = await show(email);
    expect(u).toMatchObject({ status: 'linked', loginService: 'nih', username: 'jdoe' });
    expect(u.linkAttempts.map((x) => x.outcome)).toEqual(['linked']);
  });

  it('an account without the username claim is not linked', async () => {
    const email = 'claimless@example.org';
    const link = await invite(email);
    const a = agent();
    const r = await a.request(await signInWithNih(a, h, link, 'nobody'));
    expect(r.status).toBe(400);
    expect(lastLog('/register/callback/nih').reason).toContain('"preferred_username"');
    await untouched(email);
  });

  it('a header service believes its header only from its proxies — not from anyone else, whatever X-Forwarded-For says', async () => {
    const email = 'header@example.org';
    const link = await invite(email);
    const a = agent();
    const chosen = await chooseService(a, link, 'ims-employee');
    expect([chosen.status, chosen.headers.get('location')]).toEqual([303, 'callback/ims-employee']);
    const r = await a.request(`${h.url}/register/callback/ims-employee`, {
      headers: { 'x-remote-user': 'mallory', 'x-forwarded-for': UNTRUSTED_PROXY },
    });
    expect(r.status).toBe(403);
    expect(lastLog('/register/callback/ims-employee')).toMatchObject({ outcome: 'signin_failed', reason: 'header from untrusted address 127.0.0.1' });

    // From a trusted proxy, but the proxy let the request through without the header.
    const b = agent();
    await chooseService(b, link, 'ims');
    expect((await b.request(`${h.url}/register/callback/ims`)).status).toBe(400);
    expect(lastLog('/register/callback/ims').reason).toBe('no X-Remote-User header');
    // Nothing was used up: the pending sign-in waits for a request the proxy does let through.
    expect(b.jar(h.url).has('portalctl-signin')).toBe(true);
    await untouched(email);
  });

  it("a header service's username arrives as UTF-8 bytes, as a SAML service provider sends it: Müller is Müller, and is the account müller", async () => {
    const utf8Bytes = (text: string) => Buffer.from(text, 'utf8').toString('latin1');
    const first = await invite('mueller@example.org');
    const a = agent();
    await chooseService(a, first, 'ims');
    const r = await a.request(`${h.url}/register/callback/ims`, { headers: { 'x-remote-user': utf8Bytes('Müller') } });
    expect(r.status).toBe(200);
    expect(r.text).toContain('account Müller is now linked');
    expect(await show('mueller@example.org')).toMatchObject({ status: 'linked', loginService: 'ims', username: 'Müller' });
    // The same account by another spelling, for another person: refused as SPEC says.
    const second = await invite('other@example.org');
    const b = agent();
    await chooseService(b, second, 'ims');
    expect((await b.request(`${h.url}/register/callback/ims`, { headers: { 'x-remote-user': utf8Bytes('MÜLLER') } })).status).toBe(409);
    // Bytes that are not UTF-8 (a lone Latin-1 é) are no username: nothing linked, the sign-in kept for a good request.
    const c = agent();
    await chooseService(c, second, 'ims');
    expect((await c.request(`${h.url}/register/callback/ims`, { headers: { 'x-remote-user': 'h\u00e9llo' } })).status).toBe(400);
    expect(lastLog('/register/callback/ims').reason).toBe('the X-Remote-User header is not UTF-8 text');
    expect(c.jar(h.url).has('portalctl-signin')).toBe(true);
    expect(await show('other@example.org')).toMatchObject({ status: 'pending' });
  });

  it('two browsers racing to link one registration: exactly one wins', async () => {
    const email = 'race@example.org';
    const link = await invite(email);
    const [a, b] = [agent(), agent()];
    const [ca, cb] = await Promise.all([signInWithNih(a, h, link, 'bwayne'), signInWithNih(b, h, link, 'ckent')]);
    const replies = await Promise.all([a.request(ca), b.request(cb)]);
    expect(replies.map((r) => r.status).sort()).toEqual([200, 410]);
    const u = await show(email);
    expect(u.status).toBe('linked');
    const winner = replies[0]!.status === 200 ? 'bwayne' : 'ckent';
    expect(u.username).toBe(winner);
    expect(u.linkAttempts.map((x) => x.outcome).sort()).toEqual(['link_used', 'linked']);
  });
});

describe('the form: protected against cross-site requests', () => {
  it('refuses a POST without the browser cookie, with another browser’s token, from another site, or not a form', async () => {
    const email = 'csrf@example.org';
    const link = await invite(email);
    const a = agent();
    const b = agent();
    const pa = await a.request(link);
    const pb = await b.request(link);
    const token = field(pa.text, 'token');
    const post = (who: Agent, init: Parameters<Agent['request']>[1]) => who.request(new URL('link', link), init);

    expect((await post(agent(), { form: { token, csrf: field(pa.text, 'csrf'), service: 'nih' } })).status).toBe(403);
    expect((await post(a, { form: { token, csrf: field(pb.text, 'csrf'), service: 'nih' } })).status).toBe(403);
    expect((await post(a, { form: { token, csrf: '', service: 'nih' } })).status).toBe(403);
    const cross = await post(a, { form: { token, csrf: field(pa.text, 'csrf'), service: 'nih' }, headers: { 'sec-fetch-site': 'cross-site' } });
    expect(cross.status).toBe(403);
    expect(h1(cross.text)).toBe('Error linking your account');
    expect(lastLog('/register/link').reason).toBe('cross-site form (Sec-Fetch-Site: cross-site)');
    const json = await post(a, {
      body: JSON.stringify({ token, csrf: field(pa.text, 'csrf'), service: 'nih' }),
      headers: { 'content-type': 'application/json' },
      method: 'POST',
    });
    expect(json.status).toBe(415);
    const big = await post(a, { form: { token, csrf: field(pa.text, 'csrf'), service: 'nih', pad: 'x'.repeat(10_000) } });
    expect(big.status).toBe(413);
    expect(a.jar(h.url).has('portalctl-signin')).toBe(false);

    // The right form from the right browser starts the sign-in: a sealed, HttpOnly, SameSite=Lax cookie for ten minutes.
    const ok = await post(a, { form: { token, csrf: field(pa.text, 'csrf'), service: 'nih' } });
    expect(ok.status).toBe(303);
    const cookie = ok.headers.getSetCookie().find((c) => c.startsWith('portalctl-signin='))!;
    expect(cookie).toMatch(/Max-Age=600; Path=\/; HttpOnly; SameSite=Lax/);
    expect(cookie).not.toContain(token);
    expect(new URL(ok.headers.get('location')!).origin).toBe(h.oidc.issuer);
    await untouched(email);
  });

  it('a service without configuration cannot be chosen', async () => {
    const link = await invite('nosvc@example.org');
    const r = await chooseService(agent(), link, 'github');
    expect(r.status).toBe(503);
  });
});

describe('rate limit', () => {
  it('answers an address that asks too often with the "Too many attempts" page; other addresses go on', async () => {
    const link = await invite('busy@example.org');
    const busy = new Agent({ 'x-forwarded-for': '203.0.113.99' });
    const statuses: number[] = [];
    for (let i = 0; i < 61; i++) statuses.push((await busy.request(`${h.url}/register/link?token=${mintToken()}`)).status);
    expect(statuses.slice(0, 60).every((s) => s === 404)).toBe(true);
    const limited = await busy.request(link);
    expect(limited.status).toBe(429);
    expect(h1(limited.text)).toBe('Too many attempts');
    // When to come back: the rest of the minute, in seconds.
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(Number(limited.headers.get('retry-after'))).toBeLessThanOrEqual(60);
    // The form and the return from the login service share the bucket: a client cannot go on there instead.
    const form = await busy.request(`${h.url}/register/link`, { form: { token: new URL(link).searchParams.get('token')!, csrf: 'x', service: 'ims' } });
    expect(form.status).toBe(429);
    expect((await busy.request(`${h.url}/register/callback/ims`, { headers: { 'x-remote-user': 'busy' } })).status).toBe(429);
    expect((await agent().request(link)).status).toBe(200);
  });
});

describe('the access API', () => {
  const api = (query: string, token?: string) =>
    fetch(`${h.url}/api/v1/access?${query}`, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });

  it('wants a bearer token from the token file: none → 401, a wrong one → 401', async () => {
    const none = await api('portal=grants&service=nih&account=asmith');
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="portalctl"');
    expect(await none.json()).toMatchObject({ error: { code: 'unauthorized' } });
    const wrong = await api('portal=grants&service=nih&account=asmith', `${API_TOKENS[0]}x`);
    expect(wrong.status).toBe(401);
    expect((await api('portal=grants&service=nih&account=asmith', '')).status).toBe(401);
  });

  it('with a right token (either of the file’s): 200 and the user when linked, 403 with the access-check diagnosis when not', async () => {
    // asmith was linked by the scanner test above.
    for (const token of API_TOKENS) {
      const ok = await api('portal=grants&service=nih&account=asmith', token);
      expect(ok.status).toBe(200);
      expect(ok.headers.get('cache-control')).toBe('no-store');
      expect(await ok.json()).toMatchObject({
        linked: true,
        user: { email: 'scanned@example.org', loginService: 'nih', username: 'asmith', status: 'linked' },
      });
    }
    const denied = await api('portal=grants&service=nih&account=mallory', API_TOKENS[1]);
    expect(denied.status).toBe(403);
    const body = await denied.json();
    const cli = await h.world.json(['users', 'access-check', '--service', 'nih', '--account', 'mallory'], { now: h.clock.now.toISOString() });
    expect(body).toEqual({ error: { code: 'access_denied', message: cli.diagnosis }, ...cli });
    expect(body.nextSteps.length).toBeGreaterThan(0);
  });

  it('says what is wrong with a question', async () => {
    const t = API_TOKENS[0];
    expect((await api('portal=grants&service=nih', t)).status).toBe(400);
    expect((await api('portal=grants&service=github&account=x', t)).status).toBe(400);
    expect((await api('portal=nope&service=nih&account=x', t)).status).toBe(404);
    const twice = await api('portal=grants&service=nih&service=ims&account=x', t);
    expect(twice.status).toBe(400);
    expect(await twice.json()).toEqual({ error: { code: 'usage', message: 'Give service= once, not 2 times.' } });
    expect((await api('service=nih&account=asmith', t)).status).toBe(200); // the store holds one portal
  });

  it('sees a portal another process adds while it runs (the portals are read anew each turn of the event loop)', async () => {
    const t = API_TOKENS[0];
    const added = await h.world.run([
      'portals',
      'add',
      'training',
      '--name',
      'Training',
      '--url',
      'https://training.example.org',
      '--admin-email',
      'admin@example.org',
    ]);
    expect(added.exitCode, added.stderr).toBe(0);
    const which = await api('service=nih&account=asmith', t);
    expect(which.status).toBe(400);
    expect(await which.json()).toMatchObject({ error: { code: 'portal_required' } });
    expect((await api('portal=training&service=nih&account=asmith', t)).status).toBe(403);
  });
});

describe('health and the log', () => {
  it('/healthz answers 200 while the store answers', async () => {
    const r = await fetch(`${h.url}/healthz`);
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ ok: true });
  });

  it('one JSON line per request, the path without its query, and never a token, code, state, cookie or secret', async () => {
    const lines = h.logs();
    const requests = lines.filter((l) => l.method);
    expect(requests.length).toBeGreaterThan(150);
    for (const l of requests) {
      expect(l).toEqual(
        expect.objectContaining({ time: expect.any(String), method: expect.any(String), path: expect.any(String), status: expect.any(Number) }),
      );
      expect(String(l.path)).not.toContain('?');
    }
    const stdout = h.output().stdout;
    expect(links.length).toBeGreaterThan(10);
    for (const link of links) expect(stdout).not.toContain(new URL(link).searchParams.get('token'));
    for (const secret of [CLIENT_SECRET, ...API_TOKENS]) expect(stdout).not.toContain(secret);
    expect(stdout).not.toMatch(/code=|state=|portalctl-signin|portalctl-browser|Bearer/);
    for (const token of h.oidc.idTokens) expect(stdout).not.toContain(token.split('.')[1]);
  });
});
