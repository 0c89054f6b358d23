// The one rule for case-insensitive keys: email addresses and login-service
// accounts are unique under it, and searches compare under it. Unicode-aware
// (MÜLLER finds Müller, Ölaf finds ölaf), unlike SQLite's ASCII-only lower().
// Both stores keep the keys in columns computed here, so SQL never folds case.

/**
 * NFC, then lower-, upper- and lower-cased: JavaScript's case mappings are
 * Unicode's, and the round trip folds what lower-casing alone leaves apart
 * (ß and SS). The first lower-casing is for the capital sharp s: ẞ upper-cases
 * to itself and lower-cases to ß, so only lower-upper-lower takes it to ss,
 * as Unicode's case folding does (migration 0007 / 0002 mended the keys made
 * without it).
 */
export function foldKey(text: string): string {
  return text.normalize('NFC').toLowerCase().toUpperCase().toLowerCase();
}

export const emailKey = foldKey;
export const accountKey = foldKey;

/** What `users list --search` and `whoami-login` look in: the name, the address and the username. */
export function searchKey(u: { firstName: string; lastName: string; email: string; username?: string | null }): string {
  return foldKey(`${u.firstName} ${u.lastName}\u0001${u.email}\u0001${u.username ?? ''}`);
}

/**
 * What `users list --sort name` orders by: "last, first", folded, and without
 * accents, so that Éclair sorts among the Es as a reader expects (code point
 * order would put every accented initial after Z).
 */
export function nameKey(firstName: string, lastName: string): string {
  return foldKey(`${lastName}\u0001${firstName}`).normalize('NFD').replace(/\p{M}/gu, '').normalize('NFC');
}
