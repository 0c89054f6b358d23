// The per-address limit of the link routes, on a clock moved by hand. (Its
// place in serve — shared by the page, the form and the callback, answered
// with the "Too many attempts" page — is tested in serve-http.test.ts.)

import { describe, expect, it } from 'vitest';
import { MAX_ADDRESSES, perAddressLimit } from '../../src/server/rate-limit.js';

describe('perAddressLimit', () => {
  it('allows max requests an address in a window, then refuses until the window ends; other addresses go on', () => {
    let t = 1_000_000;
    const limit = perAddressLimit({ max: 3, windowMs: 60_000, now: () => t });
    expect([1, 2, 3].map(() => limit('203.0.113.9').allowed)).toEqual([true, true, true]);
    t += 20_000;
    expect(limit('203.0.113.9')).toEqual({ allowed: false, retryAfterSeconds: 40 });
    expect(limit('198.51.100.1').allowed).toBe(true);
    t += 39_999;
    expect(limit('203.0.113.9')).toEqual({ allowed: false, retryAfterSeconds: 1 });
    t += 1;
    expect(limit('203.0.113.9').allowed).toBe(true);
  });

  it('holds at most MAX_ADDRESSES addresses: past that the window starts over', () => {
    let t = 0;
    const limit = perAddressLimit({ max: 1, windowMs: 60_000, now: () => t });
    expect(limit('busy').allowed).toBe(true);
    expect(limit('busy').allowed).toBe(false);
    for (let i = 1; i < MAX_ADDRESSES; i++) limit(`10.0.${i >> 8}.${i & 255}#${i}`);
    t += 1;
    expect(limit('busy').allowed).toBe(true);
  });
});
