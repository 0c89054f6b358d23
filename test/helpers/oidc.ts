// A real OpenID Connect provider (oidc-provider 9) on http://127.0.0.1:PORT for
// tests: confidential clients with PKCE required, test accounts, and the
// provider's own login page (a plain HTML form with a password check) so a
// real browser can go from the authorization request to the redirect with a
// code. `idTokenFault` makes the token endpoint hand out a bad ID token (wrong
// signing key, audience, expiry, nonce or issuer) to prove the relying party
// rejects it.

import { createHash, generateKeyPairSync, randomBytes, sign, timingSafeEqual, type JsonWebKey, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';

type InteractionDetails = Awaited<ReturnType<Provider['interactionDetails']>>;

export interface TestOidcClient {
  client_id: string;
  client_secret: string;
  redirect_uris: string[];
  /** Default client_secret_basic. */
  token_endpoint_auth_method?: 'client_secret_basic' | 'client_secret_post';
  /** Shown on the login page ("Sign in to …"). */
  client_name?: string;
  post_logout_redirect_uris?: string[];
}

/** Claims of one account; the key in `accounts` is the login name typed into the form. */
export interface TestAccount {
  sub: string;
  /** Password for the login form; DEFAULT_PASSWORD when absent. */
  password?: string;
  preferred_username?: string;
  name?: string;
  email?: string;
  email_verified?: boolean;
  [claim: string]: unknown;
}

export const DEFAULT_PASSWORD = 'correct-horse';

/**
 * What the token endpoint does to the ID token it issues.
 * - wrong-key: signed with a key that is not in the published JWKS (same `kid`
 *   as the real key, so only a signature check can catch it)
 * - wrong-aud / wrong-iss / wrong-nonce / expired: the claim is changed and the
 *   token re-signed with the REAL key, so the signature is valid.
 */
export type IdTokenFault = 'none' | 'wrong-key' | 'wrong-aud' | 'wrong-iss' | 'wrong-nonce' | 'expired';

export interface StartOidcOptions {
  clients: TestOidcClient[];
  accounts: Record<string, TestAccount>;
  /** Extra provider configuration, shallow-merged over the harness's. */
  config?: Record<string, unknown>;
}

export interface TestOidc {
  /** http://127.0.0.1:PORT — also the discovery base (/.well-known/openid-configuration). */
  issuer: string;
  port: number;
  provider: Provider;
  /** Read at each token request; set it between flows. */
  idTokenFault: IdTokenFault;
  /** Every ID token the token endpoint sent, after any fault was applied. */
  idTokens: string[];
  /** Login attempts on the provider's form, in order. */
  logins: { username: string; ok: boolean }[];
  close(): Promise<void>;
}

interface KeyPair {
  kid: string;
  privateKey: KeyObject;
  publicJwk: JsonWebKey;
  privateJwk: JsonWebKey;
}

// RSA key generation costs ~50-150 ms; one pair per process is plenty.
let keys: { real: KeyPair; rogue: KeyPair } | undefined;
function testKeys() {
  const make = (kid: string): KeyPair => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    return { kid, privateKey, publicJwk: publicKey.export({ format: 'jwk' }), privateJwk: privateKey.export({ format: 'jwk' }) };
  };
  // The rogue key reuses the real kid: the RP then picks the published key and
  // only the signature check can tell the difference.
  keys ??= { real: make('test-sig-1'), rogue: make('test-sig-1') };
  return keys;
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

function resignIdToken(jwt: string, fault: Exclude<IdTokenFault, 'none'>, keys: { real: KeyPair; rogue: KeyPair }): string {
  const [h, p] = jwt.split('.');
  const header = JSON.parse(Buffer.from(h!, 'base64url').toString()) as Record<string, unknown>;
  const claims = JSON.parse(Buffer.from(p!, 'base64url').toString()) as Record<string, unknown>;
  const now = Math.floor(Date.now() / 1000);
  if (fault === 'wrong-aud') claims.aud = 'someone-else';
  if (fault === 'wrong-iss') claims.iss = 'http://127.0.0.1:1/not-the-issuer';
  if (fault === 'wrong-nonce') claims.nonce = 'not-the-nonce';
  // Well past any clock tolerance (openid-client's default is 30 s).
  if (fault === 'expired') Object.assign(claims, { iat: now - 7200, exp: now - 3600, auth_time: now - 7200 });
  if (header.alg !== 'RS256') throw new Error(`harness re-signs RS256 only, got ${String(header.alg)}`);
  const key = fault === 'wrong-key' ? keys.rogue : keys.real;
  const input = `${b64url(JSON.stringify({ ...header, kid: key.kid }))}.${b64url(JSON.stringify(claims))}`;
  return `${input}.${b64url(sign('sha256', Buffer.from(input), key.privateKey))}`;
}

/** Per-provider in-memory storage (the built-in one is process-global and warns). */
function memoryAdapter() {
  const store = new Map<string, { payload: Record<string, unknown>; exp: number }>();
  const live = (key: string) => {
    const e = store.get(key);
    if (e && e.exp < Date.now()) store.delete(key);
    return e && e.exp >= Date.now() ? e.payload : undefined;
  };
  return class {
    constructor(private readonly name: string) {}
    private k(id: string) {
      return `${this.name}:${id}`;
    }
    async upsert(id: string, payload: Record<string, unknown>, expiresIn?: number) {
      store.set(this.k(id), { payload, exp: expiresIn ? Date.now() + expiresIn * 1000 : Infinity });
      if (typeof payload.uid === 'string') store.set(`uid:${payload.uid}`, { payload: { id }, exp: Infinity });
      if (typeof payload.userCode === 'string') store.set(`userCode:${payload.userCode}`, { payload: { id }, exp: Infinity });
    }
    async find(id: string) {
      return live(this.k(id));
    }
    async findByUid(uid: string) {
      const ref = live(`uid:${uid}`);
      return ref ? live(this.k(ref.id as string)) : undefined;
    }
    async findByUserCode(userCode: string) {
      const ref = live(`userCode:${userCode}`);
      return ref ? live(this.k(ref.id as string)) : undefined;
    }
    async consume(id: string) {
      const p = live(this.k(id));
      if (p) p.consumed = Math.floor(Date.now() / 1000);
    }
    async destroy(id: string) {
      store.delete(this.k(id));
    }
    async revokeByGrantId(grantId: string) {
      for (const [key, e] of store) if (e.payload.grantId === grantId) store.delete(key);
    }
  };
}

const esc = (s: unknown) => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>
  body { font: 16px/1.5 system-ui, sans-serif; margin: 0; background: #eef1f5; color: #1d2330; }
  main { max-width: 24rem; margin: 3rem auto; padding: 2rem; background: #fff; border-radius: 8px; box-shadow: 0 1px 4px #0002; }
  @media (max-width: 30rem) { main { margin: 0; max-width: none; border-radius: 0; box-shadow: none; min-height: 100vh; box-sizing: border-box; } }
  h1 { font-size: 1.4rem; margin: 0 0 .25rem; } p.sub { margin: 0 0 1.5rem; color: #566; }
  label { display: block; font-weight: 600; margin: 1rem 0 .25rem; }
  input { width: 100%; box-sizing: border-box; font: inherit; padding: .6rem; border: 1px solid #99a; border-radius: 4px; }
  .actions { display: flex; gap: .75rem; margin-top: 1.5rem; }
  button { font: inherit; padding: .6rem 1.2rem; border-radius: 4px; border: 1px solid #1a4fd0; background: #1a4fd0; color: #fff; cursor: pointer; }
  button.secondary { background: #fff; color: #1a4fd0; }
  .error { background: #fde8e8; color: #8a1111; padding: .6rem; border-radius: 4px; }
  footer { margin-top: 2rem; font-size: .8rem; color: #778; }
</style></head>
<body><main>${body}<footer>Test identity provider</footer></main></body></html>`;
}

function loginPage(uid: string, clientName: string, username = '', error?: string): string {
  return page(
    'Sign in',
    `<h1>Sign in</h1><p class="sub">to continue to <strong>${esc(clientName)}</strong></p>
${error ? `<p class="error" role="alert">${esc(error)}</p>` : ''}
<form method="post" action="/interaction/${esc(uid)}/login" autocomplete="off">
  <label for="username">Username</label>
  <input id="username" name="username" required autofocus value="${esc(username)}">
  <label for="password">Password</label>
  <input id="password" name="password" type="password" required>
  <div class="actions"><button type="submit">Sign in</button>
  <button type="submit" class="secondary" formaction="/interaction/${esc(uid)}/abort" formnovalidate>Cancel</button></div>
</form>`,
  );
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function send(res: ServerResponse, status: number, html: string) {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(html);
}

export async function startOidcProvider(opts: StartOidcOptions): Promise<TestOidc> {
  const k = testKeys();
  const bySub = new Map(Object.values(opts.accounts).map((a) => [a.sub, a]));

  let handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.writeHead(503).end();
  const server = createServer((req, res) => handler(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const issuer = `http://127.0.0.1:${port}`;

  const provider = new Provider(issuer, {
    adapter: memoryAdapter(),
    clients: opts.clients.map((c) => ({
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      ...c,
    })),
    jwks: { keys: [{ ...k.real.privateJwk, kid: k.real.kid, use: 'sig', alg: 'RS256' }] },
    cookies: { keys: [randomBytes(16).toString('hex')] },
    // PKCE (S256) for every client, confidential ones included.
    pkce: { required: () => true },
    scopes: ['openid', 'profile', 'email'],
    claims: {
      openid: ['sub'],
      profile: ['preferred_username', 'name', 'given_name', 'family_name'],
      email: ['email', 'email_verified'],
    },
    // By default claims from scopes go only to /userinfo when an access token is
    // issued too; the RP reads them from the verified ID token instead.
    conformIdTokenClaims: false,
    async findAccount(_ctx: unknown, sub: string) {
      const account = bySub.get(sub);
      if (!account) return undefined;
      return {
        accountId: sub,
        async claims() {
          const { password: _password, ...claims } = account;
          return claims;
        },
      };
    },
    features: {
      devInteractions: { enabled: false }, // our own login page below
    },
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    ttl: { AccessToken: 600, AuthorizationCode: 60, IdToken: 600, Interaction: 600, Session: 3600, Grant: 3600 },
    async renderError(ctx, out) {
      ctx.type = 'html';
      ctx.body = page(
        'Error',
        `<h1>Sign-in error</h1>${Object.entries(out)
          .map(([k, v]) => `<p><strong>${esc(k)}</strong>: ${esc(String(v))}</p>`)
          .join('')}`,
      );
    },
    ...opts.config,
  });

  const state: TestOidc = {
    issuer,
    port,
    provider,
    idTokenFault: 'none',
    idTokens: [],
    logins: [],
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve())));
    },
  };

  provider.use(async (ctx, next) => {
    await next();
    if (ctx.oidc?.route !== 'token') return;
    const body = ctx.body as { id_token?: string } | undefined;
    if (!body?.id_token) return;
    const fault = state.idTokenFault;
    if (fault !== 'none') ctx.body = { ...body, id_token: resignIdToken(body.id_token, fault, k) };
    state.idTokens.push((ctx.body as { id_token: string }).id_token);
  });

  const clientName = (details: InteractionDetails) => {
    const id = String(details.params.client_id ?? '');
    return opts.clients.find((c) => c.client_id === id)?.client_name ?? id;
  };

  async function interaction(req: IncomingMessage, res: ServerResponse, uid: string, action: string | undefined) {
    const details = await provider.interactionDetails(req, res);
    if (details.uid !== uid) return send(res, 400, page('Error', '<h1>Interaction mismatch</h1>'));
    const { prompt } = details;

    if (req.method === 'GET' && !action) {
      if (prompt.name === 'login') return send(res, 200, loginPage(uid, clientName(details)));
      if (prompt.name === 'consent') {
        // Auto-consent: grant whatever the client asked for.
        const grant = details.grantId
          ? ((await provider.Grant.find(details.grantId)) ?? undefined)
          : new provider.Grant({ accountId: details.session!.accountId, clientId: String(details.params.client_id) });
        if (!grant) throw new Error('grant not found');
        const d = prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[]; missingResourceScopes?: Record<string, string[]> };
        if (d.missingOIDCScope) grant.addOIDCScope(d.missingOIDCScope.join(' '));
        if (d.missingOIDCClaims) grant.addOIDCClaims(d.missingOIDCClaims);
        for (const [indicator, scopes] of Object.entries(d.missingResourceScopes ?? {})) grant.addResourceScope(indicator, scopes.join(' '));
        return provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } }, { mergeWithLastSubmission: true });
      }
      return send(res, 400, page('Error', `<h1>Unsupported prompt ${esc(prompt.name)}</h1>`));
    }

    if (req.method === 'POST' && action === 'login' && prompt.name === 'login') {
      const form = await readForm(req);
      const username = form.get('username') ?? '';
      const account = Object.hasOwn(opts.accounts, username) ? opts.accounts[username] : undefined;
      const ok = !!account && timingSafeEqualStr(form.get('password') ?? '', account.password ?? DEFAULT_PASSWORD);
      state.logins.push({ username, ok });
      if (!ok) return send(res, 200, loginPage(uid, clientName(details), username, 'Wrong username or password.'));
      return provider.interactionFinished(req, res, { login: { accountId: account.sub } }, { mergeWithLastSubmission: false });
    }

    if (req.method === 'POST' && action === 'abort') {
      await readForm(req);
      return provider.interactionFinished(
        req,
        res,
        { error: 'access_denied', error_description: 'End-User aborted interaction' },
        { mergeWithLastSubmission: false },
      );
    }
    return send(res, 405, page('Error', '<h1>Method not allowed</h1>'));
  }

  const oidcCallback = provider.callback();
  handler = (req, res) => {
    const m = /^\/interaction\/([^/?]+)(?:\/(login|abort))?(?:\?|$)/.exec(req.url ?? '');
    if (!m) return oidcCallback(req, res);
    interaction(req, res, m[1]!, m[2]).catch((err: Error) => {
      if (!res.headersSent) send(res, 400, page('Error', `<h1>Sign-in error</h1><p>${esc(err.name)}: ${esc(err.message)}</p>`));
      else res.end();
    });
  };

  return state;
}

function timingSafeEqualStr(a: string, b: string): boolean {
  const h = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(h(a), h(b));
}
