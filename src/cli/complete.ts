// `portalctl __complete portals|users [--db PATH] [--portal SLUG] -- PREFIX`:
// the values shell completion offers for --portal and for USER arguments,
// one "value<TAB>description" a line. Called on TAB, so it must be quick and
// harmless: bin/portalctl loads only this module; it opens the SQLite store
// read-only, changes nothing (no migration, no file created), asks a
// PostgreSQL store nothing (no network on TAB), and prints nothing at all
// when anything is amiss.

import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { foldKey } from '../store/keys.js';

/** A shell's menu of candidates is no place for thousands: the first ones that match. */
const LIMIT = 100;

/**
 * The store and the portal as Settings resolves them (flag, environment,
 * config file, default) — read here without Settings and its validation,
 * which a TAB should not pay for.
 */
function where(flags: { db?: string; portal?: string }, env: NodeJS.ProcessEnv): { db: string; portal?: string } {
  const home = env.HOME || homedir();
  const configFile = env.PORTALCTL_CONFIG || join(env.XDG_CONFIG_HOME || join(home, '.config'), 'portalctl', 'config.json');
  let file: { db?: unknown; portal?: unknown } = {};
  try {
    file = JSON.parse(readFileSync(configFile, 'utf8')) as typeof file;
  } catch {
    // no config file (or a broken one: the next real command says so)
  }
  const fileDb = typeof file.db === 'string' && file.db !== '' ? (isAbsolute(file.db) ? file.db : resolve(dirname(configFile), file.db)) : undefined;
  const filePortal = typeof file.portal === 'string' && file.portal !== '' ? file.portal : undefined;
  return {
    db: flags.db || env.PORTALCTL_DB || fileDb || join(env.XDG_DATA_HOME || join(home, '.local', 'share'), 'portalctl', 'portalctl.db'),
    portal: flags.portal || env.PORTALCTL_PORTAL || filePortal,
  };
}

/** One line per candidate; tabs and line breaks in a description (untrusted names) become spaces. */
const line = (value: string, description: string) => `${value}\t${description.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, ' ')}\n`;

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  try {
    const [kind, ...rest] = argv;
    const flag = (name: string) => {
      const i = rest.indexOf(name);
      return i >= 0 && i < rest.indexOf('--') ? rest[i + 1] : undefined;
    };
    const prefix = rest.includes('--') ? (rest[rest.indexOf('--') + 1] ?? '') : '';
    const settings = where({ db: flag('--db'), portal: flag('--portal') }, env);
    const path = settings.db;
    if (/^postgres(?:ql)?:\/\//i.test(path) || (kind !== 'portals' && kind !== 'users')) return 0;
    const { default: Database } = await import('better-sqlite3');
    let db;
    try {
      db = new Database(path, { readonly: true, fileMustExist: true, timeout: 50 });
    } catch {
      return 0; // no store yet: nothing to offer
    }
    try {
      const portals = db.prepare('SELECT id, slug, name FROM portals ORDER BY slug').all() as { id: number; slug: string; name: string }[];
      let text = '';
      if (kind === 'portals') {
        for (const p of portals) if (p.slug.startsWith(prefix)) text += line(p.slug, p.name);
      } else {
        const slug = settings.portal;
        const portal = slug === undefined ? (portals.length === 1 ? portals[0] : undefined) : portals.find((p) => p.slug === slug);
        if (!portal) return 0;
        type Row = { id: number; email: string; first_name: string; last_name: string };
        const rows = /^[0-9]+$/.test(prefix)
          ? (db
              .prepare(`SELECT id, email, first_name, last_name FROM users WHERE portal_id = ? AND CAST(id AS TEXT) LIKE ? ORDER BY id LIMIT ${LIMIT}`)
              .all(portal.id, `${prefix}%`) as Row[])
          : // A range on the folded address uses the (portal_id, email_key) index: quick on any number of users.
            (db
              .prepare(
                `SELECT id, email, first_name, last_name FROM users WHERE portal_id = ? AND email_key >= ? AND email_key < ? ORDER BY email_key LIMIT ${LIMIT}`,
              )
              .all(portal.id, foldKey(prefix), `${foldKey(prefix)}\uffff`) as Row[]);
        for (const u of rows) {
          const value = /^[0-9]+$/.test(prefix) ? String(u.id) : u.email;
          // The typed prefix keeps its case: shells compare case-sensitively.
          if (!value.toLowerCase().startsWith(prefix.toLowerCase())) continue;
          text += line(
            prefix && !/^[0-9]+$/.test(prefix) ? prefix + value.slice(prefix.length) : value,
            `${u.first_name} ${u.last_name}${/^[0-9]+$/.test(prefix) ? ` <${u.email}>` : ''}`,
          );
        }
      }
      out.write(text);
    } finally {
      db.close();
    }
  } catch {
    // Completion never complains: a broken config file or store shows up when a real command runs.
  }
  return 0;
}
