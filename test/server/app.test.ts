// The server factory itself (src/server/app.ts), built with a real store and
// driven by fastify's inject — what needs a chosen client address, several
// hosts, an https public URL, a failing store or a login service that is
// down.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer, type ServerDeps } from '../../src/server/app.js';
import { openStore } from '../../src/store/open.js';
import type { Store } from '../../src/store/types.js';
import { startOidcProvider, type TestOidc } from '../helpers/oidc.js';
import { GRANTS, T0, world, type World } from '../helpers/run.js';
import { Agent, field, h1 } from './agent.js';
import { freePort } from './harness.js';

let w: World;
let store: Store;
let oidc: TestOidc;
const servers: FastifyInstance[] = [];

/** The Step 2 token in the newest .eml written for `to`. */
function tokenFor(to: string): string {
  for (const f of readdirSync(w.mailDir).sort().reverse()) {
    const raw = readFileSync(join(w.mailDir, f), 'utf8');
    if (!raw.includes(to)) continue;
    const m = /token=3D([A-Za-z0-9_-]{27})|token=([A-Za-z0-9_-]{27})/.exec(raw.replace(/=\r?\n/g, ''));
    if (m) return (m[1] ?? m[2])!;
  }
  throw new Error(`no token for ${to}`);
}

async function invite(email: string): Promise<string> {
  const r = await w.run(['users', 'invite', '--email', email, '--first-name', 'Ann', '--last-name', 'Lee']);
  expect(r.exitCode, r.stderr).toBe(0);
  return tokenFor(email);
}

const lines: string[] = [];
/** The request log writes once a turn of the event loop: a request's line is there once the turn that answered it ends. */
const afterTurn = () => new Promise<void>((resolve) => setImmediate(resolve));
const sink = new Writable({
  write(chunk, _e, done) {
    lines.push(...String(chunk).split('\n').filter(Boolean));
    done();
  },
});

async function server(over: Partial<ServerDeps> = {}): Promise<FastifyInstance> {
  const app = await buildServer({
    store,
    clock: () => new Date(T0),
    zone: 'America/New_York',
    actor: 'serve',
    services: { ims: { type: 'header', header: 'X-Remote-User', trustedProxies: ['10.0.0.5', '10.1.0.0/16'] } },
    apiTokens: [],
    log: sink,
    expirySweepMs: 0,
    ...over,
  });
  servers.push(app);
  await app.ready();
  return app;
}

const cookieHeader = (cookies: { name: string; value: string }[]) => cookies.map((c) => `${c.name}=${c.value}`).join('; ');

/** Step 2 page and "Link with …" from one address: the cookies of the pending sign-in and the page it answered. */
async function start(app: FastifyInstance, token: string, service: string, remoteAddress = '198.51.100.7') {
  const page = await app.inject({ method: 'GET', url: `/register/link?token=${token}`, remoteAddress });
  expect(page.statusCode, page.body).toBe(200);
  const post = await app.inject({
    method: 'POST',
    url: '/register/link',
    remoteAddress,
    headers: { cookie: cookieHeader(page.cookies), 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ token, csrf: field(page.body, 'csrf'), service }).toString(),
  });
  return { page, post, cookie: cookieHeader([...page.cookies, ...post.cookies]) };
}

beforeAll(async () => {
  w = world();
  expect((await w.run(GRANTS)).exitCode).toBe(0);
  store = await openStore({ value: w.db, explicit: true }, { create: false });
  oidc = await startOidcProvider({
    clients: [{ client_id: 'grants', client_secret: 'grants-secret', redirect_uris: [`https://register.example.org/register/callback/nih`] }],
    accounts: { jdoe: { sub: 'u-1', preferred_username: 'jdoe' } },
  });
});

afterAll(async () => {
  for (const s of servers) await s.close();
  await store?.close();
  await oidc?.close();
  w?.close();
});

describe('behind a load balancer: state in the browser, not in the host', () => {
  it('a sign-in started on one host finishes on another that shares the secrets; a host with other secrets refuses it', async () => {
    const token = await invite('lb@example.org');
    const secrets = { apiTokens: ['shared-api-token-0123456789abcdef'] };
    const [a, b, stranger] = await Promise.all([server(secrets), server(secrets), server({ apiTokens: ['another-token-0123456789abcdef'] })]);
    const { cookie } = await start(a, token, 'ims');

    const refused = await stranger.inject({ url: '/register/callback/ims', remoteAddress: '10.0.0.5', headers: { cookie, 'x-remote-user': 'ann' } });
    expect(refused.statusCode).toBe(400);
    await afterTurn();
    expect(lines.at(-1)).toContain('pending sign-in cookie not ours');

    const linked = await b.inject({ url: '/register/callback/ims', remoteAddress: '10.0.0.5', headers: { cookie, 'x-remote-user': 'ann' } });
    expect(linked.statusCode, linked.body).toBe(200);
    expect(h1(linked.body)).toBe('Your IMS Login Service account ann is now linked to Grants Portal');
  });
});

describe('header services and client addresses', () => {
  it('believes the header from a listed address or network (IPv4 written as IPv6 too), from nobody else', async () => {
    const app = await server();
    for (const [address, status] of [
      ['10.0.0.6', 403],
      ['192.0.2.1', 403],
      ['10.0.0.5', 200],
    ] as const) {
      const token = await invite(`hdr-${address.replace(/[^0-9]/g, '')}@example.org`);
      const { cookie } = await start(app, token, 'ims');
      const r = await app.inject({ url: '/register/callback/ims', remoteAddress: address, headers: { cookie, 'x-remote-user': `u-${address}` } });
      expect(r.statusCode, address).toBe(status);
    }
    for (const address of ['::ffff:10.0.0.5', '10.1.200.3']) {
      const token = await invite(`hdr2-${address.replace(/[^0-9a-f]/g, '')}@example.org`);
      const { cookie } = await start(app, token, 'ims');
      const r = await app.inject({
        url: '/register/callback/ims',
        remoteAddress: address,
        headers: { cookie, 'x-remote-user': `v-${address.replace(/:/g, '')}` },
      });
      expect(r.statusCode, address).toBe(200);
    }
  });

  it('records the client address: X-Forwarded-For only from this machine or a trusted proxy', async () => {
    const app = await server();
    const token = await invite('addr@example.org');
    await app.inject({ url: `/register/link?token=${token}`, remoteAddress: '203.0.113.5', headers: { 'x-forwarded-for': '1.2.3.4' } });
    await app.inject({ url: `/register/link?token=${token}`, remoteAddress: '127.0.0.1', headers: { 'x-forwarded-for': '198.51.100.77' } });
    await app.inject({ url: `/register/link?token=${token}`, remoteAddress: '10.0.0.5', headers: { 'x-forwarded-for': '198.51.100.78' } });
    const views = (await w.json(['users', 'show', 'addr@example.org'])).users[0].linkViews.map((v: { clientAddress: string }) => v.clientAddress);
    expect(views).toEqual(['203.0.113.5', '198.51.100.77', '198.51.100.78']);
  });

  it('a header service that trusts every address (0.0.0.0/0, which doctor warns about) starts and means it', async () => {
    const app = await server({ services: { ims: { type: 'header', header: 'X-Remote-User', trustedProxies: ['0.0.0.0/0'] } } });
    const token = await invite('everyone@example.org');
    const { cookie } = await start(app, token, 'ims', '192.0.2.44');
    const r = await app.inject({ url: '/register/callback/ims', remoteAddress: '192.0.2.44', headers: { cookie, 'x-remote-user': 'evy' } });
    expect(r.statusCode).toBe(200);
    // X-Forwarded-For from anywhere over IPv4; from this machine also as ::1 and as IPv4 written as IPv6.
    const other = await invite('everyone2@example.org');
    for (const [remoteAddress, forwarded] of [
      ['203.0.113.9', '198.51.100.1'],
      ['::1', '198.51.100.2'],
      ['::ffff:127.0.0.1', '198.51.100.3'],
      ['2001:db8::5', '198.51.100.4'],
    ]) {
      await app.inject({ url: `/register/link?token=${other}`, remoteAddress, headers: { 'x-forwarded-for': forwarded } });
    }
    const views = (await w.json(['users', 'show', 'everyone2@example.org'])).users[0].linkViews.map((v: { clientAddress: string }) => v.clientAddress);
    expect(views).toEqual(['198.51.100.1', '198.51.100.2', '198.51.100.3', '2001:db8::5']);
  });
});

describe('an https public URL', () => {
  it('makes the cookies Secure and __Host-, sends HSTS, and sends the login service back to the public URL', async () => {
    const app = await server({
      publicUrl: 'https://register.example.org/',
      services: {
        nih: { type: 'oidc', issuer: oidc.issuer, clientId: 'grants', clientSecret: 'grants-secret', usernameClaim: 'preferred_username', scopes: 'openid' },
      },
    });
    const token = await invite('https@example.org');
    const { page, post } = await start(app, token, 'nih');
    expect(page.headers['strict-transport-security']).toBe('max-age=31536000');
    const browser = page.cookies.find((c) => c.name === '__Host-portalctl-browser')!;
    expect(browser).toMatchObject({ secure: true, httpOnly: true, sameSite: 'Lax', path: '/' });
    const pending = post.cookies.find((c) => c.name === '__Host-portalctl-signin')!;
    expect(pending).toMatchObject({ secure: true, httpOnly: true, sameSite: 'Lax', path: '/', maxAge: 600 });
    expect(post.statusCode).toBe(303);
    const to = new URL(post.headers.location as string);
    expect(to.origin).toBe(oidc.issuer);
    expect(to.searchParams.get('redirect_uri')).toBe('https://register.example.org/register/callback/nih');
    expect(to.searchParams.get('code_challenge_method')).toBe('S256');
    expect(to.searchParams.get('scope')).toBe('openid');
    expect(to.searchParams.get('state')).toBeTruthy();
    expect(to.searchParams.get('nonce')).toBeTruthy();
  });
});

describe('without a public URL', () => {
  it('makes the cookies Secure when the request came over https through the proxy in front, not otherwise', async () => {
    const app = await server();
    const token = await invite('proto@example.org');
    const via = async (remoteAddress: string, proto?: string) => {
      const r = await app.inject({
        url: `/register/link?token=${token}`,
        remoteAddress,
        headers: proto ? { 'x-forwarded-proto': proto, 'x-forwarded-for': '198.51.100.3' } : {},
      });
      return r.cookies.map((c) => ({ name: c.name, secure: c.secure ?? false }));
    };
    expect(await via('127.0.0.1', 'https')).toEqual([{ name: '__Host-portalctl-browser', secure: true }]);
    expect(await via('127.0.0.1')).toEqual([{ name: 'portalctl-browser', secure: false }]);
    expect(await via('203.0.113.9', 'https')).toEqual([{ name: 'portalctl-browser', secure: false }]); // not a proxy of ours
  });
});

describe('a provider that keeps the username out of the ID token', () => {
  it('is asked at /userinfo, for the same subject', async () => {
    // oidc-provider's default: claims of requested scopes go to /userinfo only, when an access token is issued.
    const strict = await startOidcProvider({
      clients: [{ client_id: 'strict', client_secret: 'strict-secret', redirect_uris: ['https://register.example.org/register/callback/nih'] }],
      accounts: { kim: { sub: 'u-9', preferred_username: 'kim.k' } },
      config: { conformIdTokenClaims: true },
    });
    try {
      const app = await server({
        publicUrl: 'https://register.example.org',
        services: {
          nih: {
            type: 'oidc',
            issuer: strict.issuer,
            clientId: 'strict',
            clientSecret: 'strict-secret',
            usernameClaim: 'preferred_username',
            scopes: 'openid profile',
          },
        },
      });
      const token = await invite('strict@example.org');
      const { post, cookie } = await start(app, token, 'nih');
      const browser = new Agent();
      const callback = (u: URL) => u.href.startsWith('https://register.example.org/register/callback/nih');
      const login = await browser.follow(post.headers.location as string, callback);
      const action = /<form method="post" action="([^"]+\/login)"/.exec(login.last.text)![1]!;
      const back = await browser.follow(new URL(action, login.last.url), callback, { form: { username: 'kim', password: 'correct-horse' } });
      expect(back.stoppedAt).toBeDefined();
      const r = await app.inject({ url: `${back.stoppedAt!.pathname}${back.stoppedAt!.search}`, headers: { cookie } });
      expect(r.statusCode, r.body).toBe(200);
      expect(h1(r.body)).toBe('Your NIH Network Login account kim.k is now linked to Grants Portal');
      const claims = JSON.parse(Buffer.from(strict.idTokens.at(-1)!.split('.')[1]!, 'base64url').toString());
      expect(claims).toMatchObject({ sub: 'u-9', aud: 'strict' });
      expect(claims.preferred_username).toBeUndefined(); // it really came from /userinfo
    } finally {
      await strict.close();
    }
  });
});

describe('when something is down', () => {
  it('a login service that does not answer: "not available right now" (503), nothing started', async () => {
    const closed = await freePort();
    const app = await server({
      services: {
        nih: {
          type: 'oidc',
          issuer: `http://127.0.0.1:${closed}`,
          clientId: 'x',
          clientSecret: 'x-secret',
          usernameClaim: 'preferred_username',
          scopes: 'openid',
        },
      },
    });
    const token = await invite('down@example.org');
    const { post } = await start(app, token, 'nih');
    expect(post.statusCode).toBe(503);
    expect(post.body).toContain('not available right now');
    expect(post.cookies.map((c) => c.name)).not.toContain('portalctl-signin');
    await afterTurn();
    expect(JSON.parse(lines.at(-1)!)).toMatchObject({ status: 503, outcome: 'service_unavailable', reason: expect.stringContaining('discovery at') });
  });

  it('/healthz says 503 when the store does not answer', async () => {
    const broken = { ...store, read: () => Promise.reject(new Error('database is locked')) } as unknown as Store;
    const app = await server({ store: broken });
    const r = await app.inject({ url: '/healthz' });
    expect(r.statusCode).toBe(503);
    expect(r.json()).toMatchObject({ ok: false });
  });

  it('the access API without a token file answers 503, saying why', async () => {
    const app = await server();
    const r = await app.inject({ url: '/api/v1/access?service=nih&account=x', headers: { authorization: 'Bearer anything' } });
    expect(r.statusCode).toBe(503);
    expect(r.json()).toMatchObject({ error: { code: 'api_not_configured' } });
    // Nothing shared to derive the cookie key from (a header service, no API tokens): said at start.
    expect(lines.some((l) => l.includes('a random key is used, so behind a load balancer a sign-in must return to this host'))).toBe(true);
  });
});

describe('expired links', () => {
  it('are recorded as `expired` events by a timer, without anyone opening them', async () => {
    await invite('timer@example.org');
    let now = new Date(T0);
    await server({ clock: () => now, expirySweepMs: 20 });
    now = new Date(Date.parse(T0) + 8 * 86_400_000);
    const expired = async () => (await store.read((tx) => tx.events.since(0, 10_000))).filter((e) => e.type === 'expired' && e.email === 'timer@example.org');
    for (let i = 0; i < 100 && (await expired()).length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(await expired()).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 100));
    expect(await expired()).toHaveLength(1); // once
  });
});

describe('every portal in the store, each in its own time zone', () => {
  it('answers the links of a second portal with its own name, expiry zone, Site Administrator and Home page', async () => {
    // The server's zone is America/New_York (as the world's TZ); this portal tells its times in Tokyo's.
    const added = await w.run([
      'portals',
      'add',
      'lab',
      '--name',
      'Tokyo Lab Portal',
      '--url',
      'https://lab.example.org',
      '--admin-email',
      'lab-admin@example.org',
      '--time-zone',
      'Asia/Tokyo',
    ]);
    expect(added.exitCode, added.stderr).toBe(0);
    const invited = await w.run(['--portal', 'lab', 'users', 'invite', '--email', 'kenji@example.org', '--first-name', 'Kenji', '--last-name', 'Sato']);
    expect(invited.exitCode, invited.stderr).toBe(0);
    const token = tokenFor('kenji@example.org');
    let now = new Date(T0);
    const app = await server({ clock: () => now });

    const page = await app.inject({ url: `/register/link?token=${token}`, remoteAddress: '198.51.100.8' });
    expect(page.statusCode, page.body).toBe(200);
    expect(page.body).toContain('Hello Kenji, you have been registered as a user of <strong>Tokyo Lab Portal</strong>.');
    // T0 + 7 days, told in the portal's zone, not the server's.
    expect(page.body).toContain('This link expires on <strong>Saturday, December 5, 2026 at 23:00 Japan Standard Time (December 5, 14:00 UTC)</strong>.');
    expect(page.body).not.toContain('Eastern');
    expect(page.body).toContain('mailto:lab-admin@example.org');
    // Only ims is configured on this server: the others are shown, but cannot be chosen.
    expect(page.body).toContain('<button type="button" disabled aria-describedby="service-hint-0">Link with NIH Network Login (not available)</button>');
    expect(page.body).toContain('<button type="submit" name="service" value="ims" aria-describedby="service-hint-2">Link with IMS Login Service</button>');
    expect((await start(app, token, 'nih')).post.statusCode).toBe(503);

    // The expired page tells the time in that zone too.
    now = new Date(Date.parse(T0) + 8 * 86_400_000);
    const expired = await app.inject({ url: `/register/link?token=${token}`, remoteAddress: '198.51.100.8' });
    expect(expired.statusCode).toBe(410);
    expect(expired.body).toContain('The link expired on Saturday, December 5, 2026 at 23:00 Japan Standard Time (December 5, 14:00 UTC).');
    expect(expired.body).toContain('mailto:lab-admin@example.org');
    now = new Date(T0);

    // Linked through the same server: the success page leads to this portal's Home page.
    const { cookie } = await start(app, token, 'ims');
    const linked = await app.inject({ url: '/register/callback/ims', remoteAddress: '10.0.0.5', headers: { cookie, 'x-remote-user': 'kenji.s' } });
    expect(linked.statusCode, linked.body).toBe(200);
    expect(h1(linked.body)).toBe('Your IMS Login Service account kenji.s is now linked to Tokyo Lab Portal');
    expect(linked.body).toContain('<a href="https://lab.example.org" class="button">Go to Tokyo Lab Portal</a>');
    const who = await w.run(['--portal', 'lab', 'users', 'whoami-login', 'kenji@example.org']);
    expect(who.stdout).toContain('kenji.s (IMS Login Service)');
  });
});

describe('switching login service (the FAQ: Send New Registration, then Step 2 again)', () => {
  it('tells a linked person the page is for switching, and replaces the account on the same user', async () => {
    const grants = ['--portal', 'grants'];
    const invited = await w.run([...grants, 'users', 'invite', '--email', 'switch@example.org', '--first-name', 'Max', '--last-name', 'Lee']);
    expect(invited.exitCode, invited.stderr).toBe(0);
    const app = await server();
    const first = await start(app, tokenFor('switch@example.org'), 'ims');
    const linked = await app.inject({
      url: '/register/callback/ims',
      remoteAddress: '10.0.0.5',
      headers: { cookie: first.cookie, 'x-remote-user': 'max.old' },
    });
    expect(linked.statusCode, linked.body).toBe(200);
    const before = (await w.json([...grants, 'users', 'show', 'switch@example.org'])).users[0];

    expect((await w.run([...grants, 'users', 'resend-registration', 'switch@example.org'])).exitCode).toBe(0);
    const again = await start(app, tokenFor('switch@example.org'), 'ims');
    expect(again.page.body).toContain('You are linked as max.old (IMS Login Service).');
    const relinked = await app.inject({
      url: '/register/callback/ims',
      remoteAddress: '10.0.0.5',
      headers: { cookie: again.cookie, 'x-remote-user': 'max.new' },
    });
    expect(relinked.statusCode, relinked.body).toBe(200);
    expect(h1(relinked.body)).toBe('Your IMS Login Service account max.new is now linked to Grants Portal');

    const after = (await w.json([...grants, 'users', 'show', 'switch@example.org'])).users[0];
    expect(after).toMatchObject({ id: before.id, status: 'linked', loginService: 'ims', username: 'max.new' });
    const events = (await store.read((tx) => tx.events.since(0, 100_000))).filter((e) => e.userId === before.id).map((e) => e.type);
    expect(events.filter((t) => t === 'linked' || t === 'relinked')).toEqual(['linked', 'relinked']);
  });
});

describe('the username claim', () => {
  it('is the configured one, not preferred_username', async () => {
    const provider = await startOidcProvider({
      clients: [{ client_id: 'byemail', client_secret: 'byemail-secret', redirect_uris: ['https://register.example.org/register/callback/nih'] }],
      accounts: { lou: { sub: 'u-7', preferred_username: 'lou', email: 'lou.reed@nih.example' } },
    });
    try {
      const app = await server({
        publicUrl: 'https://register.example.org',
        services: {
          nih: { type: 'oidc', issuer: provider.issuer, clientId: 'byemail', clientSecret: 'byemail-secret', usernameClaim: 'email', scopes: 'openid email' },
        },
      });
      const invited = await w.run(['--portal', 'grants', 'users', 'invite', '--email', 'lou@example.org', '--first-name', 'Lou', '--last-name', 'Reed']);
      expect(invited.exitCode, invited.stderr).toBe(0);
      const { post, cookie } = await start(app, tokenFor('lou@example.org'), 'nih');
      const browser = new Agent();
      const callback = (u: URL) => u.href.startsWith('https://register.example.org/register/callback/nih');
      const login = await browser.follow(post.headers.location as string, callback);
      const action = /<form method="post" action="([^"]+\/login)"/.exec(login.last.text)![1]!;
      const back = await browser.follow(new URL(action, login.last.url), callback, { form: { username: 'lou', password: 'correct-horse' } });
      const r = await app.inject({ url: `${back.stoppedAt!.pathname}${back.stoppedAt!.search}`, headers: { cookie } });
      expect(r.statusCode, r.body).toBe(200);
      expect(h1(r.body)).toBe('Your NIH Network Login account lou.reed@nih.example is now linked to Grants Portal');
      expect((await w.json(['--portal', 'grants', 'users', 'show', 'lou@example.org'])).users[0]).toMatchObject({ username: 'lou.reed@nih.example' });
    } finally {
      await provider.close();
    }
  });
});
