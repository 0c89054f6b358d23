// Validation of everything that comes from an administrator or a CSV file.
// Each failure is a UsageError (exit 2) that names the bad value and says
// what to do; nothing is written before validation has passed.

import { UsageError } from '../errors.js';
import { neutralize } from '../output/sanitize.js';

const show = (v: string) => JSON.stringify(neutralize(v.length > 80 ? `${v.slice(0, 80)}…` : v));

// RFC 5321/5322 dot-atom local part and a hostname domain, ASCII only. This is
// deliberately stricter than the RFCs allow: no quoted local parts, comments,
// display names, IP literals or several recipients, because each of those has
// been used to smuggle a second recipient or a header into an email.
const ATEXT = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]";
const LOCAL = new RegExp(`^${ATEXT}+(?:\\.${ATEXT}+)*$`);
const LABEL = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;

export function parseEmail(raw: string, what = 'email address'): string {
  const value = raw.trim();
  const bad = (why: string) =>
    new UsageError(`Invalid ${what} ${show(raw)}: ${why}. Give one plain address such as jane.doe@example.org.`, 'invalid_email');
  if (value === '') throw bad('it is empty');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/.test(value)) throw bad('it contains control characters');
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

/** Case-insensitive key under which an address is unique within a portal. */
export function emailKey(email: string): string {
  return email.toLowerCase();
}

// Names may hold any printable Unicode; what is refused is what could act on a
// terminal or reorder text: controls, line separators and bidi controls.
// eslint-disable-next-line no-control-regex
const NAME_FORBIDDEN = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

export function parseName(raw: string, what: string): string {
  const value = raw.normalize('NFC').trim();
  if (value === '') throw new UsageError(`The ${what} is empty; give the person's ${what}.`, 'invalid_name');
  if (NAME_FORBIDDEN.test(value)) {
    throw new UsageError(`Invalid ${what} ${show(raw)}: it contains control or text-direction characters; type the name as plain text.`, 'invalid_name');
  }
  if ([...value].length > 100) throw new UsageError(`Invalid ${what} ${show(raw)}: it is longer than 100 characters.`, 'invalid_name');
  return value;
}

// Login-service usernames are identities: printable, no spaces, bounded.
const ACCOUNT = /^[\p{L}\p{N}._@+\-']{1,128}$/u;

export function parseAccount(raw: string): string {
  const value = raw.normalize('NFC').trim();
  if (!ACCOUNT.test(value)) {
    throw new UsageError(
      `Invalid account ${show(raw)}: a login-service username is 1–128 letters, digits or . _ @ + - ' with no spaces or control characters.`,
      'invalid_account',
    );
  }
  return value;
}

export function accountKey(account: string): string {
  return account.toLowerCase();
}

const SLUG = /^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$/;

export function parseSlug(raw: string): string {
  const value = raw.trim();
  if (!SLUG.test(value)) {
    throw new UsageError(
      `Invalid portal slug ${show(raw)}: use 1–40 lowercase letters, digits and inner hyphens, e.g. "grants".`,
      'invalid_portal',
    );
  }
  return value;
}

export function parseHttpUrl(raw: string, what: string): string {
  const value = raw.trim();
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`Invalid ${what} ${show(raw)}: give an absolute http(s) URL such as https://grants.example.org.`, 'invalid_url');
  }
  // eslint-disable-next-line no-control-regex
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || /[\u0000-\u0020\u007f]/.test(value) || url.username || url.password) {
    throw new UsageError(`Invalid ${what} ${show(raw)}: give an absolute http(s) URL without credentials.`, 'invalid_url');
  }
  return url.toString().replace(/\/$/, '');
}

/** A whole number within [min, max]; "2.5", "-1", "1e3", "abc" are refused. */
export function parseWholeNumber(raw: string | number, what: string, min: number, max: number): number {
  const text = String(raw).trim();
  if (!/^[0-9]+$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new UsageError(`Invalid ${what} ${show(text)}: give a whole number from ${min} to ${max}.`, 'invalid_number');
  }
  return Number(text);
}
