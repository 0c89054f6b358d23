// Untrusted text: names, addresses, accounts, server replies, headers. This is
// a leaf module that every layer may import. It names the classes of unsafe
// characters once, and offers the three ways text leaves portalctl:
//   neutralize()  for a terminal or a log line (escapes become visible \xNN),
//   escapeHtml()  for a web page or the HTML part of an email,
//   quote()       for a value named inside one of our own messages.
// Neutralise the untrusted values, never a whole message: our own line breaks
// are not hostile.

/** C0 controls, DEL and C1 controls (ESC, CSI U+009B, NUL, …). */
export const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
/** DEL and the C1 controls alone (what JSON.stringify leaves as it is). */
export const C1_CONTROL = /[\u007f-\u009f]/;
/** Unicode line and paragraph separators: a new line to a terminal or a header. */
export const LINE_SEPARATOR = /[\u2028\u2029]/;
/** Bidirectional embeddings, overrides and isolates: they reorder what a reader sees. */
export const BIDI_CONTROL = /[\u202a-\u202e\u2066-\u2069]/;
/** Direction marks (LRM, RLM, ALM): legitimate in names, but invisible on a terminal. */
export const BIDI_MARK = /[\u200e\u200f\u061c]/;
/** Characters that draw nothing: zero-width spaces and joiners, word joiner, BOM, tag characters. */
export const INVISIBLE = /[\u200b-\u200d\u2060-\u2064\ufeff\u{e0000}-\u{e007f}]/u;

/**
 * One expression matching a character of any of the given classes (each a
 * single bracket expression above), with the given flags: the places that
 * need a mix of them build it from these names instead of spelling it again.
 */
export function anyOf(flags: string, ...classes: RegExp[]): RegExp {
  const inner = classes.map((c) => c.source.slice(1, -1)).join('');
  return new RegExp(`[${inner}]`, classes.some((c) => c.unicode) && !flags.includes('u') ? `${flags}u` : flags);
}

/**
 * What a terminal would draw as nothing inside a name, so that "Ev\u200Bil" looks like "Evil": the
 * zero-width space, word joiner and invisible operators, BOM, tag characters and the soft hyphen.
 * Not the zero-width joiner and non-joiner: Persian and Indic names and emoji sequences need them.
 */
const HIDDEN = /[\u00ad\u200b\u2060-\u2064\ufeff\u{e0000}-\u{e007f}]/u;

// A terminal shows direction marks and the hidden characters as escapes, so that look-alike names
// can be told apart; tab-separated data keeps them (they are part of the name).
const TERMINAL_UNSAFE = anyOf('g', CONTROL, LINE_SEPARATOR, BIDI_CONTROL, BIDI_MARK, HIDDEN);
/** The same, direction marks excepted: they are data (see neutralizeData). */
const DATA_UNSAFE = anyOf('g', CONTROL, LINE_SEPARATOR, BIDI_CONTROL);
// The same classes without 'g', to ask first: almost every value is clean, and a test() is
// ~5× cheaper than a replace() that finds nothing (a listing of 1M users neutralises millions).
const HAS_TERMINAL_UNSAFE = anyOf('', CONTROL, LINE_SEPARATOR, BIDI_CONTROL, BIDI_MARK, HIDDEN);
const HAS_DATA_UNSAFE = anyOf('', CONTROL, LINE_SEPARATOR, BIDI_CONTROL);

function escapeChar(ch: string): string {
  const cp = ch.codePointAt(0)!;
  if (cp <= 0xff) return `\\x${cp.toString(16).toUpperCase().padStart(2, '0')}`;
  return `\\u${cp.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** Makes control, line-separator, bidi and invisible characters visible as \xNN / \uNNNN escapes, for a terminal or a log. */
export function neutralize(text: string): string {
  return HAS_TERMINAL_UNSAFE.test(text) ? text.replace(TERMINAL_UNSAFE, escapeChar) : text;
}

/**
 * Like neutralize(), but direction marks (LRM, RLM, ALM) are kept: for
 * tab-separated output, which scripts and spreadsheets read back. A mark is a
 * strong character with no scope — it cannot reorder anything beyond its
 * neighbours, and a tab ends its influence — so it is harmless there, and
 * escaping it would change the name.
 */
export function neutralizeData(text: string): string {
  return HAS_DATA_UNSAFE.test(text) ? text.replace(DATA_UNSAFE, escapeChar) : text;
}

/**
 * Characters that draw nothing on their own: spaces, controls, format
 * characters (U+200B, U+2060, soft hyphen, tags …), Unicode's
 * default-ignorable code points (Hangul fillers, variation selectors,
 * U+034F …) and combining marks, which draw only on a base character.
 */
const DRAWS_NOTHING = /[\s\p{Cc}\p{Cf}\p{Zs}\p{Zl}\p{Zp}\p{M}\p{Default_Ignorable_Code_Point}]/u;

/** True when the text has something a reader can see (not only spaces and invisible characters). */
export function hasVisibleCharacter(text: string): boolean {
  for (const ch of text) {
    if (DRAWS_NOTHING.test(ch) || INVISIBLE.test(ch) || BIDI_MARK.test(ch) || BIDI_CONTROL.test(ch)) continue;
    return true;
  }
  return false;
}

/** A value quoted for one of our messages: JSON-quoted, neutralised, cut to `max` characters. */
export function quote(value: string, max = 80): string {
  const cut = [...value].length > max ? `${[...value].slice(0, max).join('')}…` : value;
  return neutralize(JSON.stringify(cut));
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text for HTML element content or a double- or single-quoted attribute. */
export function escapeHtml(text: string): string {
  return /[&<>"']/.test(text) ? text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!) : text;
}

/** "1 user", "2 users". */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
