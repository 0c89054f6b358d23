// The secrets serve compares and seals (src/server/seal.ts): the access API's
// bearer tokens compared in constant time — every configured token, fixed-size
// digests, whatever matched — the Step 2 form's CSRF token bound to the
// browser and the link, and the sealed sign-in cookie that nobody can alter.

import type * as Crypto from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';

vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof Crypto>();
  return { ...actual, default: actual, timingSafeEqual: vi.fn(actual.timingSafeEqual) };
});

const { timingSafeEqual } = await import('node:crypto');
const { bearerDigests, bearerMatches, csrfMatches, csrfToken, deriveKeys, seal, unseal } = await import('../../src/server/seal.js');

const compared = vi.mocked(timingSafeEqual);
afterEach(() => compared.mockClear());

describe('the access API tokens', () => {
  const tokens = ['first-token-0123456789abcdef0123', 'second-token-0123456789abcdef012', 'third-token-0123456789abcdef01234'];
  const digests = bearerDigests(tokens);

  it('are compared in constant time: every configured token, as equal-size digests, whatever matched', () => {
    for (const [given, expected] of [
      [tokens[0]!, true], // a match at once must not end the comparison early
      [tokens[2]!, true],
      [`${tokens[0]!}x`, false],
      ['x', false], // a short guess is compared at full length too
      ['', false],
    ] as const) {
      compared.mockClear();
      expect(bearerMatches(given, digests), given).toBe(expected);
      expect(compared, given).toHaveBeenCalledTimes(tokens.length);
      for (const [a, b] of compared.mock.calls) {
        expect((a as Buffer).length).toBe(32);
        expect((b as Buffer).length).toBe(32);
      }
    }
  });

  it('no configured token matches nothing', () => {
    expect(bearerMatches(tokens[0]!, [])).toBe(false);
  });
});

describe('the Step 2 form’s CSRF token', () => {
  const keys = deriveKeys(['a-client-secret']);

  it('is good only in the browser that loaded the page, for the link it was loaded for, compared in constant time', () => {
    const t = csrfToken(keys.csrf, 'browser-a', 'link-1');
    expect(csrfMatches(keys.csrf, 'browser-a', 'link-1', t)).toBe(true);
    expect(compared).toHaveBeenCalled();
    expect(csrfMatches(keys.csrf, 'browser-b', 'link-1', t)).toBe(false);
    expect(csrfMatches(keys.csrf, 'browser-a', 'link-2', t)).toBe(false);
    expect(csrfMatches(deriveKeys(['another-secret']).csrf, 'browser-a', 'link-1', t)).toBe(false);
    expect(csrfMatches(keys.csrf, 'browser-a', 'link-1', t.slice(0, -1))).toBe(false);
  });
});

describe('the sealed sign-in cookie', () => {
  const keys = deriveKeys(['a-client-secret', 'an-api-token']);

  it('opens with the same secrets in any order, and not when altered, for another purpose or with other secrets', () => {
    const value = { t: 'token', s: 'nih', exp: 1 };
    const sealed = seal(keys.seal, 'pending sign-in', value);
    expect(unseal(deriveKeys(['an-api-token', 'a-client-secret']).seal, 'pending sign-in', sealed)).toEqual(value);
    const flipped = sealed.slice(0, 30) + (sealed[30] === 'A' ? 'B' : 'A') + sealed.slice(31);
    expect(unseal(keys.seal, 'pending sign-in', flipped)).toBeUndefined();
    expect(unseal(keys.seal, 'something else', sealed)).toBeUndefined();
    expect(unseal(deriveKeys(['a-client-secret']).seal, 'pending sign-in', sealed)).toBeUndefined();
    expect(unseal(keys.seal, 'pending sign-in', 'not base64!')).toBeUndefined();
  });
});
