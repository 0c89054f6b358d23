import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseAccount, parseEmail, parseName, parseWholeNumber } from '../../src/domain/validate.js';
import { neutralize } from '../../src/output/sanitize.js';
import { UsageError } from '../../src/errors.js';

describe('email addresses', () => {
  it.each(['jane.doe@example.org', 'J.Doe+grants@Sub.Example.ORG', "o'brien@example.ie", 'x@a-b.example.com'])('accepts %s', (a) => {
    expect(parseEmail(a)).toBe(a);
  });

  it.each([
    ['two recipients', 'a@example.org,b@example.org'],
    ['a list with semicolon', 'a@example.org;b@example.org'],
    ['display name', 'Jane <jane@example.org>'],
    ['quoted local part', '"jane doe"@example.org'],
    ['comment', 'jane(comment)@example.org'],
    ['CRLF header injection', 'jane@example.org\r\nBcc: evil@example.com'],
    ['LF', 'jane@example.org\nBcc: x@y.org'],
    ['NUL', 'jane@exa\u0000mple.org'],
    ['space', 'jane doe@example.org'],
    ['no domain dot', 'jane@localhost'],
    ['IP literal', 'jane@[127.0.0.1]'],
    ['two @', 'a@b@example.org'],
    ['leading dot', '.jane@example.org'],
    ['double dot', 'ja..ne@example.org'],
    ['non-ASCII', 'jané@example.org'],
    ['too long local part', `${'a'.repeat(65)}@example.org`],
    ['too long', `a@${'b'.repeat(250)}.org`],
    ['empty', ''],
  ])('refuses %s', (_why, a) => {
    expect(() => parseEmail(a)).toThrow(UsageError);
  });

  it('names the bad value without echoing control characters', () => {
    try {
      parseEmail('jane@example.org\u001b[31m');
      expect.unreachable();
    } catch (err) {
      expect((err as Error).message).toContain('\\x1B');
      expect((err as Error).message).not.toContain('\u001b');
    }
  });
});

describe('names and accounts', () => {
  it('accepts any printable Unicode in names', () => {
    for (const n of ['Zoë', "O'Brien", '李', 'Jean-Luc', 'Ægir 👩‍🔬', 'de la Cruz']) expect(parseName(n, 'first name')).toBe(n.normalize('NFC'));
  });

  it('refuses control and text-direction characters in names', () => {
    for (const n of ['Eve\u001b[2J', 'Eve\r\nBcc: x', 'Eve\u202Egnp.exe', 'Eve\u0085', '']) expect(() => parseName(n, 'first name')).toThrow(UsageError);
  });

  it('accounts are identities: no spaces or controls', () => {
    expect(parseAccount('jdoe')).toBe('jdoe');
    expect(parseAccount('jane.doe@nih.gov')).toBe('jane.doe@nih.gov');
    for (const a of ['j doe', 'jdoe\u0000', 'jdoe\u001b', '', 'x'.repeat(129)]) expect(() => parseAccount(a)).toThrow(UsageError);
  });
});

describe('whole numbers', () => {
  it('refuses negative, fractional, exponent and non-numbers', () => {
    for (const v of ['-1', '2.5', '1e3', 'abc', '', ' ', '0x10', '99999']) expect(() => parseWholeNumber(v, 'DAYS', 0, 3650)).toThrow(UsageError);
    expect(parseWholeNumber('0', 'DAYS', 0, 3650)).toBe(0);
    expect(parseWholeNumber(' 30 ', 'DAYS', 0, 3650)).toBe(30);
  });
});

describe('neutralising untrusted text for the terminal', () => {
  it('never lets an escape, C1 control or bidi override through', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        const out = neutralize(s);

        expect(out).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\u2028\u2029]/);
      }),
    );
  });
});
