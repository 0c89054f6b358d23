// What shell completion offers from a SQLite store (portalctl __complete):
// portals, and the users of a portal whose address (or id) starts with what
// was typed. The file is opened read-only and must exist — nothing created,
// nothing migrated — and a store that is busy or of another shape yields
// nothing rather than an error: TAB never complains.

import { foldKey } from '../keys.js';

export interface Candidate {
  value: string;
  description: string;
}

/** A shell's menu is no place for thousands: the first ones that match. */
const LIMIT = 100;

export async function completionCandidates(path: string, kind: 'portals' | 'users', portalSlug: string | undefined, prefix: string): Promise<Candidate[]> {
  const { loadDriver } = await import('./driver.js');
  const Database = loadDriver();
  let db;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true, timeout: 50 });
  } catch {
    return []; // no store yet
  }
  try {
    const portals = db.prepare('SELECT id, slug, name FROM portals ORDER BY slug').all() as { id: number; slug: string; name: string }[];
    if (kind === 'portals') return portals.filter((p) => p.slug.startsWith(prefix)).map((p) => ({ value: p.slug, description: p.name }));
    const portal = portalSlug === undefined ? (portals.length === 1 ? portals[0] : undefined) : portals.find((p) => p.slug === portalSlug);
    if (!portal) return [];
    type Row = { id: number; email: string; first_name: string; last_name: string };
    if (/^[0-9]+$/.test(prefix)) {
      const rows = db
        .prepare(`SELECT id, email, first_name, last_name FROM users WHERE portal_id = ? AND CAST(id AS TEXT) LIKE ? ORDER BY id LIMIT ${LIMIT}`)
        .all(portal.id, `${prefix}%`) as Row[];
      return rows.map((u) => ({ value: String(u.id), description: `${u.first_name} ${u.last_name} <${u.email}>` }));
    }
    // A range on the folded address uses the (portal_id, email_key) index: quick on any number of users.
    const key = foldKey(prefix);
    const rows = db
      .prepare(`SELECT id, email, first_name, last_name FROM users WHERE portal_id = ? AND email_key >= ? AND email_key < ? ORDER BY email_key LIMIT ${LIMIT}`)
      .all(portal.id, key, `${key}\uffff`) as Row[];
    // The typed prefix keeps its case: shells compare case-sensitively.
    return rows
      .filter((u) => u.email.toLowerCase().startsWith(prefix.toLowerCase()))
      .map((u) => ({ value: prefix + u.email.slice(prefix.length), description: `${u.first_name} ${u.last_name}` }));
  } catch {
    return [];
  } finally {
    db.close();
  }
}
