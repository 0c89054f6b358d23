// Untrusted text (names, addresses, accounts, server replies) must never reach
// a terminal as escape sequences or as bidi overrides that reorder what an
// administrator reads. Everything printed for humans goes through here.

// C0 controls, DEL, C1 controls, Unicode line/paragraph separators, and the
// bidirectional embedding/override/isolate characters.
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]/g;

function escapeChar(ch: string): string {
  const cp = ch.codePointAt(0)!;
  if (cp <= 0xff) return `\\x${cp.toString(16).toUpperCase().padStart(2, '0')}`;
  return `\\u${cp.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** Makes control and bidi characters visible as \xNN / \uNNNN escapes. */
export function neutralize(text: string): string {
  return text.replace(UNSAFE, escapeChar);
}
