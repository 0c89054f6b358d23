import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { isWellFormedToken, linkUrl, mintToken, TOKEN_LENGTH, tokenDigest } from '../../src/domain/tokens.js';
import { parseLinkInput } from '../../src/domain/registration.js';
import { PortalctlError } from '../../src/errors.js';

const codeOf = (fn: () => unknown) => {
  try {
    fn();
    return 'ok';
  } catch (err) {
    return (err as PortalctlError).code;
  }
};

describe('Step 2 tokens', () => {
  it('are 27 URL-safe characters, unique, and pass their own check', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const t = mintToken();
      expect(t).toMatch(/^[A-Za-z0-9_-]{27}$/);
      expect(t.length).toBe(TOKEN_LENGTH);
      expect(isWellFormedToken(t)).toBe(true);
      seen.add(t);
    }
    expect(seen.size).toBe(2000);
  });

  it('detects any single altered, dropped or added character (a mis-copied link)', () => {
    const t = mintToken();
    fc.assert(
      fc.property(fc.nat(t.length - 1), fc.constantFrom(...'ABCabc019_-'), (i, ch) => {
        fc.pre(t[i] !== ch);
        const altered = t.slice(0, i) + ch + t.slice(i + 1);
        expect(isWellFormedToken(altered)).toBe(false);
        expect(isWellFormedToken(t.slice(0, i) + t.slice(i + 1))).toBe(false);
        expect(isWellFormedToken(t + ch)).toBe(false);
      }),
    );
  });

  it('stores a digest that does not contain the token', () => {
    const t = mintToken();
    const d = tokenDigest(t);
    expect(d.length).toBe(32);
    expect(d.toString('utf8')).not.toContain(t);
    expect(d.toString('base64url')).not.toContain(t);
  });
});

describe('reading what a person pasted', () => {
  const t = mintToken();
  const url = linkUrl('https://grants.example.org', t);

  it('accepts the full URL, the bare token, and surrounding whitespace', () => {
    expect(parseLinkInput(url)).toBe(t);
    expect(parseLinkInput(t)).toBe(t);
    expect(parseLinkInput(`  ${url}\n`)).toBe(t);
  });

  it('calls truncated, altered or padded links malformed (exit 1, the FAQ case 2)', () => {
    expect(codeOf(() => parseLinkInput(url.slice(0, -3)))).toBe('link_malformed');
    expect(codeOf(() => parseLinkInput(`${url}xyz`))).toBe('link_malformed');
    expect(codeOf(() => parseLinkInput(url.replace('token=', 'tokn=')))).toBe('link_malformed');
    expect(codeOf(() => parseLinkInput(encodeURIComponent(url)))).toBe('link_malformed');
    expect(codeOf(() => parseLinkInput('https://grants.example.org/register/link'))).toBe('link_malformed');
    expect(codeOf(() => parseLinkInput(''))).toBe('link_malformed');
  });

  it('refuses input that cannot be a copied link as a usage error (exit 2)', () => {
    expect(codeOf(() => parseLinkInput(`${t}\u0000`))).toBe('invalid_link');
    expect(codeOf(() => parseLinkInput(`${url}\u001b[2J`))).toBe('invalid_link');
    expect(codeOf(() => parseLinkInput('a'.repeat(10_000)))).toBe('invalid_link');
  });
});
