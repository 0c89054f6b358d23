// Reading and changing a test's store directly, on either store: what the
// tests check beyond the commands' own output (counts, rows no command shows)
// and set-ups no command can make (a hostile name an older version stored).
// SQLite through better-sqlite3 on the file, PostgreSQL through pg with the
// password the test gave portalctl. Write SQL both dialects read: `?`
// placeholders (numbered for PostgreSQL here, so no `?` in a literal: pass
// such a value as a parameter), no dialect's own functions.

import Database from 'better-sqlite3';
import pg from 'pg';

/** Whatever points portalctl at a store: a World (run.ts) or a Sandbox (cli.ts). */
export interface StoreTarget {
  env: Record<string, string | undefined>;
}

const isPg = (t: StoreTarget) => /^postgres(ql)?:\/\//i.test(t.env.PORTALCTL_DB ?? '');

/**
 * Connections to the target's database, as portalctl reaches it (the URL,
 * PGPASSWORD): kept for a moment, since a test asks several questions in a
 * row and a new connection costs tens of milliseconds; the world's DROP
 * DATABASE … WITH (FORCE) ends any left.
 */
const pools = new Map<string, pg.Pool>();
function pool(t: StoreTarget): pg.Pool {
  const location = t.env.PORTALCTL_DB!;
  let p = pools.get(location);
  if (!p) {
    const u = new URL(location);
    p = new pg.Pool({
      host: u.hostname,
      port: Number(u.port || 5432),
      user: decodeURIComponent(u.username),
      database: decodeURIComponent(u.pathname.slice(1)),
      password: u.password ? decodeURIComponent(u.password) : t.env.PGPASSWORD,
      types,
      max: 1,
      idleTimeoutMillis: 500,
      allowExitOnIdle: true,
    });
    p.on('error', () => {}); // a database dropped under an idle connection
    pools.set(location, p);
  }
  return p;
}

/** Counts (bigint) and numerics as numbers, times as ISO strings: the shapes SQLite gives. */
const types = {
  getTypeParser: ((oid: number, format?: string) => {
    if (oid === 20 || oid === 1700) return (v: string) => Number(v);
    if (oid === 1184) return (v: string) => new Date(v).toISOString();
    return pg.types.getTypeParser(oid, format as 'text');
  }) as typeof pg.types.getTypeParser,
};

/** Numbers `?` placeholders for PostgreSQL ($1, $2, …). */
const numbered = (text: string) => {
  let i = 0;
  return text.replace(/\?/g, () => `$${++i}`);
};

/** Runs one statement on the target's store and returns its rows. */
export async function storeSql<T = Record<string, unknown>>(t: StoreTarget, text: string, ...params: unknown[]): Promise<T[]> {
  if (isPg(t)) return (await pool(t).query(numbered(text), params)).rows as T[];
  const d = new Database(t.env.PORTALCTL_DB!, { fileMustExist: true });
  try {
    const st = d.prepare(text);
    return st.reader ? (st.all(...params) as T[]) : (st.run(...params), []);
  } finally {
    d.close();
  }
}

/** count(*) of a query's rows. */
export async function storeCount(t: StoreTarget, fromWhere: string, ...params: unknown[]): Promise<number> {
  const [r] = await storeSql<{ n: number }>(t, `SELECT count(*) AS n ${fromWhere}`, ...params);
  return Number(r!.n);
}
