// Sign-in with an OpenID Connect login service, through openid-client 6:
// authorization code flow with PKCE (S256), `state` and `nonce`, and the ID
// token fully verified — issuer, audience, expiry, nonce AND its signature.
// openid-client does not check the signature of an ID token that came from
// the token endpoint unless told to (enableNonRepudiationChecks); SPEC
// requires it, so it is always on here.
//
// Discovery happens on first use and is kept; a failed discovery is retried
// (at most every few seconds), so `serve` starts and answers its pages while
// a login service is down, and recovers by itself when it is back.

import * as client from 'openid-client';
import { neutralize } from '../text.js';

export interface OidcSettings {
  type: 'oidc';
  issuer: string;
  clientId: string;
  /** The secret itself, already read from clientSecretFile. */
  clientSecret: string;
  usernameClaim: string;
  scopes: string;
}

/** What the browser's sealed cookie keeps between the start and the return. */
export interface OidcPending {
  state: string;
  nonce: string;
  verifier: string;
}

/** Why a sign-in did not give an account: the login service failed us, or the answer was not acceptable. */
export class SignInError extends Error {
  constructor(
    readonly kind: 'unavailable' | 'rejected',
    /** For the log: what openid-client or the provider said, never a token. */
    readonly reason: string,
  ) {
    super(reason);
  }
}

const RETRY_DISCOVERY_MS = 5_000;
const REQUEST_TIMEOUT_S = 10;

/** Plain http only to a login service on this machine (tests, a local proxy); anything else must be https. */
export function isLoopbackHttp(issuer: URL): boolean {
  return issuer.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(issuer.hostname);
}

/** One line for the log about an error from openid-client or fetch; neutralised and cut short. */
export function describeError(err: unknown): string {
  const e = err as Error & { code?: string; error?: string; status?: number; cause?: unknown };
  let cause = e?.cause instanceof Error ? e.cause.message : typeof e?.cause === 'string' ? e.cause : undefined;
  // Discovery found a provider that calls itself by another name: say both.
  const mismatch = e?.cause as { expected?: unknown; body?: { issuer?: unknown } } | undefined;
  if (e?.code === 'OAUTH_JSON_ATTRIBUTE_COMPARISON_FAILED' && typeof mismatch?.expected === 'string' && typeof mismatch.body?.issuer === 'string') {
    cause = `the provider's discovery document names the issuer ${mismatch.body.issuer}, not ${mismatch.expected}`;
  }
  const parts = [e?.name ?? 'Error', e?.code, e?.error, e?.status ? `status ${e.status}` : undefined].filter(Boolean).join(' ');
  const text = `${parts}: ${cause ?? e?.message ?? String(err)}`;
  return neutralize(text.length > 300 ? `${text.slice(0, 300)}…` : text);
}

/** Network trouble and server errors are "try again later"; everything else is a failed sign-in. */
function classify(err: unknown): SignInError {
  if (err instanceof SignInError) return err;
  const e = err as { name?: string; status?: number; code?: string };
  const reason = describeError(err);
  if (err instanceof client.ResponseBodyError) return new SignInError(e.status !== undefined && e.status >= 500 ? 'unavailable' : 'rejected', reason);
  if (err instanceof client.AuthorizationResponseError || err instanceof client.ClientError) {
    // A token endpoint that answered with something other than JSON (a proxy's error page) is unavailable.
    return new SignInError(e.code === 'OAUTH_RESPONSE_IS_NOT_CONFORM' && (e.status ?? 0) >= 500 ? 'unavailable' : 'rejected', reason);
  }
  return new SignInError('unavailable', reason); // fetch failed, timeouts, DNS
}

export async function discover(
  s: Pick<OidcSettings, 'issuer' | 'clientId' | 'clientSecret'>,
  timeoutSeconds = REQUEST_TIMEOUT_S,
): Promise<client.Configuration> {
  const issuer = new URL(s.issuer);
  const execute = [client.enableNonRepudiationChecks];
  if (isLoopbackHttp(issuer)) execute.unshift(client.allowInsecureRequests);
  const config = await client.discovery(issuer, s.clientId, undefined, client.ClientSecretBasic(s.clientSecret), { execute, timeout: timeoutSeconds });
  config.timeout = timeoutSeconds;
  return config;
}

/** One configured OpenID Connect login service. */
export class OidcLogin {
  private config?: Promise<client.Configuration>;
  private failed?: { at: number; error: SignInError };

  constructor(readonly settings: OidcSettings) {}

  /** The provider's configuration, discovered once; a failure is remembered briefly, then retried. */
  configuration(): Promise<client.Configuration> {
    if (this.failed && Date.now() - this.failed.at < RETRY_DISCOVERY_MS) return Promise.reject(this.failed.error);
    if (!this.config) {
      const attempt = discover(this.settings).catch((err: unknown) => {
        const error = new SignInError('unavailable', `discovery at ${this.settings.issuer} failed: ${describeError(err)}`);
        this.failed = { at: Date.now(), error };
        this.config = undefined;
        throw error;
      });
      this.config = attempt;
    }
    return this.config;
  }

  /** Where to send the browser, and what to keep until it comes back. */
  async start(redirectUri: string): Promise<{ url: URL; pending: OidcPending }> {
    const config = await this.configuration();
    const pending: OidcPending = { state: client.randomState(), nonce: client.randomNonce(), verifier: client.randomPKCECodeVerifier() };
    const scope = new Set(this.settings.scopes.split(/\s+/).filter(Boolean));
    scope.add('openid');
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: [...scope].join(' '),
      code_challenge: await client.calculatePKCECodeChallenge(pending.verifier),
      code_challenge_method: 'S256',
      state: pending.state,
      nonce: pending.nonce,
    });
    return { url, pending };
  }

  /**
   * The account the person signed in with, from the verified ID token (or,
   * when the provider keeps the claim out of the ID token, from /userinfo
   * for the same subject). `callbackUrl` is the registered redirect URI with
   * the query the browser brought back.
   */
  async finish(callbackUrl: URL, pending: OidcPending): Promise<string> {
    const config = await this.configuration();
    try {
      const tokens = await client.authorizationCodeGrant(config, callbackUrl, {
        pkceCodeVerifier: pending.verifier,
        expectedState: pending.state,
        expectedNonce: pending.nonce,
        idTokenExpected: true,
      });
      const claims = tokens.claims();
      if (!claims) throw new SignInError('rejected', 'no ID token in the token response');
      const claim = this.settings.usernameClaim;
      let value: unknown = claims[claim];
      if (value === undefined && tokens.access_token) {
        const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
        value = info[claim];
      }
      if (typeof value !== 'string' || value.trim() === '') throw new SignInError('rejected', `the signed-in account has no "${claim}" claim`);
      return value;
    } catch (err) {
      throw classify(err);
    }
  }
}

/** What doctor reports about a provider: discovery answered, the issuer matches, the endpoints. */
export async function checkProvider(
  s: Pick<OidcSettings, 'issuer' | 'clientId' | 'clientSecret'>,
  timeoutSeconds = 5,
): Promise<{ facts: string[]; problems: string[] }> {
  const config = await discover(s, timeoutSeconds);
  const m = config.serverMetadata();
  const facts = [`issuer ${m.issuer} (matches)`, `client ${s.clientId}`];
  const problems: string[] = [];
  if (m.authorization_endpoint) facts.push(`sign-in at ${m.authorization_endpoint}`);
  else problems.push('the discovery document names no authorization_endpoint');
  if (!m.token_endpoint) problems.push('the discovery document names no token_endpoint');
  if (!m.jwks_uri) problems.push('the discovery document names no jwks_uri, so ID token signatures cannot be checked');
  const pkce = m.code_challenge_methods_supported;
  if (pkce && !pkce.includes('S256')) problems.push(`PKCE S256 is not among the supported methods (${pkce.join(', ')})`);
  return { facts, problems };
}
