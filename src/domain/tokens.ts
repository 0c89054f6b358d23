// Step 2 link tokens.
//
// A token is 16 bytes from the CSPRNG (128 bits) followed by a 4-byte check
// (the first bytes of SHA-256 over the random part), written as 27 base64url
// characters. The check lets a mis-copied link be told apart from one that
// simply does not exist (link_malformed vs link_unknown) without a database
// look-up. Only SHA-256(token) is stored, so a copy of the store does not hold
// a single usable link.

import { hash, randomBytes, timingSafeEqual } from 'node:crypto';

const RANDOM_BYTES = 16;
const CHECK_BYTES = 4;
export const TOKEN_LENGTH = Math.ceil(((RANDOM_BYTES + CHECK_BYTES) * 4) / 3); // 27

const CHECK_PREFIX = Buffer.from('portalctl-link-v1');

// One-shot hash() rather than a Hash object: a third of the cost, and every page view and mint pays it.
function check(random: Buffer): Buffer {
  return hash('sha256', Buffer.concat([CHECK_PREFIX, random]), 'buffer').subarray(0, CHECK_BYTES);
}

// Random bytes are drawn from the CSPRNG a few kilobytes at a time (as Node
// does for randomUUID): one system call per 256 tokens instead of one each.
// Bytes are copied out, wiped from the pool and never handed out twice.
const POOL_BYTES = 4096;
let pool = Buffer.alloc(0);
let poolAt = 0;

function freshBytes(n = RANDOM_BYTES): Buffer {
  if (poolAt + n > pool.length) {
    pool = randomBytes(Math.max(POOL_BYTES, n));
    poolAt = 0;
  }
  const out = Buffer.from(pool.subarray(poolAt, poolAt + n));
  pool.fill(0, poolAt, poolAt + n);
  poolAt += n;
  return out;
}

/** `n` bytes from the CSPRNG, through the pool: for values that must not be guessed, made often (a browser id per page view). */
export function pooledRandomBytes(n: number): Buffer {
  return freshBytes(n);
}

/** Random hex for identifiers that must not repeat or be guessed (Message-IDs, MIME boundaries); not for secrets. */
export function randomHex(bytes: number): string {
  return freshBytes(bytes).toString('hex');
}

/**
 * A fresh token. Tokens never start with "-", so a bare token on a command
 * line is never read as an option; tokens minted before that rule still work.
 */
export function mintToken(): string {
  for (;;) {
    const random = freshBytes();
    const token = Buffer.concat([random, check(random)]).toString('base64url');
    if (token[0] !== '-') return token;
  }
}

/** True when the token has the right shape and its check matches. */
export function isWellFormedToken(token: string): boolean {
  if (token.length !== TOKEN_LENGTH || !/^[A-Za-z0-9_-]+$/.test(token)) return false;
  const bytes = Buffer.from(token, 'base64url');
  if (bytes.length !== RANDOM_BYTES + CHECK_BYTES || bytes.toString('base64url') !== token) return false;
  return timingSafeEqual(bytes.subarray(RANDOM_BYTES), check(bytes.subarray(0, RANDOM_BYTES)));
}

export function tokenDigest(token: string): Buffer {
  return hash('sha256', token, 'buffer');
}

/** The path of every Step 2 link, below the portal's base URL. */
export const LINK_PATH = '/register/link';

/** The Step 2 URL that goes into the email. */
export function linkUrl(portalUrl: string, token: string): string {
  return `${portalUrl}${LINK_PATH}?token=${token}`;
}
