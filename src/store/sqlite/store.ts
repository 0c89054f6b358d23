// The SQLite store: every statement portalctl runs against a SQLite file.
// better-sqlite3 is synchronous; the Store contract is asynchronous because
// PostgreSQL is. Write transactions are BEGIN IMMEDIATE (the write lock first,
// so read-then-write never deadlocks into SQLITE_BUSY) and are serialised
// within the process, since async callers would otherwise interleave their
// statements on the one connection.

import type { Statement } from 'better-sqlite3';
import { lstatSync } from 'node:fs';
import { emailKey, accountKey, foldKey, nameKey, searchKey } from '../keys.js';
import { StoreError } from '../../errors.js';
import { quote } from '../../text.js';
import { TABLES, targetNotEmpty, type StoreDump, type TableCounts, type TableName, type TableRow } from '../tables.js';
import type {
  AuditQuery,
  AuditRecord,
  LifecycleEvent,
  LinkAttempt,
  LinkView,
  MessageKind,
  OutboxMessage,
  PendingMessage,
  Portal,
  PortalFields,
  Registration,
  Store,
  StoreCheck,
  StoreInfo,
  Tx,
  User,
  UserListing,
  UserQuery,
  WebhookDelivery,
} from '../types.js';
import { LATEST_SQLITE_VERSION, openSqlite, schemaVersion, sqliteError, type DB, type OpenOptions, WAL_AUTOCHECKPOINT } from './open.js';

type Row = Record<string, unknown>;

/**
 * Rows a streamed query hands over at a time. Small on purpose: a batch lives across the awaits of
 * the writer downstream, so with a young generation kept small (bin/portalctl) what a batch holds
 * is promoted and then waits for a full collection; 250 rows keep that under a few MiB.
 */
const BATCH = 250;

const portalOf = (r: Row): Portal => ({
  id: r.id as number,
  slug: r.slug as string,
  name: r.name as string,
  baseUrl: r.base_url as string,
  adminEmail: r.admin_email as string,
  registerUrl: r.register_url as string,
  linkDays: r.link_days as number,
  removalDays: r.removal_days as number,
  timeZone: (r.time_zone as string | null) ?? null,
  remindDays: parseDays(r.remind_days as string),
  warnDays: r.warn_days as number,
  createdAt: r.created_at as string,
});

function parseDays(text: string | null | undefined): number[] {
  if (!text) return [];
  return text
    .split(',')
    .map((s) => Number(s))
    .filter((n) => Number.isInteger(n) && n > 0);
}

const userOf = (r: Row): User => ({
  id: r.id as number,
  portalId: r.portal_id as number,
  firstName: r.first_name as string,
  lastName: r.last_name as string,
  email: r.email as string,
  loginService: (r.login_service as string | null) ?? null,
  username: (r.username as string | null) ?? null,
  linkedAt: (r.linked_at as string | null) ?? null,
  removalDueAt: (r.removal_due_at as string | null) ?? null,
  createdAt: r.created_at as string,
});

// Extends userOf's object rather than spreading it into a new one: a listing of every user makes one
// object per row, and the objects keep one shape (a spread copy was half of `users list --json`'s time).
const listingOf = (r: Row): UserListing => {
  const u = userOf(r) as UserListing;
  u.portal = r.portal as string;
  u.registrationExpiresAt = (r.reg_expires_at as string | null) ?? null;
  return u;
};

/**
 * Maps rows read as arrays — better-sqlite3's raw mode, which builds no object
 * per row — given the statement's column names (looked up once, not per row).
 */
interface RawMap<T> {
  raw(columns: string[]): (values: unknown[]) => T;
}

function columnIndexes<K extends string>(columns: string[], names: readonly K[]): Record<K, number> {
  const out = {} as Record<K, number>;
  for (const n of names) {
    const i = columns.indexOf(n);
    if (i < 0) throw new Error(`internal: column ${n} is not in the listing`);
    out[n] = i;
  }
  return out;
}

/**
 * A joined row read in raw mode, split by column prefix into the rows the object mappers take
 * (`p_slug` is the portal's `slug`; columns without one of the prefixes go to the first part).
 * The parts are plain objects built here, each always with the same keys in the same order: the
 * driver's own row objects cost the Step 2 page a large part of its time (each column name
 * internalised again for every row, each object grown property by property through the V8 API).
 */
function joined<T>(prefixes: readonly string[], build: (parts: Row[]) => T): RawMap<T> {
  return {
    raw(columns) {
      const part = columns.map((c) => prefixes.findIndex((p) => c.startsWith(p)) + 1);
      const key = columns.map((c, i) => (part[i] === 0 ? c : c.slice(prefixes[part[i]! - 1]!.length)));
      return (values) => {
        const parts: Row[] = [];
        for (let k = 0; k <= prefixes.length; k++) parts.push({});
        for (let i = 0; i < values.length; i++) parts[part[i]!]![key[i]!] = values[i];
        return build(parts);
      };
    },
  };
}

const listingWithPortalOf = joined(['p_'], ([u, p]) => ({ user: listingOf(u!), portal: portalOf(p!) }));
const tokenTargetOf = joined(['t_', 'r_', 'p_'], ([u, t, r, p]) => ({
  token: { registrationId: r!.id as number, mintedAt: t!.minted_at as string, retiredAt: (t!.retired_at as string | null) ?? null },
  registration: registrationOf(r!),
  user: listingOf(u!),
  portal: portalOf(p!),
}));

/** listingOf for a whole listing streamed in raw mode (`users list` of a million reads 30–40 % faster). */
const listingsOf: RawMap<UserListing> = {
  raw(columns) {
    const c = columnIndexes(columns, [
      'id',
      'portal_id',
      'first_name',
      'last_name',
      'email',
      'login_service',
      'username',
      'linked_at',
      'removal_due_at',
      'created_at',
      'portal',
      'reg_expires_at',
    ] as const);
    return (a) => ({
      id: a[c.id] as number,
      portalId: a[c.portal_id] as number,
      firstName: a[c.first_name] as string,
      lastName: a[c.last_name] as string,
      email: a[c.email] as string,
      loginService: (a[c.login_service] as string | null) ?? null,
      username: (a[c.username] as string | null) ?? null,
      linkedAt: (a[c.linked_at] as string | null) ?? null,
      removalDueAt: (a[c.removal_due_at] as string | null) ?? null,
      createdAt: a[c.created_at] as string,
      portal: a[c.portal] as string,
      registrationExpiresAt: (a[c.reg_expires_at] as string | null) ?? null,
    });
  },
};

const registrationOf = (r: Row): Registration => ({
  id: r.id as number,
  userId: r.user_id as number,
  email: r.email as string,
  createdAt: r.created_at as string,
  sentAt: (r.sent_at as string | null) ?? null,
  expiresAt: r.expires_at as string,
  state: r.state as Registration['state'],
  supersededAt: (r.superseded_at as string | null) ?? null,
  usedAt: (r.used_at as string | null) ?? null,
  usedService: (r.used_service as string | null) ?? null,
  usedUsername: (r.used_username as string | null) ?? null,
});

const messageOf = (r: Row): OutboxMessage => ({
  id: r.id as number,
  registrationId: r.registration_id as number,
  kind: r.kind as MessageKind,
  state: r.state as OutboxMessage['state'],
  attempts: r.attempts as number,
  lastError: (r.last_error as string | null) ?? null,
  createdAt: r.created_at as string,
  updatedAt: r.updated_at as string,
  sentAt: (r.sent_at as string | null) ?? null,
  nextAttemptAt: (r.next_attempt_at as string | null) ?? null,
  claimedBy: (r.claimed_by as string | null) ?? null,
  claimedAt: (r.claimed_at as string | null) ?? null,
});

const json = (text: unknown): unknown => (typeof text === 'string' ? JSON.parse(text) : null);

const auditOf = (r: Row): AuditRecord => ({
  id: r.id as number,
  at: r.at as string,
  actor: r.actor as string,
  action: r.action as string,
  portal: (r.portal as string | null) ?? null,
  userId: (r.user_id as number | null) ?? null,
  userEmail: (r.user_email as string | null) ?? null,
  before: json(r.before),
  after: json(r.after),
});

const deliveryOf = (r: Row): WebhookDelivery => ({
  id: r.id as number,
  webhook: r.webhook as string,
  eventId: r.event_id as number,
  userId: (r.user_id as number | null) ?? null,
  state: r.state as WebhookDelivery['state'],
  attempts: r.attempts as number,
  nextAttemptAt: r.next_attempt_at as string,
  lastError: (r.last_error as string | null) ?? null,
  deliveredAt: (r.delivered_at as string | null) ?? null,
});

const eventOf = (r: Row): LifecycleEvent => ({
  id: r.id as number,
  at: r.at as string,
  type: r.type as LifecycleEvent['type'],
  portal: r.portal as string,
  userId: (r.user_id as number | null) ?? null,
  email: (r.email as string | null) ?? null,
  data: json(r.data) as Record<string, unknown>,
});

/**
 * Users with the portal slug and the active registration's expiry: what the Users overview shows.
 * Only the columns a listing reads, not the folded keys: a listing of every user reads less.
 */
const LISTING_COLUMNS = `u.id, u.portal_id, u.first_name, u.last_name, u.email, u.login_service, u.username, u.linked_at, u.removal_due_at, u.created_at,
         p.slug AS portal, r.expires_at AS reg_expires_at`;
const LISTING_FROM = `users u
  JOIN portals p ON p.id = u.portal_id
  LEFT JOIN registrations r ON r.user_id = u.id AND r.state = 'active'`;
const LISTING = `SELECT ${LISTING_COLUMNS} FROM ${LISTING_FROM}`;

/** Every column of a table, each as `alias.column AS prefixcolumn`. */
const prefixedColumns = (alias: string, prefix: string, columns: readonly string[]) => columns.map((c) => `${alias}.${c} AS ${prefix}${c}`).join(', ');
const PORTAL_AS_P = prefixedColumns('p', 'p_', [
  'id',
  'slug',
  'name',
  'base_url',
  'admin_email',
  'register_url',
  'link_days',
  'removal_days',
  'time_zone',
  'remind_days',
  'warn_days',
  'created_at',
]);

/** A listing with its portal (columns prefixed p_): a user about to be mailed. */
const LISTING_WITH_PORTAL = `SELECT ${LISTING_COLUMNS}, ${PORTAL_AS_P} FROM ${LISTING_FROM} WHERE u.id = ?`;

/**
 * What a Step 2 token leads to, in one statement: the token (t_), its registration (r_), the user as
 * listed and the portal (p_). Every page view and every link reads it.
 */
const TOKEN_TARGET = `SELECT t.minted_at AS t_minted_at, t.retired_at AS t_retired_at,
         ${prefixedColumns('tr', 'r_', ['id', 'user_id', 'email', 'created_at', 'sent_at', 'expires_at', 'state', 'superseded_at', 'used_at', 'used_service', 'used_username'])},
         ${LISTING_COLUMNS}, ${PORTAL_AS_P}
  FROM link_tokens t
  JOIN registrations tr ON tr.id = t.registration_id
  JOIN users u ON u.id = tr.user_id
  JOIN portals p ON p.id = u.portal_id
  LEFT JOIN registrations r ON r.user_id = u.id AND r.state = 'active'
  WHERE t.digest = ?`;

function statusCondition(status: UserQuery['status']): string {
  switch (status) {
    case 'linked':
      return 'u.login_service IS NOT NULL';
    case 'pending':
      return 'u.login_service IS NULL AND r.expires_at > :now';
    case 'expired':
      return 'u.login_service IS NULL AND (r.expires_at IS NULL OR r.expires_at <= :now)';
    case 'unlinked':
      return 'u.login_service IS NULL';
    default:
      return '1';
  }
}

const ORDER: Record<NonNullable<UserQuery['sort']>, string> = {
  id: 'u.id',
  name: 'u.name_key, u.id',
  email: 'u.email_key, u.id',
  status: `CASE WHEN u.login_service IS NOT NULL THEN 0 WHEN r.expires_at > :now THEN 1 ELSE 2 END, u.id`,
  expires: 'r.expires_at IS NULL, r.expires_at, u.id',
  removal: 'u.removal_due_at IS NULL, u.removal_due_at, u.id',
};

function userFilter(q: Omit<UserQuery, 'sort' | 'limit'>): { where: string; params: Row } {
  // `+u.portal_id`: the unary plus keeps SQLite from answering the portal test
  // through users_portal_email, which would visit rows in email order and sort
  // the whole result before the first row. Scanning users in id order matches
  // the default ORDER BY u.id, so rows stream as they are read.
  const where = ['+u.portal_id = :portal', statusCondition(q.status)];
  const params: Row = { portal: q.portalId, now: q.now };
  if (q.search) {
    where.push('instr(u.search_key, :search) > 0');
    params.search = foldKey(q.search);
  }
  return { where: where.join(' AND '), params };
}

/** Claims of another live process on this host, or younger than the lifetime elsewhere, are respected. */
export type StaleCheck = (claimedBy: string, claimedAt: string) => boolean;

class Mutex {
  private tail: Promise<void> = Promise.resolve();
  async run<T>(fn: () => Promise<T>): Promise<T> {
    let release!: () => void;
    const prev = this.tail;
    this.tail = new Promise<void>((r) => (release = r));
    await prev;
    try {
      return await fn();
    } finally {
      release();
    }
  }
}

export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  readonly location: string;
  readonly db: DB;
  readonly readOnly: boolean;
  readonly created: boolean;
  private readonly statements = new Map<string, Statement>();
  private readonly lock = new Mutex();
  private readonly tx: Tx;
  private readonly busyTimeoutMs?: number;

  private constructor(path: string, opened: { db: DB; readOnly: boolean; created: boolean }, busyTimeoutMs?: number) {
    this.location = path;
    this.busyTimeoutMs = busyTimeoutMs;
    this.db = opened.db;
    this.readOnly = opened.readOnly;
    this.created = opened.created;
    this.tx = this.queries();
  }

  static open(path: string, opts: OpenOptions): SqliteStore {
    return new SqliteStore(path, openSqlite(path, opts), opts.busyTimeoutMs);
  }

  /** A statement compiled once per connection: a bulk invite runs the same few for every person. */
  private stmt(sql: string): Statement {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  private get = (sql: string, ...params: unknown[]) => this.stmt(sql).get(...params) as Row | undefined;

  private readonly rawStatements = new Map<string, { statement: Statement; map: (values: unknown[]) => unknown }>();
  /** One row read in raw mode and mapped by `mapper` (compiled and set up once per connection). */
  private getMapped = <T>(sql: string, mapper: RawMap<T>, ...params: unknown[]): T | undefined => {
    let s = this.rawStatements.get(sql);
    if (!s) {
      const statement = this.db.prepare(sql).raw(true);
      s = { statement, map: mapper.raw(statement.columns().map((c) => c.name)) };
      this.rawStatements.set(sql, s);
    }
    const values = s.statement.get(...params) as unknown[] | undefined;
    return values === undefined ? undefined : (s.map(values) as T);
  };
  private all = (sql: string, ...params: unknown[]) => this.stmt(sql).all(...params) as Row[];
  private run = (sql: string, ...params: unknown[]) => this.stmt(sql).run(...params);

  async read<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    try {
      return await fn(this.tx);
    } catch (err) {
      throw sqliteError(err, this.location, this.busyTimeoutMs);
    }
  }

  async write<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return this.lock.run(async () => {
      try {
        this.db.exec('BEGIN IMMEDIATE');
      } catch (err) {
        throw sqliteError(err, this.location, this.busyTimeoutMs);
      }
      try {
        const out = await fn(this.tx);
        this.db.exec('COMMIT');
        return out;
      } catch (err) {
        this.rollback();
        throw sqliteError(err, this.location, this.busyTimeoutMs);
      }
    });
  }

  /** Ends a failed transaction; a ROLLBACK that fails too must not hide the error that says what happened. */
  private removing = false;

  /**
   * Removing users rewrites index pages all over the store (email, name,
   * tokens), batch after batch: from the first removal on, this connection
   * lets the WAL grow to the size of the store itself before copying it back,
   * instead of 10,000 pages. Prune of 500k of 1M users: 1.53-1.57x the
   * set-based SQL -> 1.16-1.34x (single pairs); 50k of 100k: 1.26x -> 1.20x. A big removal may so need
   * as much free disk again as the store takes; the WAL goes when the last
   * connection closes.
   */
  private roomForRemovals(): void {
    if (this.removing) return;
    this.removing = true;
    const pages = this.db.pragma('page_count', { simple: true }) as number;
    if (pages > WAL_AUTOCHECKPOINT) this.db.pragma(`wal_autocheckpoint = ${pages}`);
  }

  private rollback(): void {
    try {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
    } catch {
      // SQLite has rolled back already, or the connection is gone: nothing is committed either way.
    }
  }

  /** Streams a query in batches; the statement is iterated, so memory stays flat whatever the size. */
  private async *batches<T>(sql: string, params: Row, mapper: ((r: Row) => T) | RawMap<T>): AsyncIterable<T[]> {
    let it: IterableIterator<unknown>;
    let map: (r: never) => T;
    try {
      const statement = this.db.prepare(sql);
      if (typeof mapper === 'function') map = mapper;
      else
        map = mapper.raw(
          statement
            .raw(true)
            .columns()
            .map((c) => c.name),
        );
      it = statement.iterate(params);
    } catch (err) {
      throw sqliteError(err, this.location, this.busyTimeoutMs);
    }
    try {
      for (;;) {
        const batch: T[] = [];
        let done = false;
        try {
          for (let i = 0; i < BATCH; i++) {
            const next = it.next();
            if (next.done) {
              done = true;
              break;
            }
            batch.push(map(next.value as never));
          }
        } catch (err) {
          throw sqliteError(err, this.location, this.busyTimeoutMs);
        }
        if (batch.length) yield batch;
        if (done) return;
      }
    } finally {
      it.return?.();
    }
  }

  listUsers(q: UserQuery): AsyncIterable<UserListing[]> {
    const { where, params } = userFilter(q);
    if (q.limit) params.limit = q.limit;
    return this.batches(`${LISTING} WHERE ${where} ORDER BY ${ORDER[q.sort ?? 'id']}${q.limit ? ' LIMIT :limit' : ''}`, params, listingsOf);
  }

  async countUsers(q: Omit<UserQuery, 'sort' | 'limit'>): Promise<number> {
    const { where, params } = userFilter(q);
    return this.read(
      async () =>
        this.get(`SELECT count(*) AS n FROM users u LEFT JOIN registrations r ON r.user_id = u.id AND r.state = 'active' WHERE ${where}`, params)!.n as number,
    );
  }

  listAudit(q: AuditQuery): AsyncIterable<AuditRecord[]> {
    const where: string[] = [];
    const params: Row = {};
    if (q.portal !== undefined) {
      where.push('portal = :portal');
      params.portal = q.portal;
    }
    if (q.userIds) where.push(`user_id IN (${q.userIds.map((id) => Number(id)).join(',') || 'NULL'})`);
    if (q.since) {
      where.push('at >= :since');
      params.since = q.since;
    }
    if (q.limit) params.limit = q.limit;
    return this.batches(
      `SELECT * FROM audit ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY at DESC, id DESC${q.limit ? ' LIMIT :limit' : ''}`,
      params,
      auditOf,
    );
  }

  listEvents(q: { since: number; portal?: string; types?: readonly string[] }): AsyncIterable<LifecycleEvent[]> {
    const where = ['id > :since'];
    const params: Row = { since: q.since };
    if (q.portal !== undefined) {
      where.push('portal = :portal');
      params.portal = q.portal;
    }
    if (q.types?.length) {
      where.push(`type IN (SELECT value FROM json_each(:types))`);
      params.types = JSON.stringify(q.types);
    }
    return this.batches(`SELECT * FROM events WHERE ${where.join(' AND ')} ORDER BY id`, params, eventOf);
  }

  listPending(q: { portalId?: number }): AsyncIterable<PendingMessage[]> {
    return this.batches(
      `SELECT o.*, r.user_id, r.email AS recipient, p.slug AS portal
       FROM outbox o JOIN registrations r ON r.id = o.registration_id
       JOIN users u ON u.id = r.user_id JOIN portals p ON p.id = u.portal_id
       WHERE o.state <> 'sent' ${q.portalId === undefined ? '' : 'AND u.portal_id = :portal'}
       ORDER BY o.state = 'failed', o.id`,
      q.portalId === undefined ? {} : { portal: q.portalId },
      (r) => ({ ...messageOf(r), userId: r.user_id as number, to: r.recipient as string, portal: r.portal as string }),
    );
  }

  // ---------------------------------------------------------------- store copy

  /** Every table read in one read transaction: WAL gives it one snapshot while other processes write. */
  async dump<T>(fn: (d: StoreDump) => Promise<T>): Promise<T> {
    return this.lock.run(async () => {
      try {
        this.db.exec('BEGIN');
        // A deferred transaction takes its snapshot at the first read.
        this.db.prepare('SELECT count(*) FROM portals').get();
      } catch (err) {
        throw sqliteError(err, this.location);
      }
      try {
        const spec = (table: TableName) => TABLES.find((t) => t.name === table)!;
        const dump: StoreDump = {
          rows: (table) => {
            const t = spec(table);
            const cols = t.columns.map(([c]) => `"${c}"`).join(', ');
            return this.batches(`SELECT ${cols} FROM ${t.name} ORDER BY ${t.key.map((k) => `"${k}"`).join(', ')}`, {}, (r) => r as TableRow);
          },
          count: async (table) => this.get(`SELECT count(*) AS n FROM ${spec(table).name}`)!.n as number,
          highWater: async () => {
            const out: Partial<Record<TableName, number>> = {};
            const seqs = new Map(this.all('SELECT name, seq FROM sqlite_sequence').map((r) => [r.name as string, Number(r.seq)]));
            for (const t of TABLES.filter((x) => x.identity)) {
              const max = this.get(`SELECT coalesce(max(id), 0) AS n FROM ${t.name}`)!.n as number;
              out[t.name] = Math.max(max, seqs.get(t.name) ?? 0);
            }
            return out;
          },
        };
        const out = await fn(dump);
        // Inside the try: a COMMIT that fails (the read met a damaged page) is a store error too, not an internal one.
        this.db.exec('COMMIT');
        return out;
      } catch (err) {
        this.rollback();
        throw sqliteError(err, this.location);
      }
    });
  }

  async load(from: StoreDump, onTable?: (table: TableName, rows: number) => void): Promise<TableCounts> {
    return this.write(async () => {
      const held: [TableName, number][] = [];
      for (const t of TABLES) {
        const n = this.get(`SELECT count(*) AS n FROM ${t.name}`)!.n as number;
        if (n > 0) held.push([t.name, n]);
      }
      if (held.length) throw targetNotEmpty(quote(this.location, 200), held);
      const counts = {} as TableCounts;
      for (const t of TABLES) {
        const insert = this.db.prepare(
          `INSERT INTO ${t.name} (${t.columns.map(([c]) => `"${c}"`).join(', ')}) VALUES (${t.columns.map(() => '?').join(', ')})`,
        );
        let n = 0;
        for await (const batch of from.rows(t.name)) {
          for (const r of batch) {
            insert.run(...t.columns.map(([c, kind]) => (kind === 'bool' ? (r[c] ? 1 : 0) : (r[c] ?? null))));
          }
          n += batch.length;
        }
        counts[t.name] = n;
        onTable?.(t.name, n);
      }
      for (const t of TABLES) {
        const expected = await from.count(t.name);
        const got = this.get(`SELECT count(*) AS n FROM ${t.name}`)!.n as number;
        if (got !== expected || counts[t.name] !== expected) {
          throw new StoreError('store_copy_mismatch', `The copy of ${t.name} holds ${got} rows where the source has ${expected}; nothing was copied.`);
        }
      }
      // Ids are never reused: each sequence continues past every id the source handed out.
      const high = await from.highWater();
      const sequenced = new Set(this.all(`SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE '%AUTOINCREMENT%'`).map((r) => r.name as string));
      for (const t of TABLES.filter((x) => x.identity && sequenced.has(x.name))) {
        const max = this.get(`SELECT coalesce(max(id), 0) AS n FROM ${t.name}`)!.n as number;
        const next = Math.max(max, high[t.name] ?? 0);
        this.run('DELETE FROM sqlite_sequence WHERE name = ?', t.name);
        if (next > 0) this.run('INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)', t.name, next);
      }
      return counts;
    });
  }

  async info(): Promise<StoreInfo> {
    return this.read(async () => ({
      kind: 'sqlite' as const,
      location: this.location,
      serverVersion: `SQLite ${this.get('SELECT sqlite_version() AS v')!.v as string}`,
      schemaVersion: schemaVersion(this.db),
      latestSchemaVersion: LATEST_SQLITE_VERSION,
    }));
  }

  async checks(): Promise<StoreCheck[]> {
    const out: StoreCheck[] = [];
    const octal = (mode: number) => (mode & 0o777).toString(8).padStart(4, '0');
    // The store holds names, addresses and who linked which account: owner only.
    const wide: string[] = [];
    for (const file of [this.location, `${this.location}-wal`, `${this.location}-shm`]) {
      try {
        const mode = lstatSync(file).mode;
        if ((mode & 0o077) !== 0) wide.push(`${file} has mode ${octal(mode)}`);
      } catch {
        // not there
      }
    }
    out.push(
      wide.length === 0
        ? { name: 'store permissions', status: 'ok', detail: 'readable by its owner only' }
        : {
            name: 'store permissions',
            status: 'warn',
            detail: `${wide.join(', ')}: other users can read names and addresses; run \`chmod 600\` on ${wide.length === 1 ? 'it' : 'them'}`,
          },
    );
    try {
      const problems = (this.db.pragma('integrity_check') as { integrity_check: string }[]).map((r) => r.integrity_check).filter((r) => r !== 'ok');
      out.push(
        problems.length === 0
          ? { name: 'store integrity', status: 'ok', detail: 'ok' }
          : {
              name: 'store integrity',
              status: 'fail',
              detail: `${problems.length} problem(s) (${problems.slice(0, 3).join('; ')}); restore the store from a backup`,
            },
      );
    } catch (err) {
      out.push({ name: 'store integrity', status: 'fail', detail: `the check could not run: ${(err as Error).message}` });
    }
    const mode = String(this.db.pragma('journal_mode', { simple: true }));
    out.push(
      mode.toLowerCase() === 'wal'
        ? { name: 'store journal', status: 'ok', detail: 'WAL (commands and the nightly jobs can share the store)' }
        : { name: 'store journal', status: 'warn', detail: `${mode}, not WAL; the next portalctl command that opens the store switches it to WAL` },
    );
    return out;
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private queries(): Tx {
    const { get, all, run, getMapped } = this;
    const one = <T>(row: Row | undefined, map: (r: Row) => T) => (row ? map(row) : undefined);
    const portalById = (id: number) => one(get('SELECT * FROM portals WHERE id = ?', id), portalOf);
    const listing = (id: number) => getMapped(`${LISTING} WHERE u.id = ?`, listingsOf, id);
    /** A user as listed, with the portal, in one statement. */
    const listingWithPortal = (id: number) => getMapped(LISTING_WITH_PORTAL, listingWithPortalOf, id)!;
    return {
      portals: {
        all: async () => all('SELECT * FROM portals ORDER BY slug').map(portalOf),
        bySlug: async (slug) => one(get('SELECT * FROM portals WHERE slug = ?', slug), portalOf),
        byId: async (id) => portalById(id),
        insert: async (f: PortalFields, createdAt) => {
          const res = run(
            `INSERT INTO portals (slug, name, base_url, admin_email, register_url, link_days, removal_days, time_zone, remind_days, warn_days, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
            f.slug,
            f.name,
            f.baseUrl,
            f.adminEmail,
            f.registerUrl,
            f.linkDays,
            f.removalDays,
            f.timeZone,
            f.remindDays.join(','),
            f.warnDays,
            createdAt,
          );
          return portalById(Number(res.lastInsertRowid))!;
        },
        update: async (id, c) => {
          const columns: [keyof PortalFields, string, (v: never) => unknown][] = [
            ['slug', 'slug', (v) => v],
            ['name', 'name', (v) => v],
            ['baseUrl', 'base_url', (v) => v],
            ['adminEmail', 'admin_email', (v) => v],
            ['registerUrl', 'register_url', (v) => v],
            ['linkDays', 'link_days', (v) => v],
            ['removalDays', 'removal_days', (v) => v],
            ['timeZone', 'time_zone', (v) => v],
            ['remindDays', 'remind_days', (v: number[]) => v.join(',')],
            ['warnDays', 'warn_days', (v) => v],
          ];
          const sets: string[] = [];
          const values: unknown[] = [];
          for (const [key, column, conv] of columns) {
            if (c[key] === undefined) continue;
            sets.push(`${column} = ?`);
            values.push(conv(c[key] as never));
          }
          if (sets.length) this.db.prepare(`UPDATE portals SET ${sets.join(', ')} WHERE id = ?`).run(...values, id);
          return portalById(id)!;
        },
      },
      users: {
        byId: async (id) => one(get('SELECT * FROM users WHERE id = ?', id), userOf),
        listing: async (id) => listing(id),
        byEmail: async (portalId, email) => getMapped(`${LISTING} WHERE u.portal_id = ? AND u.email_key = ?`, listingsOf, portalId, emailKey(email)),
        byEmails: async (portalId, emails) =>
          emails.flatMap((email) => getMapped(`${LISTING} WHERE u.portal_id = ? AND u.email_key = ?`, listingsOf, portalId, emailKey(email)) ?? []),
        listings: async (ids) => ids.flatMap((id) => listing(id) ?? []),
        byAccount: async (portalId, service, username) =>
          getMapped(`${LISTING} WHERE u.portal_id = ? AND u.login_service = ? AND u.username_key = ?`, listingsOf, portalId, service, accountKey(username)),
        accountElsewhere: async (service, username, exceptPortalId) =>
          all(
            `SELECT p.* FROM users u JOIN portals p ON p.id = u.portal_id WHERE u.login_service = ? AND u.username_key = ? AND u.portal_id <> ? ORDER BY p.slug`,
            service,
            accountKey(username),
            exceptPortalId,
          ).map(portalOf),
        triedAccount: async (portalId, service, username) =>
          all(
            // `+u.portal_id`: without it SQLite walks every user of the portal through users_portal_name
            // and tests each against the few ids; with it, it looks those ids up (access-check on 1M users).
            `${LISTING} WHERE +u.portal_id = ? AND u.id IN (SELECT user_id FROM link_attempts WHERE service = ? AND username_key = ?) ORDER BY u.id`,
            portalId,
            service,
            accountKey(username),
          ).map(listingOf),
        insert: async (u) =>
          Number(
            run(
              `INSERT INTO users (portal_id, first_name, last_name, email, email_key, removal_due_at, created_at, search_key, name_key)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
              u.portalId,
              u.firstName,
              u.lastName,
              u.email,
              emailKey(u.email),
              u.removalDueAt,
              u.createdAt,
              searchKey(u),
              nameKey(u.firstName, u.lastName),
            ).lastInsertRowid,
          ),
        setEmail: async (id, email) => {
          const u = userOf(get('SELECT * FROM users WHERE id = ?', id)!);
          run('UPDATE users SET email = ?, email_key = ?, search_key = ? WHERE id = ?', email, emailKey(email), searchKey({ ...u, email }), id);
        },
        setRemovalDue: async (id, due) => {
          run('UPDATE users SET removal_due_at = ? WHERE id = ?', due, id);
        },
        link: async (id, service, username, at) => {
          const u = userOf(get('SELECT * FROM users WHERE id = ?', id)!);
          run(
            'UPDATE users SET login_service = ?, username = ?, username_key = ?, linked_at = ?, removal_due_at = NULL, search_key = ? WHERE id = ?',
            service,
            username,
            accountKey(username),
            at,
            searchKey({ ...u, username }),
            id,
          );
        },
        prunable: async (scope, now, limit) =>
          all(
            `${LISTING} WHERE u.login_service IS NULL AND u.removal_due_at <= :now AND u.id > :after
               ${scope.portalId === undefined ? '' : 'AND u.portal_id = :portal'}
               AND NOT EXISTS (SELECT 1 FROM registrations a WHERE a.user_id = u.id AND a.state = 'active' AND a.expires_at > :now)
             ORDER BY u.id LIMIT :limit`,
            { now, after: scope.afterId ?? 0, limit, ...(scope.portalId === undefined ? {} : { portal: scope.portalId }) },
          ).map(listingOf),
        withStatus: async (scope, now, limit) => {
          const { where, params } = userFilter({ portalId: scope.portalId, now, status: scope.status });
          return all(`${LISTING} WHERE ${where} AND u.id > :after AND u.id <= :through ORDER BY u.id LIMIT :limit`, {
            ...params,
            after: scope.afterId,
            through: scope.throughId,
            limit,
          }).map(listingOf);
        },
        lastId: async () => get('SELECT coalesce(max(id), 0) AS n FROM users')!.n as number,
        remove: async (ids) => {
          this.roomForRemovals();
          const del = this.stmt('DELETE FROM users WHERE id = ?');
          for (const id of ids) del.run(id);
        },
      },
      registrations: {
        get: async (id) => one(get('SELECT * FROM registrations WHERE id = ?', id), registrationOf),
        active: async (userId) => one(get(`SELECT * FROM registrations WHERE user_id = ? AND state = 'active'`, userId), registrationOf),
        ofUser: async (userId) => all('SELECT * FROM registrations WHERE user_id = ? ORDER BY id', userId).map(registrationOf),
        newestAfter: async (userId, id) =>
          one(get('SELECT * FROM registrations WHERE user_id = ? AND id > ? ORDER BY id DESC LIMIT 1', userId, id), registrationOf),
        insert: async (r) =>
          Number(
            run(
              `INSERT INTO registrations (user_id, email, created_at, expires_at, state) VALUES (?, ?, ?, ?, 'active')`,
              r.userId,
              r.email,
              r.createdAt,
              r.expiresAt,
            ).lastInsertRowid,
          ),
        supersedeActive: async (userId, at) => {
          const active = one(get(`SELECT * FROM registrations WHERE user_id = ? AND state = 'active'`, userId), registrationOf);
          if (!active) return undefined;
          run(`UPDATE registrations SET state = 'superseded', superseded_at = ?, expiry_recorded = 1 WHERE id = ?`, at, active.id);
          run('UPDATE link_tokens SET retired_at = ? WHERE registration_id = ? AND retired_at IS NULL', at, active.id);
          run(`DELETE FROM outbox WHERE registration_id = ? AND state <> 'sent'`, active.id);
          return active;
        },
        markUsed: async (id, at, service, username) => {
          run(
            `UPDATE registrations SET state = 'used', used_at = ?, used_service = ?, used_username = ?, expiry_recorded = 1 WHERE id = ?`,
            at,
            service,
            username,
            id,
          );
        },
        renewLink: async (id, digest, at, expiresAt) => {
          run('UPDATE link_tokens SET retired_at = ? WHERE registration_id = ? AND retired_at IS NULL', at, id);
          run('INSERT INTO link_tokens (digest, registration_id, minted_at) VALUES (?, ?, ?)', digest, id, at);
          run('UPDATE registrations SET expires_at = ?, expiry_recorded = 0 WHERE id = ?', expiresAt, id);
        },
        newlyExpired: async (now, limit) => {
          // Two statements a batch, not two a registration (prune records tens of thousands at once).
          const due = `SELECT * FROM registrations WHERE state = 'active' AND expiry_recorded = 0 AND expires_at <= ? ORDER BY expires_at, id LIMIT ?`;
          const regs = all(due, now, limit).map(registrationOf);
          if (!regs.length) return [];
          const users = new Map(all(`${LISTING} WHERE u.id IN (SELECT user_id FROM (${due}))`, now, limit).map((row) => [row.id as number, listingOf(row)]));
          return regs.map((registration) => ({ registration, user: users.get(registration.userId)! }));
        },
        newlyExpiredOf: async (userIds, now) =>
          all(
            `SELECT * FROM registrations WHERE user_id IN (SELECT value FROM json_each(?)) AND state = 'active' AND expiry_recorded = 0 AND expires_at <= ? ORDER BY id`,
            JSON.stringify(userIds),
            now,
          ).map(registrationOf),
        markExpiryRecorded: async (ids) => {
          const mark = this.stmt('UPDATE registrations SET expiry_recorded = 1 WHERE id = ?');
          for (const id of ids) mark.run(id);
        },
      },
      tokens: {
        target: async (digest) => getMapped(TOKEN_TARGET, tokenTargetOf, digest),
        byDigest: async (digest) => {
          const r = get('SELECT registration_id, minted_at, retired_at FROM link_tokens WHERE digest = ?', digest);
          return r
            ? { registrationId: r.registration_id as number, mintedAt: r.minted_at as string, retiredAt: (r.retired_at as string | null) ?? null }
            : undefined;
        },
        insert: async (digest, registrationId, at) => {
          run('INSERT INTO link_tokens (digest, registration_id, minted_at) VALUES (?, ?, ?)', digest, registrationId, at);
        },
        retireOthers: async (registrationId, keep, at) => {
          run('UPDATE link_tokens SET retired_at = ? WHERE registration_id = ? AND digest <> ? AND retired_at IS NULL', at, registrationId, keep);
        },
      },
      outbox: {
        get: async (id) => one(get('SELECT * FROM outbox WHERE id = ?', id), messageOf),
        enqueue: async (registrationId, kind, at) =>
          Number(
            run(`INSERT INTO outbox (registration_id, kind, state, created_at, updated_at) VALUES (?, ?, 'queued', ?, ?)`, registrationId, kind, at, at)
              .lastInsertRowid,
          ),
        claim: async (id, claimant, claimedAt, at, isStale) => {
          const m = one(get('SELECT * FROM outbox WHERE id = ?', id), messageOf);
          if (!m) return 'gone';
          if (m.state !== 'queued') return m.state === 'sent' ? 'sent' : 'gone';
          if (m.claimedBy && m.claimedAt && !isStale(m.claimedBy, m.claimedAt)) return 'busy';
          run('UPDATE outbox SET attempts = attempts + 1, updated_at = ?, claimed_by = ?, claimed_at = ? WHERE id = ?', at, claimant, claimedAt, id);
          const registration = registrationOf(get('SELECT * FROM registrations WHERE id = ?', m.registrationId)!);
          return { message: { ...m, attempts: m.attempts + 1, claimedBy: claimant, claimedAt }, registration, ...listingWithPortal(registration.userId) };
        },
        markSent: async (id, at) => {
          run(
            `UPDATE outbox SET state = 'sent', sent_at = ?, updated_at = ?, last_error = NULL, next_attempt_at = NULL, claimed_by = NULL, claimed_at = NULL WHERE id = ?`,
            at,
            at,
            id,
          );
          run(`UPDATE registrations SET sent_at = ? WHERE id = (SELECT registration_id FROM outbox WHERE id = ? AND kind = 'registration')`, at, id);
        },
        markUnsent: async (id, state, error, at, nextAttemptAt) => {
          run(
            `UPDATE outbox SET state = ?, last_error = ?, updated_at = ?, next_attempt_at = ?, claimed_by = NULL, claimed_at = NULL WHERE id = ?`,
            state,
            error,
            at,
            nextAttemptAt,
            id,
          );
        },
        release: async (ids, claimant) => {
          const q = this.stmt(
            `UPDATE outbox SET attempts = attempts - 1, claimed_by = NULL, claimed_at = NULL WHERE id = ? AND claimed_by = ? AND state = 'queued'`,
          );
          for (const id of ids) q.run(id, claimant);
        },
        remove: async (id) => {
          run('DELETE FROM outbox WHERE id = ?', id);
        },
        queuedFor: async (registrationIds) => {
          if (registrationIds.length === 0) return [];
          return all(
            `SELECT id FROM outbox WHERE state = 'queued' AND registration_id IN (SELECT value FROM json_each(?)) ORDER BY id`,
            JSON.stringify(registrationIds),
          ).map((r) => r.id as number);
        },
        ofUser: async (userId) =>
          all('SELECT o.* FROM outbox o JOIN registrations r ON r.id = o.registration_id WHERE r.user_id = ? ORDER BY o.id', userId).map(messageOf),
        requeueFailed: async (ids, at) => {
          const q = this.stmt(`UPDATE outbox SET state = 'queued', next_attempt_at = NULL, updated_at = ? WHERE id = ? AND state = 'failed'`);
          for (const id of ids) q.run(at, id);
        },
      },
      linkAttempts: {
        record: async (a) => {
          run(
            'INSERT INTO link_attempts (at, user_id, registration_id, service, username, username_key, outcome, actor) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
            a.at,
            a.userId,
            a.registrationId,
            a.service,
            a.username,
            accountKey(a.username),
            a.outcome,
            a.actor,
          );
        },
        ofUser: async (userId) =>
          all('SELECT * FROM link_attempts WHERE user_id = ? ORDER BY id', userId).map((r): LinkAttempt => ({
            id: r.id as number,
            at: r.at as string,
            userId: r.user_id as number,
            registrationId: (r.registration_id as number | null) ?? null,
            service: r.service as string,
            username: r.username as string,
            outcome: r.outcome as string,
            actor: r.actor as string,
          })),
      },
      linkViews: {
        record: async (v) => {
          run(
            'INSERT INTO link_views (at, user_id, registration_id, client_address, user_agent) VALUES (?, ?, ?, ?, ?)',
            v.at,
            v.userId,
            v.registrationId,
            v.clientAddress,
            v.userAgent,
          );
        },
        ofUser: async (userId) =>
          all('SELECT * FROM link_views WHERE user_id = ? ORDER BY id', userId).map((r): LinkView => ({
            id: r.id as number,
            at: r.at as string,
            userId: r.user_id as number,
            registrationId: r.registration_id as number,
            clientAddress: (r.client_address as string | null) ?? null,
            userAgent: (r.user_agent as string | null) ?? null,
          })),
      },
      notices: {
        claim: async (registrationId, kind, step, at) =>
          run(
            `INSERT INTO notices (registration_id, kind, step, created_at)
             SELECT :reg, :kind, :step, :at
             WHERE NOT EXISTS (SELECT 1 FROM notices WHERE registration_id = :reg AND kind = :kind AND step >= :step)
             ON CONFLICT DO NOTHING`,
            { reg: registrationId, kind, step, at },
          ).changes === 1,
        reminderCandidates: async (q) =>
          all(
            `SELECT u.id AS uid, r.id AS rid,
                    (SELECT group_concat(step) FROM notices n WHERE n.registration_id = r.id AND n.kind = 'reminder') AS steps
             FROM users u JOIN registrations r ON r.user_id = u.id AND r.state = 'active'
             WHERE u.portal_id = :portal AND u.login_service IS NULL AND r.sent_at IS NOT NULL AND r.sent_at <= :sentBefore
               AND r.expires_at > :now AND u.id > :after
             ORDER BY u.id LIMIT :limit`,
            { portal: q.portalId, sentBefore: q.sentBefore, now: q.now, after: q.afterUserId, limit: q.limit },
          ).map((row) => ({
            user: listing(row.uid as number)!,
            registration: registrationOf(get('SELECT * FROM registrations WHERE id = ?', row.rid)!),
            sentSteps: parseDays(row.steps as string | null),
          })),
        warningCandidates: async (q) =>
          all(
            // max(a, b) of two ISO 8601 UTC strings: the later time. prune removes at the later of the removal date and the link's expiry.
            `SELECT u.id AS uid, r.id AS rid, max(u.removal_due_at, r.expires_at) AS removal_at
             FROM users u JOIN registrations r ON r.user_id = u.id AND r.state = 'active'
             WHERE u.portal_id = :portal AND u.login_service IS NULL AND u.removal_due_at IS NOT NULL AND u.id > :after
               AND max(u.removal_due_at, r.expires_at) > :now AND max(u.removal_due_at, r.expires_at) <= :before
               AND NOT EXISTS (SELECT 1 FROM notices n WHERE n.registration_id = r.id AND n.kind = 'removal_warning')
             ORDER BY u.id LIMIT :limit`,
            { portal: q.portalId, now: q.now, before: q.removalBefore, after: q.afterUserId, limit: q.limit },
          ).map((row) => ({
            user: listing(row.uid as number)!,
            registration: registrationOf(get('SELECT * FROM registrations WHERE id = ?', row.rid)!),
            removalAt: row.removal_at as string,
          })),
      },
      audit: {
        append: async (e) => {
          run(
            'INSERT INTO audit (at, actor, action, portal, user_id, user_email, before, after) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
            e.at,
            e.actor,
            e.action,
            e.portal,
            e.userId,
            e.userEmail,
            e.before === undefined ? null : JSON.stringify(e.before),
            e.after === undefined ? null : JSON.stringify(e.after),
          );
        },
        accountChanges: async (userId) => all(`SELECT * FROM audit WHERE user_id = ? AND action IN ('link', 'relink') ORDER BY id`, userId).map(auditOf),
        userIdsFor: async (ref) => {
          const id = /^[0-9]{1,15}$/.test(ref) ? Number(ref) : -1;
          const key = emailKey(ref);
          // The indexes narrow (by id; by address, ASCII case folded); the store's key rule decides. Only when they find
          // nothing is the whole trail read for a fold they cannot see (ß and SS).
          const ids = new Set<number>();
          for (const r of all('SELECT DISTINCT user_id, user_email FROM audit WHERE user_id = ? OR user_email = ? COLLATE NOCASE', id, ref))
            if (r.user_id !== null && (r.user_id === id || emailKey((r.user_email as string | null) ?? '') === key)) ids.add(r.user_id as number);
          if (ids.size === 0)
            for (const r of all('SELECT DISTINCT user_id FROM audit WHERE user_id IS NOT NULL AND portalctl_fold(user_email) = ?', key))
              ids.add(r.user_id as number);
          return [...ids].sort((a, b) => a - b);
        },
        lastRemoval: async (portal, ref) => {
          if ('id' in ref) {
            const r = get(`SELECT * FROM audit WHERE user_id = ? AND action IN ('prune', 'remove') AND portal = ? ORDER BY id DESC LIMIT 1`, ref.id, portal);
            return r ? auditOf(r) : undefined;
          }
          const key = emailKey(ref.email);
          const removals = `action IN ('prune', 'remove') AND portal = ? ORDER BY id DESC`;
          // The index folds ASCII case only: an address with other letters is looked for in the whole trail.
          const rows = /^[\x00-\x7f]*$/.test(ref.email)
            ? all(`SELECT * FROM audit WHERE user_email = ? COLLATE NOCASE AND ${removals}`, ref.email, portal)
            : all(`SELECT * FROM audit WHERE portalctl_fold(user_email) = ? AND ${removals}`, key, portal);
          const r = rows.find((x) => emailKey((x.user_email as string | null) ?? '') === key);
          return r ? auditOf(r) : undefined;
        },
      },
      events: {
        append: async (e) => {
          run(
            'INSERT INTO events (at, type, portal, user_id, email, data) VALUES (?, ?, ?, ?, ?, ?)',
            e.at,
            e.type,
            e.portal,
            e.userId,
            e.email,
            JSON.stringify(e.data),
          );
        },
        since: async (cursor, limit, filter) => {
          if (filter?.types?.length) {
            return all(
              'SELECT * FROM events WHERE id > ? AND type IN (SELECT value FROM json_each(?)) ORDER BY id LIMIT ?',
              cursor,
              JSON.stringify(filter.types),
              limit,
            ).map(eventOf);
          }
          return all('SELECT * FROM events WHERE id > ? ORDER BY id LIMIT ?', cursor, limit).map(eventOf);
        },
        last: async () => get('SELECT coalesce(max(id), 0) AS n FROM events')!.n as number,
      },
      webhooks: {
        lease: async (webhook, holder, until, isStale) => {
          run('INSERT OR IGNORE INTO webhooks (url) VALUES (?)', webhook);
          const r = get('SELECT leased_by, leased_until FROM webhooks WHERE url = ?', webhook)!;
          const by = r.leased_by as string | null;
          const held = r.leased_until as string | null;
          if (by !== null && held !== null && by !== holder && !isStale(by, held)) return false;
          run('UPDATE webhooks SET leased_by = ?, leased_until = ? WHERE url = ?', holder, until, webhook);
          return true;
        },
        release: async (webhook, holder) => {
          run('UPDATE webhooks SET leased_by = NULL, leased_until = NULL WHERE url = ? AND leased_by = ?', webhook, holder);
        },
        enqueue: async (webhook, types, limit, at) => {
          run('INSERT OR IGNORE INTO webhooks (url) VALUES (?)', webhook);
          const through = get('SELECT enqueued_through AS n FROM webhooks WHERE url = ?', webhook)!.n as number;
          const events = all('SELECT id, type, user_id FROM events WHERE id > ? ORDER BY id LIMIT ?', through, limit);
          const insert = this.stmt(
            `INSERT OR IGNORE INTO webhook_deliveries (webhook, event_id, user_id, state, next_attempt_at) VALUES (?, ?, ?, 'pending', ?)`,
          );
          let queued = 0;
          for (const e of events) {
            if (types && !types.includes(e.type as string)) continue;
            queued += insert.run(webhook, e.id, e.user_id, at).changes;
          }
          if (events.length) run('UPDATE webhooks SET enqueued_through = ? WHERE url = ?', events[events.length - 1]!.id, webhook);
          return { scanned: events.length, queued };
        },
        due: async (webhook, now, limit) =>
          all(
            `SELECT d.*, e.at AS e_at, e.type AS e_type, e.portal AS e_portal, e.email AS e_email, e.data AS e_data
             FROM webhook_deliveries d JOIN events e ON e.id = d.event_id
             WHERE d.webhook = :webhook AND d.state = 'pending' AND d.next_attempt_at <= :now
               AND NOT EXISTS (SELECT 1 FROM webhook_deliveries o
                               WHERE o.webhook = d.webhook AND o.state = 'pending' AND d.user_id IS NOT NULL AND o.user_id = d.user_id AND o.id < d.id)
             ORDER BY d.id LIMIT :limit`,
            { webhook, now, limit },
          ).map((r) => ({
            ...deliveryOf(r),
            event: eventOf({ id: r.event_id, at: r.e_at, type: r.e_type, portal: r.e_portal, user_id: r.user_id, email: r.e_email, data: r.e_data }),
          })),
        markDelivered: async (id, at) => {
          run(
            `UPDATE webhook_deliveries SET state = 'delivered', delivered_at = ?, attempts = attempts + 1, last_error = NULL WHERE id = ? AND state = 'pending'`,
            at,
            id,
          );
        },
        markFailed: async (id, error, nextAttemptAt, dead) => {
          run(
            `UPDATE webhook_deliveries SET state = ?, attempts = attempts + 1, last_error = ?, next_attempt_at = ? WHERE id = ? AND state = 'pending'`,
            dead ? 'dead' : 'pending',
            error,
            nextAttemptAt,
            id,
          );
        },
        retryDead: async (webhook, at) =>
          run(
            `UPDATE webhook_deliveries SET state = 'pending', attempts = 0, next_attempt_at = :at WHERE state = 'dead' AND (:webhook IS NULL OR webhook = :webhook)`,
            { at, webhook: webhook ?? null },
          ).changes,
        queues: async () =>
          all(
            `SELECT w.url, w.enqueued_through,
                    (SELECT count(*) FROM webhook_deliveries d WHERE d.webhook = w.url AND d.state = 'pending') AS pending,
                    (SELECT count(*) FROM webhook_deliveries d WHERE d.webhook = w.url AND d.state = 'dead') AS dead,
                    (SELECT min(event_id) FROM webhook_deliveries d WHERE d.webhook = w.url AND d.state = 'pending') AS oldest,
                    (SELECT min(d.next_attempt_at) FROM webhook_deliveries d WHERE d.webhook = w.url AND d.state = 'pending'
                       AND NOT EXISTS (SELECT 1 FROM webhook_deliveries o WHERE o.webhook = d.webhook AND o.state = 'pending'
                                       AND d.user_id IS NOT NULL AND o.user_id = d.user_id AND o.id < d.id)) AS next,
                    (SELECT last_error FROM webhook_deliveries d WHERE d.webhook = w.url AND d.state <> 'delivered' AND d.last_error IS NOT NULL
                     ORDER BY d.next_attempt_at DESC, d.id DESC LIMIT 1) AS last_error
             FROM webhooks w ORDER BY w.url`,
          ).map((r) => ({
            webhook: r.url as string,
            pending: Number(r.pending),
            dead: Number(r.dead),
            oldestPendingEventId: (r.oldest as number | null) ?? null,
            nextAttemptAt: (r.next as string | null) ?? null,
            lastError: (r.last_error as string | null) ?? null,
            enqueuedThrough: r.enqueued_through as number,
          })),
      },
    };
  }
}
