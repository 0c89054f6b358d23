// Proves the test harnesses: a real OpenID Connect provider (oidc-provider) and
// a real headless Chromium. A throw-away relying party (plain node:http +
// openid-client 6, the way `portalctl serve` will use it) sends the browser to
// the provider, the browser fills in the provider's own login form, and the RP
// verifies the ID token, signature included. Faulty ID tokens are rejected.

import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as client from 'openid-client';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DESKTOP, launchBrowser, PHONE, screenshot, type TestBrowser } from '../helpers/browser.js';
import { DEFAULT_PASSWORD, startOidcProvider, type IdTokenFault, type TestOidc, type TestOidcClient } from '../helpers/oidc.js';

interface RpResult {
  ok: boolean;
  claims?: Record<string, unknown>;
  error?: { name: string; code?: string; error?: string; message: string; cause?: string };
}

interface TestRp {
  url: string;
  /** Discovers the provider; /login and /cb work from then on. */
  connect(oidc: TestOidc, c: TestOidcClient, verifySignature: boolean): Promise<void>;
  close(): Promise<void>;
}

/**
 * A minimal RP: GET /login starts a flow, GET /cb finishes it and answers JSON.
 * It listens before the provider starts, so its redirect URI can be registered.
 */
async function startRp(): Promise<TestRp> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const redirectUri = `${url}/cb`;
  let config!: client.Configuration;
  // Transactions are keyed by a browser cookie, never by the returned state.
  // They are not deleted after use so the test can replay a callback.
  const pending = new Map<string, { state: string; nonce: string; verifier: string }>();

  server.on('request', (req, res) => {
    void (async () => {
      const u = new URL(req.url ?? '/', url);
      if (u.pathname === '/login') {
        const tx = { state: client.randomState(), nonce: client.randomNonce(), verifier: client.randomPKCECodeVerifier() };
        const id = randomBytes(16).toString('hex');
        pending.set(id, tx);
        const to = client.buildAuthorizationUrl(config, {
          redirect_uri: redirectUri,
          scope: 'openid profile email',
          code_challenge: await client.calculatePKCECodeChallenge(tx.verifier),
          code_challenge_method: 'S256',
          state: tx.state,
          nonce: tx.nonce,
        });
        res.writeHead(303, { location: to.href, 'set-cookie': `rp_tx=${id}; Path=/; HttpOnly; SameSite=Lax` });
        return res.end();
      }
      if (u.pathname === '/cb') {
        const id = /(?:^|;\s*)rp_tx=([0-9a-f]+)/.exec(req.headers.cookie ?? '')?.[1];
        const tx = id ? pending.get(id) : undefined;
        let out: RpResult;
        if (!tx) out = { ok: false, error: { name: 'NoTransaction', message: 'no pending login' } };
        else {
          try {
            const tokens = await client.authorizationCodeGrant(config, u, {
              pkceCodeVerifier: tx.verifier,
              expectedState: tx.state,
              expectedNonce: tx.nonce,
              idTokenExpected: true,
            });
            out = { ok: true, claims: { ...tokens.claims() } };
          } catch (e) {
            const err = e as Error & { code?: string; error?: string; cause?: unknown };
            out = {
              ok: false,
              error: {
                name: err.name,
                code: err.code,
                error: err.error,
                message: err.message,
                cause: err.cause instanceof Error ? err.cause.message : undefined,
              },
            };
          }
        }
        res.writeHead(out.ok ? 200 : 400, { 'content-type': 'application/json' });
        return res.end(JSON.stringify(out));
      }
      res.writeHead(404).end();
    })();
  });
  return {
    url,
    async connect(oidc, c, verifySignature) {
      const auth = c.token_endpoint_auth_method === 'client_secret_post' ? client.ClientSecretPost(c.client_secret) : client.ClientSecretBasic(c.client_secret);
      config = await client.discovery(new URL(oidc.issuer), c.client_id, { redirect_uris: [redirectUri] }, auth, {
        execute: verifySignature ? [client.allowInsecureRequests, client.enableNonRepudiationChecks] : [client.allowInsecureRequests],
      });
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

let oidc: TestOidc;
let rp: TestRp; // verifies ID token signatures
let lax: TestRp; // openid-client defaults: no signature check
let browser: TestBrowser;

beforeAll(async () => {
  const t0 = Date.now();
  [rp, lax, browser] = await Promise.all([startRp(), startRp(), launchBrowser()]);
  const portal: TestOidcClient = { client_id: 'portal', client_secret: 'portal-secret', client_name: 'Portal registration', redirect_uris: [`${rp.url}/cb`] };
  const laxClient: TestOidcClient = {
    client_id: 'lax',
    client_secret: 'lax-secret',
    redirect_uris: [`${lax.url}/cb`],
    token_endpoint_auth_method: 'client_secret_post',
  };
  oidc = await startOidcProvider({
    clients: [portal, laxClient],
    accounts: {
      jdoe: { sub: 'u-1', preferred_username: 'jdoe', name: 'Jane Doe', email: 'jdoe@example.test', email_verified: true },
      asmith: { sub: 'u-2', preferred_username: 'asmith', password: 'asmith-pw' },
    },
  });
  await Promise.all([rp.connect(oidc, portal, true), lax.connect(oidc, laxClient, false)]);
  console.log(`oidc harness setup: ${Date.now() - t0} ms`);
});

afterAll(async () => {
  await browser?.close();
  await Promise.all([rp?.close(), lax?.close(), oidc?.close()]);
});

/** Opens the RP's /login and waits for whatever the browser lands on. */
async function startLogin(page: Page, base: string) {
  await page.goto(`${base}/login`);
}

/** Fills the provider's login form and returns the RP's JSON verdict. */
async function signIn(page: Page, base: string, username: string, password: string): Promise<RpResult> {
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  const [response] = await Promise.all([page.waitForResponse((r) => r.url().startsWith(`${base}/cb`)), page.getByRole('button', { name: 'Sign in' }).click()]);
  return (await response.json()) as RpResult;
}

/** With a provider session already in the page's context: straight through to the RP. */
async function reauth(page: Page, base: string): Promise<{ result: RpResult; callback: string }> {
  const [response] = await Promise.all([page.waitForResponse((r) => r.url().startsWith(`${base}/cb`)), page.goto(`${base}/login`)]);
  return { result: (await response.json()) as RpResult, callback: response.url() };
}

describe('OIDC harness: real provider + real Chromium + openid-client', () => {
  it('signs jdoe in through the provider login page (phone), wrong password first', async () => {
    const page = await browser.newPage(PHONE);
    await startLogin(page, rp.url);
    expect(new URL(page.url()).origin).toBe(oidc.issuer);
    expect(await page.textContent('h1')).toBe('Sign in');
    expect(await page.textContent('main')).toContain('Portal registration');
    // The form fills the phone's width: no sideways scrolling, no stray margin.
    expect(await page.evaluate(() => [document.documentElement.scrollWidth, document.querySelector('main')!.clientWidth])).toEqual([390, 390]);
    await screenshot(page, 'oidc-login-phone');

    await page.getByLabel('Username').fill('jdoe');
    await page.getByLabel('Password').fill('nope');
    await page.getByRole('button', { name: 'Sign in' }).click();
    expect(await page.getByRole('alert').textContent()).toBe('Wrong username or password.');
    expect(await page.getByLabel('Username').inputValue()).toBe('jdoe');

    const result = await signIn(page, rp.url, 'jdoe', DEFAULT_PASSWORD);
    expect(result.error).toBeUndefined();
    expect(result.claims).toMatchObject({
      iss: oidc.issuer,
      aud: 'portal',
      sub: 'u-1',
      preferred_username: 'jdoe',
      email: 'jdoe@example.test',
      email_verified: true,
      name: 'Jane Doe',
    });
    expect(oidc.logins).toEqual([
      { username: 'jdoe', ok: false },
      { username: 'jdoe', ok: true },
    ]);
    await page.close();
  });

  it('rejects faulty ID tokens; a replayed code; a forged state (desktop)', async () => {
    const page = await browser.newPage(DESKTOP);
    await startLogin(page, rp.url);
    await screenshot(page, 'oidc-login-desktop');
    const first = await signIn(page, rp.url, 'asmith', 'asmith-pw');
    expect(first.claims).toMatchObject({ sub: 'u-2', preferred_username: 'asmith' });

    const verdicts: Record<string, RpResult['error']> = {};
    const faults: IdTokenFault[] = ['wrong-key', 'wrong-aud', 'wrong-iss', 'wrong-nonce', 'expired'];
    try {
      for (const fault of faults) {
        oidc.idTokenFault = fault;
        const { result } = await reauth(page, rp.url);
        expect(result.ok, fault).toBe(false);
        verdicts[fault] = result.error;
      }
    } finally {
      oidc.idTokenFault = 'none';
    }
    const claimMismatch = (claim: string) => ({ name: 'ClientError', code: 'OAUTH_JWT_CLAIM_COMPARISON_FAILED', cause: expect.stringContaining(`"${claim}"`) });
    expect(verdicts).toEqual({
      'wrong-key': { name: 'ClientError', code: 'OAUTH_INVALID_RESPONSE', message: 'invalid response encountered', cause: 'JWT signature verification failed' },
      'wrong-aud': expect.objectContaining(claimMismatch('aud')),
      'wrong-iss': expect.objectContaining(claimMismatch('iss')),
      'wrong-nonce': expect.objectContaining(claimMismatch('nonce')),
      expired: expect.objectContaining({ name: 'ClientError', code: 'OAUTH_JWT_TIMESTAMP_CHECK_FAILED', cause: expect.stringContaining('"exp"') }),
    });

    // Happy again; then replay that very callback (same code, same checks).
    const ok = await reauth(page, rp.url);
    expect(ok.result.claims).toMatchObject({ preferred_username: 'asmith' });
    const replay = await page.goto(ok.callback);
    expect(await replay!.json()).toMatchObject({ ok: false, error: { name: 'ResponseBodyError', error: 'invalid_grant' } });

    // A callback whose state is not the one this browser's transaction holds.
    const forged = new URL(ok.callback);
    forged.searchParams.set('state', 'forged');
    const bad = await page.goto(forged.href);
    expect(await bad!.json()).toMatchObject({
      ok: false,
      error: { name: 'ClientError', code: 'OAUTH_INVALID_RESPONSE', cause: expect.stringContaining('"state"') },
    });
    await page.close();
  });

  it('without enableNonRepudiationChecks openid-client ACCEPTS a wrong-key ID token', async () => {
    const page = await browser.newPage(DESKTOP);
    await startLogin(page, lax.url);
    expect((await signIn(page, lax.url, 'jdoe', DEFAULT_PASSWORD)).ok).toBe(true);
    oidc.idTokenFault = 'wrong-key';
    try {
      const { result } = await reauth(page, lax.url);
      expect(result).toMatchObject({ ok: true, claims: { preferred_username: 'jdoe' } });
    } finally {
      oidc.idTokenFault = 'none';
    }
    await page.close();
  });

  it('the provider requires PKCE even from a confidential client', async () => {
    const auth = new URL('/auth', oidc.issuer);
    auth.search = new URLSearchParams({
      client_id: 'portal',
      response_type: 'code',
      scope: 'openid',
      redirect_uri: `${rp.url}/cb`,
      state: 's',
      nonce: 'n',
    }).toString();
    const res = await fetch(auth, { redirect: 'manual' });
    const back = new URL(res.headers.get('location')!);
    expect(back.origin + back.pathname).toBe(`${rp.url}/cb`);
    expect(Object.fromEntries(back.searchParams)).toMatchObject({ error: 'invalid_request', error_description: expect.stringContaining('PKCE') });
  });

  it('Cancel on the login page comes back as access_denied', async () => {
    const page = await browser.newPage(PHONE);
    await startLogin(page, rp.url);
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.url().startsWith(`${rp.url}/cb`)),
      page.getByRole('button', { name: 'Cancel' }).click(),
    ]);
    expect(await response.json()).toMatchObject({ ok: false, error: { name: 'AuthorizationResponseError', error: 'access_denied' } });
    await page.close();
  });
});
