// Validation of everything that comes from an administrator, a CSV file or the
// environment. Each failure is a UsageError (exit 2) that names the bad value
// and says what to do; commands validate before the first write or prompt.

import { UsageError } from '../errors.js';
import { BIDI_CONTROL, CONTROL, hasVisibleCharacter, LINE_SEPARATOR, quote } from '../text.js';

// RFC 5321/5322 dot-atom local part and a host-name domain, ASCII only. This is
// deliberately stricter than the RFCs allow: no quoted local parts, comments,
// IP literals or several recipients, because each of those has been used to
// smuggle a second recipient or a header into an email.
const ATEXT = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]";
const LOCAL = new RegExp(`^${ATEXT}+(?:\\.${ATEXT}+)*$`);
const LABEL = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;

const PLAIN_HINT = 'Give one plain address such as jane.doe@example.org.';
const SENDER_HINT = 'Give one address, optionally with a name: Grants Portal <no-reply@grants.example.org>.';

export function parseEmail(raw: string, what = 'email address', hint = PLAIN_HINT): string {
  const value = raw.trim();
  const bad = (why: string) => new UsageError(`Invalid ${what} ${quote(raw)}: ${why}. ${hint}`, 'invalid_email');
  if (value === '') throw bad('it is empty');
  if (CONTROL.test(value)) throw bad('it contains control characters');
  if (/[\s,;<>()"[\]\\:]/.test(value)) throw bad('only one bare address is allowed (no spaces, names, comments, quotes or lists)');
  if (/[^\x21-\x7e]/.test(value)) throw bad('only ASCII characters are allowed');
  if (value.length > 254) throw bad('it is longer than 254 characters');
  const at = value.lastIndexOf('@');
  if (at < 1 || value.indexOf('@') !== at) throw bad('it must contain exactly one "@" with a name before it');
  const local = value.slice(0, at);
  const domain = value.slice(at + 1);
  if (local.length > 64) throw bad('the part before "@" is longer than 64 characters');
  if (!LOCAL.test(local)) throw bad('the part before "@" is not valid');
  const labels = domain.split('.');
  if (labels.length < 2 || !labels.every((l) => LABEL.test(l)) || /^[0-9]+$/.test(labels[labels.length - 1]!)) {
    throw bad('the domain after "@" is not a valid host name');
  }
  return value;
}

export interface Sender {
  address: string;
  /** The display name, e.g. "Grants Portal"; undefined for a bare address. */
  name?: string;
}

/**
 * A sender: a bare address or exactly one address with a display name —
 * `Grants Portal <no-reply@grants.example.org>` or `"Grants Portal, NIH" <…>`.
 * Lists, groups, comments and anything that could start a new header are refused.
 */
export function parseSender(raw: string, what: string): Sender {
  const value = raw.trim();
  const bad = (why: string) => new UsageError(`Invalid ${what} ${quote(raw)}: ${why}. ${SENDER_HINT}`, 'invalid_sender');
  if (CONTROL.test(value) || LINE_SEPARATOR.test(value) || BIDI_CONTROL.test(value)) throw bad('it contains control characters');
  if (/[,;]/.test(value.replace(/"(?:[^"\\]|\\.)*"/g, ''))) throw bad('it holds more than one address; give exactly one');
  const address = (text: string) => {
    try {
      return parseEmail(text, what, SENDER_HINT);
    } catch (err) {
      throw err instanceof UsageError ? new UsageError(err.message, 'invalid_sender') : err;
    }
  };
  if (!value.includes('<')) return { address: address(value) };
  const m = /^(?:"((?:[^"\\]|\\.)*)"|([^"<>]*?))\s*<([^<>]*)>$/.exec(value);
  if (!m) throw bad('it must be a name followed by one address in angle brackets');
  const quoted = m[1] !== undefined;
  const name = (quoted ? m[1]!.replace(/\\(.)/g, '$1') : m[2]!).trim();
  if (!quoted && /[,;:@()[\]\\]/.test(name)) throw bad('put a name with , ; : @ or brackets in double quotes (a comma would make a list)');
  if (name !== '' && !hasVisibleCharacter(name)) throw bad('the name has no visible characters');
  if ([...name].length > 100) throw bad('the name is longer than 100 characters');
  const bare = address(m[3]!);
  return name === '' ? { address: bare } : { address: bare, name };
}

/** "Grants Portal <no-reply@…>" for a header: nodemailer encodes the name; here only what is allowed is decided. */
export function formatSender(s: Sender): string {
  return s.name ? `"${s.name.replace(/["\\]/g, '\\$&')}" <${s.address}>` : s.address;
}

// Names may hold any printable Unicode, direction marks included; what is
// refused could act on a terminal, break a header or a line, reorder text, or
// pass for instructions in an email: controls, separators, bidi overrides,
// invisible-only names, and URLs.
// Checked on the NFKC form, so full-width "ｈｔｔｐｓ：／／" counts too. A host
// followed by a path ("evil.example/login") is refused; a bare "St.John" or
// "J.R." is a name.
const URL_LIKE = /(?:[a-z][a-z0-9+.-]*:\/\/|www\.)\S|[\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)+\//iu;

/** `whose`: for the "is empty" message — "give the person's first name", "give the portal's name". */
export function parseName(raw: string, what: string, whose = "the person's"): string {
  const value = raw.normalize('NFC').trim();
  if (value === '') throw new UsageError(`The ${what} is empty; give ${whose} ${what.replace(/^portal /, '')}.`, 'invalid_name');
  if (CONTROL.test(value) || LINE_SEPARATOR.test(value) || BIDI_CONTROL.test(value)) {
    throw new UsageError(`Invalid ${what} ${quote(raw)}: it contains control or text-direction characters; type the name as plain text.`, 'invalid_name');
  }
  if (!hasVisibleCharacter(value)) throw new UsageError(`Invalid ${what} ${quote(raw)}: it has no visible characters.`, 'invalid_name');
  // U+FFFD is what bytes that are not UTF-8 became on the way in (a Latin-1 / Windows-1252 CSV, a
  // terminal in another encoding): stored, the person would be greeted as "Dear J�rgen".
  if (value.includes('\ufffd')) {
    throw new UsageError(
      `Invalid ${what} ${quote(raw)}: it holds \ufffd (U+FFFD), where text that was not UTF-8 was read; save the file as UTF-8 (in Excel: "CSV UTF-8") or set the terminal to UTF-8.`,
      'invalid_name',
    );
  }
  if (URL_LIKE.test(value.normalize('NFKC'))) throw new UsageError(`Invalid ${what} ${quote(raw)}: a name cannot contain a web address.`, 'invalid_name');
  if ([...value].length > 100) throw new UsageError(`Invalid ${what} ${quote(raw)}: it is longer than 100 characters.`, 'invalid_name');
  return value;
}

// Login-service usernames are identities: printable, no spaces, bounded.
const ACCOUNT = /^[\p{L}\p{N}._@+\-']{1,128}$/u;

export function parseAccount(raw: string): string {
  const value = raw.normalize('NFC').trim();
  if (!ACCOUNT.test(value)) {
    throw new UsageError(
      `Invalid account ${quote(raw)}: a login-service username is 1–128 letters, digits or . _ @ + - ' with no spaces or control characters.`,
      'invalid_account',
    );
  }
  return value;
}

const SLUG = /^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$/;

export function parseSlug(raw: string): string {
  const value = raw.trim();
  if (!SLUG.test(value))
    throw new UsageError(`Invalid portal slug ${quote(raw)}: use 1–40 lowercase letters, digits and inner hyphens, e.g. "grants".`, 'invalid_portal');
  return value;
}

/**
 * An absolute http(s) URL. A portal's base URL (`base: true`) also may not
 * carry a query or a fragment: Step 2 links are built by appending
 * /register/link?token=…, which a query or fragment would break.
 */
/** A refused URL as its error message quotes it: never a password in it (masked when the URL parses, the URL left out when it does not). */
function shownUrl(raw: string): string {
  try {
    const url = new URL(raw.trim());
    if (!url.password) return quote(raw);
    url.password = '***';
    return quote(url.toString());
  } catch {
    return raw.includes('@') ? '(not shown: it may hold a password)' : quote(raw);
  }
}

export function parseHttpUrl(raw: string, what: string, opts: { base?: boolean } = {}): string {
  const value = raw.trim();
  const bad = (why: string) => new UsageError(`Invalid ${what} ${shownUrl(raw)}: ${why}.`, 'invalid_url');

  if (/[\u0000-\u0020\u007f]/.test(value)) throw bad('it contains spaces or control characters');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw bad('give an absolute http(s) URL such as https://grants.example.org');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw bad('give an absolute http(s) URL such as https://grants.example.org');
  if (url.username || url.password) throw bad('a URL with a user name or password is not allowed');
  if (opts.base && (url.search || value.includes('?') || url.hash || value.includes('#'))) {
    throw bad('the portal URL may not have a query (?…) or a fragment (#…); give the address of the portal itself, e.g. https://grants.example.org');
  }
  return url.toString().replace(/\/$/, '');
}

/** A whole number within [min, max]; "2.5", "-1", "1e3", "abc" are refused. */
export function parseWholeNumber(raw: string | number, what: string, min: number, max: number): number {
  const text = String(raw).trim();
  if (!/^[0-9]{1,12}$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new UsageError(`Invalid ${what} ${quote(text)}: give a whole number from ${min} to ${max}.`, 'invalid_number');
  }
  return Number(text);
}

/** "2,5" → [2, 5]; "0" or "" → [] (off). */
export function parseDayList(raw: string, what: string, max: number): number[] {
  const value = raw.trim();
  if (value === '' || value === '0') return [];
  const days = value.split(',').map((d) => parseWholeNumber(d, what, 1, max));
  return [...new Set(days)].sort((a, b) => a - b);
}
