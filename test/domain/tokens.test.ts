import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { isWellFormedToken, linkUrl, mintToken, TOKEN_LENGTH, tokenDigest } from '../../src/domain/tokens.js';
import { isPortalLinkUrl, parseLinkInput } from '../../src/domain/lifecycle.js';
import type { Portal } from '../../src/store/types.js';
import { codeOf } from '../helpers/run.js';

describe('Step 2 tokens', () => {
  it('are 27 URL-safe characters, unique, pass their own check, and never start with "-"', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const t = mintToken();
      expect(t).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{26}$/);
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
        expect(isWellFormedToken(t.slice(0, i) + ch + t.slice(i + 1))).toBe(false);
        expect(isWellFormedToken(t.slice(0, i) + t.slice(i + 1))).toBe(false);
        expect(isWellFormedToken(t + ch)).toBe(false);
      }),
    );
  });

  it('are stored as a digest that does not contain the token', () => {
    const t = mintToken();
    const d = tokenDigest(t);
    expect(d.length).toBe(32);
    expect(d.toString('latin1')).not.toContain(t);
    expect(d.toString('base64url')).not.toContain(t);
    expect(tokenDigest(t).equals(d)).toBe(true);
  });
});

describe('reading what a person pasted', () => {
  const t = mintToken();
  const url = linkUrl('https://grants.example.org', t);

  it('accepts the full URL, the bare token, and surrounding whitespace', () => {
    expect(parseLinkInput(url)).toEqual({ token: t, url: new URL(url) });
    expect(parseLinkInput(t)).toEqual({ token: t });
    expect(parseLinkInput(`  ${url}\n`).token).toBe(t);
    expect(parseLinkInput(`\t${t}\r\n`).token).toBe(t);
  });

  it.each([
    ['truncated', url.slice(0, -3)],
    ['padded', `${url}xyz`],
    ['parameter renamed', url.replace('token=', 'tokn=')],
    ['URL-encoded whole', encodeURIComponent(url)],
    ['no token', 'https://grants.example.org/register/link'],
    ['empty', ''],
    ['one character altered', t.slice(0, -1) + (t.endsWith('A') ? 'B' : 'A')],
  ])('calls a %s link malformed (exit 1, the FAQ case "incorrectly copied")', async (_why, input) => {
    expect(await codeOf(() => parseLinkInput(input))).toBe('link_malformed');
  });

  it.each([
    ['NUL', `${t}\u0000`],
    ['an escape sequence', `${url}\u001b[2J`],
    ['a bidi override', `\u202e${t}`],
    ['10 kB', 'a'.repeat(10_000)],
  ])('refuses input with %s as a usage error (exit 2): it cannot be a copied link', async (_why, input) => {
    expect(await codeOf(() => parseLinkInput(input))).toBe('invalid_link');
  });

  it("knows the portal's own Step 2 address: scheme, host, port and path", () => {
    const portal = { baseUrl: 'https://grants.example.org' } as Portal;
    expect(isPortalLinkUrl(new URL(url), portal)).toBe(true);
    expect(isPortalLinkUrl(new URL(linkUrl('http://grants.example.org', t)), portal)).toBe(false);
    expect(isPortalLinkUrl(new URL(linkUrl('https://evil.example.org', t)), portal)).toBe(false);
    expect(isPortalLinkUrl(new URL(linkUrl('https://grants.example.org:8443', t)), portal)).toBe(false);
    expect(isPortalLinkUrl(new URL(`https://grants.example.org/other?token=${t}`), portal)).toBe(false);
    const below = { baseUrl: 'https://example.org/grants' } as Portal;
    expect(isPortalLinkUrl(new URL(linkUrl('https://example.org/grants', t)), below)).toBe(true);
  });
});
