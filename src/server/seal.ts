// The state a pending sign-in needs between "Link with …" and the return from
// the login service, kept in the browser rather than in this process:
// sealed (AES-256-GCM: encrypted and authenticated) into an HttpOnly cookie.
// Any `serve` host behind a load balancer can open it, so no sticky sessions
// and no shared session table are needed, and a restart loses nothing. The
// keys are derived (HKDF-SHA256) from the secrets every host already shares —
// the login services' client secrets and the API tokens — so there is no
// further secret to distribute; a host with none of those (only header
// services, no API) makes a random key and then needs sticky sessions.
//
// The same keys make the CSRF token of the Step 2 form: an HMAC over a random
// per-browser id (its own cookie) and the link token, so a form is good only
// in the browser that loaded it, for the link it was loaded for.

import { createCipheriv, createDecipheriv, createHmac, hash, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { pooledRandomBytes } from '../domain/tokens.js';

export interface Keys {
  /** Seals the pending sign-in cookie. */
  seal: Buffer;
  /** Makes and checks the CSRF token of the Step 2 form. */
  csrf: Buffer;
  /** True when the keys came from shared secrets (every host derives the same ones). */
  shared: boolean;
}

/** Keys from the secrets every host shares; random ones (this process only) when there are none. */
export function deriveKeys(secrets: readonly string[]): Keys {
  const shared = secrets.length > 0;
  // Sorted and length-prefixed: the same set of secrets gives the same keys on every host, in any order.
  const ikm = shared
    ? Buffer.concat(
        [...secrets].sort().flatMap((s) => {
          const b = Buffer.from(s, 'utf8');
          const len = Buffer.alloc(4);
          len.writeUInt32BE(b.length);
          return [len, b];
        }),
      )
    : randomBytes(32);
  const key = (info: string) => Buffer.from(hkdfSync('sha256', ikm, 'portalctl serve', info, 32));
  return { seal: key('pending sign-in cookie v1'), csrf: key('step 2 form csrf v1'), shared };
}

const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** Encrypts and authenticates `value`; `purpose` is bound in, so one cookie cannot stand in for another. */
export function seal(key: Buffer, purpose: string, value: unknown): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(`${VERSION}:${purpose}`));
  const body = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
  return Buffer.concat([Buffer.from([VERSION]), iv, body, cipher.getAuthTag()]).toString('base64url');
}

/** The sealed value, or undefined when it is not one of ours (forged, altered, another purpose or key). */
export function unseal(key: Buffer, purpose: string, sealed: string): unknown {
  if (!/^[A-Za-z0-9_-]{1,4096}$/.test(sealed)) return undefined;
  const raw = Buffer.from(sealed, 'base64url');
  if (raw.length < 1 + IV_BYTES + TAG_BYTES + 2 || raw[0] !== VERSION) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(1, 1 + IV_BYTES));
    decipher.setAAD(Buffer.from(`${VERSION}:${purpose}`));
    decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
    const text = Buffer.concat([decipher.update(raw.subarray(1 + IV_BYTES, raw.length - TAG_BYTES)), decipher.final()]).toString('utf8');
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** A fresh random browser id (the CSRF cookie). */
export function newBrowserId(): string {
  // From the pool: a scanner or a crowd without the cookie asks for one per page view.
  return pooledRandomBytes(18).toString('base64url');
}

export function csrfToken(key: Buffer, browserId: string, linkToken: string): string {
  return createHmac('sha256', key).update(`${browserId}\0${linkToken}`).digest('base64url');
}

export function csrfMatches(key: Buffer, browserId: string, linkToken: string, given: string): boolean {
  const want = Buffer.from(csrfToken(key, browserId, linkToken));
  const got = Buffer.from(given);
  return got.length === want.length && timingSafeEqual(got, want);
}

/**
 * Constant-time membership: every candidate is compared, whatever matched.
 * The tokens are compared as SHA-256 digests (equal lengths for
 * timingSafeEqual); the one-shot hash() costs a third of an HMAC object per
 * request (the access API's hot path).
 */
export function bearerMatches(given: string, tokens: readonly Buffer[]): boolean {
  const digest = hash('sha256', given, 'buffer');
  let found = false;
  for (const t of tokens) found = timingSafeEqual(digest, t) || found;
  return found;
}

/** What bearerMatches compares against: the digests of the configured tokens. */
export function bearerDigests(tokens: readonly string[]): Buffer[] {
  return tokens.map((t) => hash('sha256', t, 'buffer'));
}
