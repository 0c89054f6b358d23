// Builds a portalctl store of N users for the benchmarks, directly through the
// store layer (the project's own openDatabase() and migrations) in one
// transaction — no SMTP, no CLI. Rows look like a store that has been in use
// for a while:
//
//   38 %  linked     registration used, token kept, one "linked" link attempt,
//                    audit "invite" + "link"
//    4 %  pending    link still valid, removal date in the future
//    4 %  pending    link still valid but removal date already passed
//                    (`set-removal-days 0`): prune must keep them
//    4 %  expired    link expired, removal date still in the future
//   50 %  expired    link expired and removal date passed: prune removes them
//
// (about 50 % are removed by prune). One user in ten also has an older,
// superseded registration with a retired token ("Send New Registration"),
// and some expired users have a failed link attempt. Every number comes
// from a seeded PRNG, so a store of N users is the same on every run.
//
// Usage: node bench/seed.mjs N [PATH]  (default bench/.stores/users-N.db)
// As a module: seedStore({ path, users, now, tokens }) → { path, users, ... }

import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const STORES_DIR = join(ROOT, 'bench', '.stores');
/** "now" for every benchmark run (PORTALCTL_NOW). */
export const BENCH_NOW = '2026-06-01T12:00:00.000Z';
/** Bump when the shape of seeded data changes, so cached stores are rebuilt. */
const SEED_VERSION = 5;

const DAY = 24 * 60 * 60 * 1000;
const FIRST = [
  'Jane',
  'John',
  'Maria',
  'Wei',
  'Aisha',
  'Carlos',
  'Olga',
  'Kenji',
  'Fatima',
  'Liam',
  'Noor',
  'Pierre',
  'Ana',
  'Tomasz',
  'Grace',
  'Ravi',
  'Sofia',
  'Daniel',
  'Amara',
  'Lucas',
];
const LAST = [
  'Doe',
  'Smith',
  'García',
  'Chen',
  'Okafor',
  'Müller',
  'Ivanova',
  'Tanaka',
  'Haddad',
  "O'Brien",
  'Kowalski',
  'Nguyen',
  'Silva',
  'Patel',
  'Johansson',
  'Rossi',
  'Kim',
  'Dubois',
  'Mensah',
  'Cohen',
];
const SERVICES = ['nih', 'ims-employee', 'ims'];
const DOMAINS = ['example.org', 'example.com', 'nih.example.gov', 'univ.example.edu'];

function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The email address of user number i (1-based, = user id in a seeded store). */
export function seededEmail(i) {
  return `${FIRST[i % FIRST.length].toLowerCase()}.${LAST[(i * 7) % LAST.length].toLowerCase().replace(/[^a-z]/g, '')}${i}@${DOMAINS[i % DOMAINS.length]}`;
}

/** Cached stores are rebuilt when the migrations change. */
function migrationsHash() {
  const h = createHash('sha256');
  for (const sub of ['sqlite', 'postgres']) {
    const dir = join(ROOT, 'migrations', sub);
    for (const f of readdirSync(dir)
      .filter((x) => x.endsWith('.sql'))
      .sort())
      h.update(`${sub}/${f}`).update(readFileSync(join(dir, f)));
  }
  return h.digest('hex').slice(0, 16);
}

/**
 * Seeds a store of `users` users at `path` (replaced if present). `tokens`
 * pending users get a known Step 2 token (for the `link` benchmark); the
 * tokens are returned and written to PATH.meta.json.
 */
export async function seedStore({ path, users, now = BENCH_NOW, tokens = 64 }) {
  const started = process.hrtime.bigint();
  const { openSqlite } = await import(pathToFileURL(join(ROOT, 'dist', 'store', 'sqlite', 'open.js')).href);
  const { emailKey, accountKey, searchKey, nameKey } = await import(pathToFileURL(join(ROOT, 'dist', 'store', 'keys.js')).href);
  const { mintToken, tokenDigest } = await import(pathToFileURL(join(ROOT, 'dist', 'domain', 'tokens.js')).href);
  mkdirSync(dirname(path), { recursive: true });
  for (const suffix of ['', '-wal', '-shm', '.meta.json']) rmSync(path + suffix, { force: true });

  const { db } = openSqlite(path, { create: true });
  // A fresh file nobody else has open: no journal, no fsync, a cache that holds the indexes.
  db.pragma('journal_mode = MEMORY');
  db.pragma('synchronous = OFF');
  db.pragma('cache_size = -262144');
  db.pragma('locking_mode = EXCLUSIVE');
  db.pragma('foreign_keys = OFF');
  const rnd = mulberry32(0x5eed ^ users);
  const nowMs = Date.parse(now);
  const at = (ms) => new Date(ms).toISOString();
  const pick = (arr) => arr[Math.floor(rnd() * arr.length)];
  const digest = (i, k) => createHash('sha256').update(`bench-token-${users}-${i}-${k}`).digest();

  const ins = {
    portal: db.prepare(
      `INSERT INTO portals (slug, name, base_url, admin_email, register_url, link_days, removal_days, time_zone, created_at)
       VALUES ('grants', 'Grants Portal', 'https://grants.example.org', 'grants-admin@example.org', 'https://ims.example.org/register', 7, 30, 'America/New_York', ?)`,
    ),
    user: db.prepare(
      `INSERT INTO users (id, portal_id, first_name, last_name, email, email_key, login_service, username, username_key, linked_at, removal_due_at, created_at, search_key, name_key)
       VALUES (?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    reg: db.prepare(
      `INSERT INTO registrations (user_id, email, created_at, sent_at, expires_at, state, superseded_at, used_at, used_service, used_username)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    token: db.prepare('INSERT INTO link_tokens (digest, registration_id, minted_at, retired_at) VALUES (?, ?, ?, ?)'),
    outbox: db.prepare(`INSERT INTO outbox (registration_id, state, attempts, created_at, updated_at, sent_at) VALUES (?, 'sent', 1, ?, ?, ?)`),
    attempt: db.prepare(
      'INSERT INTO link_attempts (at, user_id, registration_id, service, username, outcome, actor, username_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    ),
    audit: db.prepare('INSERT INTO audit (at, actor, action, portal, user_id, user_email, before, after) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
    event: db.prepare(`INSERT INTO events (at, type, portal, user_id, email, data) VALUES (?, ?, 'grants', ?, ?, ?)`),
  };

  const counts = { linked: 0, pending: 0, pendingOverdue: 0, expired: 0, due: 0 };
  const known = [];
  const pendingIds = [];

  // The migrations' indexes are set aside and built again once the rows are in:
  // one sort per index instead of a million scattered B-tree inserts.
  const indexes = db.prepare(`SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL`).all();
  for (const ix of indexes) db.exec(`DROP INDEX "${ix.name}"`);
  db.transaction(() => {
    ins.portal.run(at(nowMs - 400 * DAY));
    for (let i = 1; i <= users; i++) {
      const r = rnd();
      const kind = r < 0.38 ? 'linked' : r < 0.42 ? 'pending' : r < 0.46 ? 'pendingOverdue' : r < 0.5 ? 'expired' : 'due';
      counts[kind]++;
      const first = FIRST[i % FIRST.length];
      const last = LAST[(i * 7) % LAST.length];
      const email = seededEmail(i);
      // When the current registration was sent, relative to now.
      const sentAgo =
        kind === 'pending' || kind === 'pendingOverdue'
          ? rnd() * 6 * DAY
          : kind === 'expired'
            ? (8 + rnd() * 20) * DAY
            : kind === 'due'
              ? (31 + rnd() * 300) * DAY
              : (1 + rnd() * 360) * DAY;
      const resent = rnd() < 0.1;
      const createdMs = nowMs - sentAgo - (resent ? (1 + rnd() * 10) * DAY : 0) - rnd() * DAY;
      const sentMs = nowMs - sentAgo;
      let service = null;
      let username = null;
      let linkedAt = null;
      let removalDue = null;
      if (kind === 'linked') {
        service = pick(SERVICES);
        username = service === 'nih' ? `${first[0].toLowerCase()}${last.toLowerCase().replace(/[^a-z]/g, '')}${i}` : `user${i}`;
        linkedAt = at(sentMs + rnd() * 6 * DAY);
      } else if (kind === 'pending' || kind === 'expired') {
        removalDue = at(nowMs + (1 + rnd() * 20) * DAY);
      } else if (kind === 'pendingOverdue') {
        removalDue = at(nowMs - (1 + rnd() * 3) * DAY);
      } else {
        removalDue = at(nowMs - (1 + rnd() * 200) * DAY);
      }
      ins.user.run(
        i,
        first,
        last,
        email,
        emailKey(email),
        service,
        username,
        username === null ? null : accountKey(username),
        linkedAt,
        removalDue,
        at(createdMs),
        searchKey({ firstName: first, lastName: last, email, username }),
        nameKey(first, last),
      );
      ins.audit.run(
        at(createdMs),
        'admin',
        'invite',
        'grants',
        i,
        email,
        null,
        JSON.stringify({ email, firstName: first, lastName: last, loginService: null, username: null, removalDueAt: at(createdMs + 30 * DAY) }),
      );

      if (resent) {
        const old = ins.reg.run(i, email, at(createdMs), at(createdMs), at(createdMs + 7 * DAY), 'superseded', at(sentMs), null, null, null);
        const oldId = Number(old.lastInsertRowid);
        ins.token.run(digest(i, 0), oldId, at(createdMs), at(sentMs));
        ins.outbox.run(oldId, at(createdMs), at(createdMs), at(createdMs));
        ins.audit.run(
          at(sentMs),
          'admin',
          'resend-registration',
          'grants',
          i,
          email,
          JSON.stringify({ email, registrationId: oldId }),
          JSON.stringify({ email, registrationId: oldId + 1 }),
        );
      }
      const reg = ins.reg.run(i, email, at(sentMs), at(sentMs), at(sentMs + 7 * DAY), kind === 'linked' ? 'used' : 'active', null, linkedAt, service, username);
      const regId = Number(reg.lastInsertRowid);
      // The event log of the same history, for `events`: invited and sent, and linked for the linked.
      ins.event.run(at(createdMs), 'invited', i, email, JSON.stringify({ registrationId: regId }));
      ins.event.run(at(sentMs), 'email_sent', i, email, JSON.stringify({ kind: 'registration', registrationId: regId, expiresAt: at(sentMs + 7 * DAY) }));
      if (kind === 'linked') ins.event.run(linkedAt, 'linked', i, email, JSON.stringify({ loginService: service, username, registrationId: regId }));
      ins.outbox.run(regId, at(sentMs), at(sentMs), at(sentMs));
      let tokenDigestValue = digest(i, 1);
      if ((kind === 'pending' || kind === 'pendingOverdue') && known.length < tokens) {
        const token = mintToken();
        tokenDigestValue = tokenDigest(token);
        known.push({ userId: i, email, token });
      }
      ins.token.run(tokenDigestValue, regId, at(sentMs), null);
      if (kind === 'pending' || kind === 'pendingOverdue') pendingIds.push(i);
      if (kind === 'linked') {
        ins.attempt.run(linkedAt, i, regId, service, username, 'linked', 'web', accountKey(username));
        ins.audit.run(
          linkedAt,
          'web',
          'link',
          'grants',
          i,
          email,
          JSON.stringify({ loginService: null, username: null, removalDueAt: at(createdMs + 30 * DAY) }),
          JSON.stringify({ loginService: service, username, registrationId: regId }),
        );
      } else if ((kind === 'expired' || kind === 'due') && rnd() < 0.05) {
        ins.attempt.run(at(sentMs + 8 * DAY), i, regId, 'ims', `user${i}`, 'link_expired', 'web', `user${i}`);
      }
    }
  })();
  for (const ix of indexes) db.exec(ix.sql);
  db.pragma('foreign_keys = ON');
  const broken = db.pragma('foreign_key_check');
  if (broken.length) throw new Error(`seed: ${broken.length} broken references`);
  db.pragma('locking_mode = NORMAL');
  db.pragma('journal_mode = WAL');
  const removable = db
    .prepare(
      `SELECT count(*) AS n FROM users u WHERE u.login_service IS NULL AND u.removal_due_at <= ?
       AND NOT EXISTS (SELECT 1 FROM registrations a WHERE a.user_id = u.id AND a.state = 'active' AND a.expires_at > ?)`,
    )
    .get(now, now).n;
  db.close();

  const middle = Math.max(1, Math.floor(users / 2));
  const meta = {
    seedVersion: SEED_VERSION,
    migrations: migrationsHash(),
    users,
    now,
    counts,
    removable,
    // A linked user for the look-ups, asked for in mixed case (email look-up is case-insensitive).
    lookupEmail: seededEmail(middle).replace(/^./, (c) => c.toUpperCase()),
    lookupId: middle,
    tokens: known,
    seededMs: Number(process.hrtime.bigint() - started) / 1e6,
  };
  writeFileSync(`${path}.meta.json`, `${JSON.stringify(meta, null, 2)}\n`);
  return { path, ...meta };
}

/**
 * The same store on PostgreSQL: the seeded SQLite store copied through the
 * store layer (what `portalctl store copy --to URL` does) into the empty
 * database at `url`. `password` as a passwordFile would give it.
 */
export async function seedPostgres(sqliteMeta, url, password) {
  const { openStore } = await import(pathToFileURL(join(ROOT, 'dist', 'store', 'open.js')).href);
  const from = await openStore({ value: sqliteMeta.path, explicit: true }, { create: false, readOnly: true, env: process.env });
  const to = await openStore({ value: url, explicit: true }, { create: true, password, env: process.env });
  try {
    const counts = await from.dump((d) => to.load(d));
    return { ...sqliteMeta, path: url, counts: sqliteMeta.counts, copied: counts };
  } finally {
    await from.close();
    await to.close();
  }
}

/** The cached store of N users (built when missing or stale). */
export async function cachedStore(users, { log = () => {} } = {}) {
  const path = join(STORES_DIR, `users-${users}.db`);
  try {
    const meta = JSON.parse(readFileSync(`${path}.meta.json`, 'utf8'));
    if (meta.seedVersion === SEED_VERSION && meta.migrations === migrationsHash() && meta.users === users && existsSync(path) && !existsSync(`${path}-wal`)) {
      return { path, ...meta };
    }
  } catch {
    // not built yet
  }
  const t0 = process.hrtime.bigint();
  const meta = await seedStore({ path, users });
  log(`seeded ${users} users in ${(Number(process.hrtime.bigint() - t0) / 1e9).toFixed(1)} s → ${path}`);
  return meta;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const n = Number(process.argv[2]);
  if (!Number.isInteger(n) || n < 0) {
    console.error('usage: node bench/seed.mjs N [PATH]');
    process.exit(2);
  }
  const path = resolve(process.argv[3] ?? join(STORES_DIR, `users-${n}.db`));
  const t0 = process.hrtime.bigint();
  const meta = await seedStore({ path, users: n });
  console.log(
    `${path}: ${n} users (${Object.entries(meta.counts)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}), ${meta.removable} due for removal, ${meta.tokens.length} known tokens, ${(Number(process.hrtime.bigint() - t0) / 1e9).toFixed(1)} s`,
  );
}
