import { describe, expect, it } from 'vitest';
import {
  formatSender,
  parseAccount,
  parseDayList,
  parseEmail,
  parseHttpUrl,
  parseName,
  parseSender,
  parseSlug,
  parseWholeNumber,
} from '../../src/domain/validate.js';
import { parseServiceKey } from '../../src/domain/services.js';
import { UsageError } from '../../src/errors.js';
import { thrown } from '../helpers/run.js';

describe('email addresses', () => {
  it.each(['jane.doe@example.org', 'J.Doe+grants@Sub.Example.ORG', "o'brien@example.ie", 'x@a-b.example.com'])('accepts %s', (a) => {
    expect(parseEmail(a)).toBe(a);
  });

  it('trims surrounding spaces', () => {
    expect(parseEmail('  jane@example.org ')).toBe('jane@example.org');
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
    ['numeric top-level domain', 'jane@10.0.0.1'],
    ['two @', 'a@b@example.org'],
    ['leading dot', '.jane@example.org'],
    ['double dot', 'ja..ne@example.org'],
    ['non-ASCII', 'jané@example.org'],
    ['too long local part', `${'a'.repeat(65)}@example.org`],
    ['too long', `a@${'b'.repeat(250)}.org`],
    ['empty', ''],
  ])('refuses %s (invalid_email)', (_why, a) => {
    const err = thrown(() => parseEmail(a));
    expect(err).toBeInstanceOf(UsageError);
    expect(err.code).toBe('invalid_email');
  });

  it('names the bad value without echoing control characters', () => {
    const err = thrown(() => parseEmail('jane@example.org\u001b[31m'));
    expect(err.message).toContain('"jane@example.org\\u001b[31m"');
    expect(err.message).not.toContain('\u001b');
  });
});

describe('the sender (PORTALCTL_MAIL_FROM)', () => {
  it('is a bare address or one address with a display name', () => {
    expect(parseSender('no-reply@grants.example.org', 'sender')).toEqual({ address: 'no-reply@grants.example.org' });
    expect(parseSender('Grants Portal <no-reply@grants.example.org>', 'sender')).toEqual({ name: 'Grants Portal', address: 'no-reply@grants.example.org' });
    expect(parseSender('"Grants Portal, NIH" <no-reply@grants.example.org>', 'sender')).toEqual({
      name: 'Grants Portal, NIH',
      address: 'no-reply@grants.example.org',
    });
    expect(parseSender('<no-reply@grants.example.org>', 'sender')).toEqual({ address: 'no-reply@grants.example.org' });
  });

  it.each([
    ['two addresses', 'a@example.org, b@example.org'],
    ['a list behind a name', 'Grants <a@example.org>, b@example.org'],
    ['an unquoted comma in the name', 'Grants, NIH <a@example.org>'],
    ['a header injection', 'Grants <a@example.org>\r\nBcc: x@example.org'],
    ['a bidi override', 'Grants \u202e <a@example.org>'],
    ['an invisible name', '\u200b <a@example.org>'],
    ['a group', 'undisclosed-recipients:;'],
    ['a bad address', 'Grants <not an address>'],
  ])('refuses %s (invalid_sender or invalid_email, naming the setting)', (_why, v) => {
    const err = thrown(() => parseSender(v, 'sender address (PORTALCTL_MAIL_FROM)'));
    expect(err.exitCode).toBe(2);
    expect(['invalid_sender', 'invalid_email']).toContain(err.code);
    expect(err.message).toContain('PORTALCTL_MAIL_FROM');
  });

  it('a bad bare sender is told the form with a name, not "one plain address"', () => {
    const err = thrown(() => parseSender('not-an-address', 'sender address (config.json)'));
    expect(err.message).toContain('Grants Portal <no-reply@grants.example.org>');
    expect(err.message).not.toContain('plain address');
    expect(err.code).toBe('invalid_sender');
  });

  it('is written back as one header value, the name quoted', () => {
    expect(formatSender({ address: 'a@example.org' })).toBe('a@example.org');
    expect(formatSender({ name: 'Grants "Portal"', address: 'a@example.org' })).toBe('"Grants \\"Portal\\"" <a@example.org>');
  });
});

describe('names and accounts', () => {
  it('accepts any printable Unicode in names, NFC-normalised', () => {
    for (const n of ['Zoë', "O'Brien", '李', 'Jean-Luc', 'Ægir 👩‍🔬', 'de la Cruz', 'Ali\u200f']) expect(parseName(n, 'first name')).toBe(n.normalize('NFC'));
    expect(parseName('Zoe\u0308', 'first name')).toBe('Zoë');
  });

  it.each([
    ['an escape', 'Eve\u001b[2J'],
    ['CRLF', 'Eve\r\nBcc: x'],
    ['a bidi override', 'Eve\u202Egnp.exe'],
    ['a C1 control', 'Eve\u0085'],
    ['a line separator', 'Eve\u2028Mallory'],
    ['nothing visible', '\u200b\u200b'],
    ['a web address', 'Click https://evil.example.com'],
    ['www', 'see www.evil.example'],
    ['more than 100 characters', 'x'.repeat(101)],
    ['nothing', '   '],
  ])('refuses a name with %s', (_why, n) => {
    expect(thrown(() => parseName(n, 'first name')).code).toBe('invalid_name');
  });

  it("accounts are identities: letters, digits and . _ @ + - ', no spaces or controls", () => {
    expect(parseAccount('jdoe')).toBe('jdoe');
    expect(parseAccount('jane.doe@nih.gov')).toBe('jane.doe@nih.gov');
    expect(parseAccount("o'brien")).toBe("o'brien");
    expect(parseAccount('Müller')).toBe('Müller');
    for (const a of ['j doe', 'jdoe\u0000', 'jdoe\u001b', '', 'x'.repeat(129), 'a;b', 'a/b'])
      expect(thrown(() => parseAccount(a)).code).toBe('invalid_account');
  });

  it('login services are nih, ims-employee and ims, in any case', () => {
    expect(parseServiceKey('NIH')).toBe('nih');
    expect(parseServiceKey(' ims-employee ')).toBe('ims-employee');
    const err = thrown(() => parseServiceKey('google'));
    expect(err.code).toBe('invalid_service');
    expect(err.message).toContain('"google"');
    expect(err.message).toContain('nih, ims-employee, ims');
  });
});

describe('numbers, slugs, URLs', () => {
  it('whole numbers: refuses negative, fractional, exponent and non-numbers, and out-of-range values', () => {
    for (const v of ['-1', '2.5', '1e3', 'abc', '', ' ', '0x10', '99999', '3651'])
      expect(thrown(() => parseWholeNumber(v, 'DAYS', 0, 3650)).code).toBe('invalid_number');
    expect(parseWholeNumber('0', 'DAYS', 0, 3650)).toBe(0);
    expect(parseWholeNumber(' 30 ', 'DAYS', 0, 3650)).toBe(30);
    expect(thrown(() => parseWholeNumber('2.5', '--limit', 1, 10)).message).toBe('Invalid --limit "2.5": give a whole number from 1 to 10.');
  });

  it('day lists: "2,5" in order without repeats; "0" or "" is none', () => {
    expect(parseDayList('5,2,5', '--remind-days', 365)).toEqual([2, 5]);
    expect(parseDayList('0', '--remind-days', 365)).toEqual([]);
    expect(parseDayList('', '--remind-days', 365)).toEqual([]);
    expect(thrown(() => parseDayList('2,x', '--remind-days', 365)).code).toBe('invalid_number');
    expect(thrown(() => parseDayList('2,0', '--remind-days', 365)).code).toBe('invalid_number');
  });

  it('portal slugs are 1–40 lowercase letters, digits and inner hyphens', () => {
    for (const s of ['grants', 'g', 'nih-grants-2026']) expect(parseSlug(s)).toBe(s);
    for (const s of ['Grants', '-grants', 'grants-', 'gr ants', '', 'x'.repeat(41), 'grants/../x'])
      expect(thrown(() => parseSlug(s)).code).toBe('invalid_portal');
  });

  it('URLs are absolute http(s); a portal base URL has no query or fragment, and no trailing slash', () => {
    expect(parseHttpUrl('https://grants.example.org/', 'portal URL', { base: true })).toBe('https://grants.example.org');
    expect(parseHttpUrl('https://login.example.org/register?from=grants', 'form URL')).toBe('https://login.example.org/register?from=grants');
    for (const [u, base] of [
      ['ftp://grants.example.org', false],
      ['grants.example.org', false],
      ['javascript:alert(1)', false],
      ['https://user:pw@grants.example.org', false],
      ['https://grants.example.org/a b', false],
      ['https://grants.example.org/?x=1', true],
      ['https://grants.example.org/#top', true],
      ['https://grants.example.org/?', true],
    ] as const) {
      expect(thrown(() => parseHttpUrl(u, 'portal URL', { base })).code, u).toBe('invalid_url');
    }
  });
});
