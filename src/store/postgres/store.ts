// The PostgreSQL store: every statement portalctl runs against PostgreSQL,
// through pg (node-postgres).
//
// Concurrency, by PostgreSQL's own means:
//  - a write is one REPEATABLE READ transaction (a snapshot; of two
//    transactions that change the same row, the second fails with 40001),
//    run again after a serialization failure (40001), a deadlock (40P01) or,
//    a few times, a unique violation (23505) — the contract says fn has no
//    outside effects. Every read-then-write rule is guarded by a write to the
//    same row or by a unique key, so it holds as on SQLite under BEGIN
//    IMMEDIATE: two redemptions of a link both mark the registration used
//    (one wins, the other runs again and finds it used); two invitations of
//    an address meet in users_portal_email; prune deletes the very user row
//    that a link, a resend or set-removal-days changes. SERIALIZABLE was
//    tried first: its predicate locks on index pages made the five delivery
//    workers of one bulk invite fail each other 440 times in 1000 emails,
//    though they never touch the same row;
//  - the outbox is claimed with SELECT … FOR UPDATE SKIP LOCKED: a message
//    another process is taking right now is "busy" at once, not waited for;
//  - notices are claimed with INSERT … ON CONFLICT DO NOTHING on their primary
//    key: a reminder is sent once, whatever runs at the same time;
//  - event appends take a transaction-scoped advisory lock, so event ids
//    become visible in increasing order and a reader's cursor never skips one;
//  - a read is one REPEATABLE READ READ ONLY transaction (one snapshot);
//    streams are a server-side cursor fetched in batches (flat memory).
// Connections: a small pool; a connection lost inside a transaction (server
// restarted, backend terminated) rolls it back, and the transaction runs
// again on a new connection for a while (RECONNECT_BUDGET_MS) — except when
// the loss came during COMMIT, whose outcome is unknown: that is reported.
//
// Audit records, events, link attempts and views are appended in batches:
// buffered in the transaction and written by one multi-row INSERT before the
// next statement or COMMIT, so prune's thousands of audit records cost a few
// round trips. Events get their ids from the sequence as they are inserted, in
// the order appended, under the events lock.

import type pg from 'pg';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { INSTALL_ROOT } from '../../install-root.js';
import type { Writable } from 'node:stream';
import { EXIT, PortalctlError, StoreError } from '../../errors.js';
import { accountKey, emailKey, foldKey, nameKey, searchKey } from '../keys.js';
import { TABLES, TABLE_NAMES, targetNotEmpty, type StoreDump, type TableCounts, type TableName, type TableRow } from '../tables.js';
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
import { isConnectionError, isRetryable, parsePostgresUrl, pgError, type PgTarget } from './connect.js';
import { EVENTS_LOCK, LATEST_POSTGRES_VERSION, migratePostgres, postgresSchemaVersion, tooNew } from './migrate.js';

type Row = Record<string, any>;

const BATCH = 1000;
const POOL_SIZE = 8;
/** How many times a transaction runs again after a serialization failure or deadlock. */
const MAX_CONFLICT_RETRIES = 30;
/** …and after a unique violation: a row another transaction committed after our snapshot; a real duplicate fails every time. */
const MAX_UNIQUE_RETRIES = 3;
/** How long a transaction keeps trying when the connection is lost (a server restart takes a few seconds). */
const RECONNECT_BUDGET_MS = 15_000;
/** How long opening the store waits for a server that is restarting (not one that is down: that fails at once). */
const START_RETRY_MS = 5000;
/** A write waiting longer than this for a row or advisory lock gives up (store_busy), like SQLite's busy timeout. */
const LOCK_TIMEOUT = '30s';

declare const PORTALCTL_BUNDLED: boolean | undefined;
type LoadBundle = { loadBundle(name: string): unknown };

function loadPg(): typeof pg {
  // Loaded only for a PostgreSQL store: SQLite users never pay for it.
  // pg asks on load whether it runs in a Cloudflare Worker: without a global
  // `navigator` (Node 20 has none) it builds a fetch Response to find out,
  // which loads Node's whole fetch implementation — a third of pg's load
  // time, paid by every command. A stand-in navigator answers "no" at once.
  const g = globalThis as { navigator?: unknown };
  const stand = g.navigator === undefined;
  if (stand) g.navigator = { userAgent: 'Node.js' };
  try {
    const require = createRequire(import.meta.url);
    // Under bin/portalctl: the driver bundled into one file with its compiled code (scripts/bundle.mjs).
    if (typeof PORTALCTL_BUNDLED === 'boolean') return (require(join(INSTALL_ROOT, 'bin', 'load-bundle.cjs')) as LoadBundle).loadBundle('pg.cjs') as typeof pg;
    return require('pg') as typeof pg;
  } finally {
    if (stand) delete g.navigator;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** timestamptz as the server sends it with TimeZone=UTC ("2026-11-28 14:00:00.123+00") → ISO 8601 UTC. */
export function isoFromPg(text: string): string {
  const m = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)(?:\.(\d+))?\+00$/.exec(text);
  if (m) return `${m[1]}T${m[2]}.${(m[3] ?? '').padEnd(3, '0').slice(0, 3)}Z`;
  const d = new Date(text);
  return Number.isNaN(d.getTime()) ? text : d.toISOString();
}

function parseDays(text: string | null | undefined): number[] {
  if (!text) return [];
  return text
    .split(',')
    .map((s) => Number(s))
    .filter((n) => Number.isInteger(n) && n > 0);
}

const portalOf = (r: Row): Portal => ({
  id: r.id,
  slug: r.slug,
  name: r.name,
  baseUrl: r.base_url,
  adminEmail: r.admin_email,
  registerUrl: r.register_url,
  linkDays: r.link_days,
  removalDays: r.removal_days,
  timeZone: r.time_zone ?? null,
  remindDays: parseDays(r.remind_days),
  warnDays: r.warn_days,
  createdAt: r.created_at,
});

const userOf = (r: Row): User => ({
  id: r.id,
  portalId: r.portal_id,
  firstName: r.first_name,
  lastName: r.last_name,
  email: r.email,
  loginService: r.login_service ?? null,
  username: r.username ?? null,
  linkedAt: r.linked_at ?? null,
  removalDueAt: r.removal_due_at ?? null,
  createdAt: r.created_at,
});

// Extends userOf's object rather than spreading it into a new one (see the SQLite store).
const listingOf = (r: Row): UserListing => {
  const u = userOf(r) as UserListing;
  u.portal = r.portal;
  u.registrationExpiresAt = r.reg_expires_at ?? null;
  return u;
};

const registrationOf = (r: Row): Registration => ({
  id: r.id,
  userId: r.user_id,
  email: r.email,
  createdAt: r.created_at,
  sentAt: r.sent_at ?? null,
  expiresAt: r.expires_at,
  state: r.state,
  supersededAt: r.superseded_at ?? null,
  usedAt: r.used_at ?? null,
  usedService: r.used_service ?? null,
  usedUsername: r.used_username ?? null,
});

const messageOf = (r: Row): OutboxMessage => ({
  id: r.id,
  registrationId: r.registration_id,
  kind: r.kind as MessageKind,
  state: r.state,
  attempts: r.attempts,
  lastError: r.last_error ?? null,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  sentAt: r.sent_at ?? null,
  nextAttemptAt: r.next_attempt_at ?? null,
  claimedBy: r.claimed_by ?? null,
  claimedAt: r.claimed_at ?? null,
});

const auditOf = (r: Row): AuditRecord => ({
  id: r.id,
  at: r.at,
  actor: r.actor,
  action: r.action,
  portal: r.portal ?? null,
  userId: r.user_id ?? null,
  userEmail: r.user_email ?? null,
  before: r.before ?? null,
  after: r.after ?? null,
});

const eventOf = (r: Row): LifecycleEvent => ({
  id: r.id,
  at: r.at,
  type: r.type,
  portal: r.portal,
  userId: r.user_id ?? null,
  email: r.email ?? null,
  data: r.data,
});

const LISTING = `
  SELECT u.*, p.slug AS portal, r.expires_at AS reg_expires_at
  FROM users u
  JOIN portals p ON p.id = u.portal_id
  LEFT JOIN registrations r ON r.user_id = u.id AND r.state = 'active'`;

/** The columns of `table` under `alias`, each named alias__column (taken apart again by columnsOf). */
const aliased = (alias: string, table: TableName) =>
  TABLES.find((t) => t.name === table)!
    .columns.map(([col]) => `${alias}.${col} AS ${alias}__${col}`)
    .join(', ');

/**
 * A queued message, locked (unless another transaction holds it: then no
 * row), with its registration, its user as a listing shows them, and their
 * portal: one statement where there were four.
 */
const CLAIM = `
  SELECT o.*, ${aliased('r', 'registrations')}, ${aliased('u', 'users')}, p.slug AS u__portal, ar.expires_at AS u__reg_expires_at, ${aliased('p', 'portals')}
  FROM outbox o
  JOIN registrations r ON r.id = o.registration_id
  JOIN users u ON u.id = r.user_id
  JOIN portals p ON p.id = u.portal_id
  LEFT JOIN registrations ar ON ar.user_id = u.id AND ar.state = 'active'
  WHERE o.id = $1
  FOR UPDATE OF o SKIP LOCKED`;

/** The columns of a joined row named prefix + column, by their own names. */
function columnsOf(row: Row, prefix: string): Row {
  const out: Row = {};
  for (const k in row) if (k.startsWith(prefix)) out[k.slice(prefix.length)] = row[k];
  return out;
}

/** Positional parameters, numbered as they are added. */
class Params {
  readonly values: unknown[] = [];
  add(v: unknown): string {
    this.values.push(v);
    return `$${this.values.length}`;
  }
}

function statusCondition(status: UserQuery['status'], now: () => string): string {
  switch (status) {
    case 'linked':
      return 'u.login_service IS NOT NULL';
    case 'pending':
      return `u.login_service IS NULL AND r.expires_at > ${now()}`;
    case 'expired':
      return `u.login_service IS NULL AND (r.expires_at IS NULL OR r.expires_at <= ${now()})`;
    case 'unlinked':
      return 'u.login_service IS NULL';
    default:
      return 'true';
  }
}

function order(sort: UserQuery['sort'], now: () => string): string {
  switch (sort ?? 'id') {
    case 'name':
      return 'u.name_key, u.id';
    case 'email':
      return 'u.email_key, u.id';
    case 'status':
      return `CASE WHEN u.login_service IS NOT NULL THEN 0 WHEN r.expires_at > ${now()} THEN 1 ELSE 2 END, u.id`;
    case 'expires':
      return 'r.expires_at IS NULL, r.expires_at, u.id';
    case 'removal':
      return 'u.removal_due_at IS NULL, u.removal_due_at, u.id';
    default:
      return 'u.id';
  }
}

/** The WHERE clause of a user query; "now" becomes a parameter only where a condition uses it (an unused one has no type). */
function userFilter(q: Omit<UserQuery, 'sort' | 'limit'>, p: Params): { where: string; now: () => string } {
  let nowRef: string | undefined;
  const now = () => (nowRef ??= `${p.add(q.now)}::timestamptz`);
  const where = [`u.portal_id = ${p.add(q.portalId)}`, statusCondition(q.status, now)];
  if (q.search) where.push(`strpos(u.search_key, ${p.add(foldKey(q.search))}::text) > 0`);
  return { where: where.join(' AND '), now };
}

/** Where a buffered append goes: one multi-row INSERT … SELECT FROM unnest(…) per flush. */
interface Appender {
  table: string;
  columns: [string, string][];
  rows: unknown[][];
}

const PG_ARRAY_TYPE: Record<string, string> = {
  int: 'bigint[]',
  text: 'text[]',
  time: 'timestamptz[]',
  json: 'json[]',
  bytea: 'bytea[]',
  bool: 'boolean[]',
};

/**
 * Buffered rows as the JSON an append sends. Text that is not well-formed
 * UTF-16 (a lone surrogate, which jsonb refuses) goes as its well-formed
 * equivalent (U+FFFD), as pg writes a text parameter.
 */
function appendedJson(rows: unknown[][]): string {
  const json = JSON.stringify(rows);
  if (!/\\u[dD][89abAB]/.test(json)) return json;
  const lone = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
  return JSON.stringify(rows, (_key, v: unknown) => (typeof v === 'string' ? v.replace(lone, '\uFFFD') : v));
}

/** Statement names for pg's per-connection prepared statements: parsed once per connection. */
const statementNames = new Map<string, string>();
function statementName(text: string): string {
  let n = statementNames.get(text);
  if (!n) {
    n = `portalctl_${statementNames.size + 1}`;
    statementNames.set(text, n);
  }
  return n;
}

export interface PostgresOpenOptions {
  create: boolean;
  password?: string;
  env: NodeJS.ProcessEnv;
  migrate: boolean;
}

export class PostgresStore implements Store {
  readonly kind = 'postgres' as const;
  readonly location: string;
  private readonly target: PgTarget;
  private pool!: pg.Pool;
  private closed = false;

  private constructor(target: PgTarget) {
    this.target = target;
    this.location = target.location;
  }

  private get secrets(): string[] {
    const p = this.target.knownPassword();
    return p ? [p, encodeURIComponent(p)] : [];
  }

  private fail(err: unknown, phase: 'connect' | 'work' | 'commit' = 'work'): Error {
    if (err instanceof PortalctlError) return err;
    return pgError(err, this.location, phase, this.secrets);
  }

  private makePool(ssl: PgTarget['ssl']): pg.Pool {
    const { Pool, Client, types } = loadPg();
    // pg leaves the socket of a connection that failed on our side (no password for SCRAM, say)
    // open until the server's authentication_timeout (60 s) — and the process with it.
    const prefer = this.target.sslmode === 'prefer' && ssl !== false;
    class ClosingClient extends Client {
      constructor(config: pg.ClientConfig) {
        super(config);
        if (prefer) continueInClearOnRefusal(this as unknown as { connection: PgConnection });
      }

      // @ts-expect-error pg's typings declare the overloads; pg-pool always passes a callback.
      override connect(callback: (err: Error | null) => void): void {
        super.connect((err: Error | null) => {
          if (err) (this as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
          callback(err);
        });
      }
    }
    const t = this.target;
    const pool = new Pool({
      Client: ClosingClient as unknown as typeof Client,
      host: t.host,
      port: t.port,
      user: t.user,
      database: t.database,
      // pg asks only when the server wants a password; undefined makes pg report that none was given.
      password: (() => t.password()) as () => string,
      ssl,
      application_name: t.applicationName,
      connectionTimeoutMillis: t.connectTimeoutMs,
      keepAlive: true,
      max: POOL_SIZE,
      // Statements are sent without waiting for the one before (Conn.send): fewer round trips.
      pipeline: true,
      idleTimeoutMillis: 10_000,
      allowExitOnIdle: true,
      // Times in UTC, and a bound on waiting for locks. Prepared statements keep PostgreSQL's own
      // plan caching (plan_cache_mode=auto): planning every execution (force_custom_plan) also
      // re-planned the foreign keys' trigger queries, ~8 per removed user — prune of 50k users spent
      // two thirds of its time there (13 s -> 8.3 s). A generic plan made while a new store was nearly
      // empty is replaced when autovacuum analyzes the growing table (a 10k invite grows linearly).
      options: `-c TimeZone=UTC -c lock_timeout=${LOCK_TIMEOUT} -c client_encoding=UTF8`,
      types: {
        getTypeParser: ((oid: number, format?: string) => {
          if (oid === 20) return (v: string) => Number(v); // bigint ids and counts: well within 2^53
          if (oid === 1184) return isoFromPg;
          return types.getTypeParser(oid, format as 'text');
        }) as typeof types.getTypeParser,
      },
    });
    // An idle connection that the server drops reports here; without a listener it would end the process.
    pool.on('error', () => {});
    // So does a checked-out one between two statements: its next statement then fails, and is handled there.
    pool.on('connect', (client) => {
      client.on('error', () => {});
      coalesceWrites((client as unknown as { connection: { stream: Writable } }).connection.stream);
    });
    return pool;
  }

  static async open(url: string, opts: PostgresOpenOptions): Promise<Store> {
    const store = new PostgresStore(parsePostgresUrl(url, opts.env, opts.password));
    await store.start(opts);
    return store;
  }

  private async start(opts: PostgresOpenOptions): Promise<void> {
    const t = this.target;
    this.pool = this.makePool(t.ssl);
    let client: pg.PoolClient;
    try {
      // sslmode=prefer (libpq's default): TLS when the server offers it, else plain (continueInClearOnRefusal).
      client = await this.connectAtStart();
    } catch (err) {
      await this.close();
      throw this.fail(err, 'connect');
    }
    try {
      const version = await postgresSchemaVersion(client);
      if (version === undefined && !opts.create) {
        throw new StoreError(
          'store_missing',
          `The PostgreSQL database ${this.location} holds no portalctl store; check --db / PORTALCTL_DB (a new store is created only by \`portalctl portals add\`, or \`portalctl store copy --to\`).`,
          EXIT.usage,
        );
      }
      if (version !== undefined && version > LATEST_POSTGRES_VERSION) throw tooNew(version, LATEST_POSTGRES_VERSION);
      if ((version ?? 0) < LATEST_POSTGRES_VERSION) {
        if (!opts.migrate) {
          if (version === undefined)
            throw new StoreError('store_missing', `The PostgreSQL database ${this.location} holds no portalctl store yet.`, EXIT.usage);
        } else await migratePostgres(client);
      }
      client.release();
    } catch (err) {
      client.release(isConnectionError(err) ? (err as Error) : undefined);
      await this.close();
      throw this.fail(err, 'connect');
    }
  }

  /**
   * The first connection. A server that refuses connections (down) fails at
   * once; one that is starting up or shutting down, or resets the
   * connection (a restart under way), is tried again for a few seconds.
   */
  private async connectAtStart(): Promise<pg.PoolClient> {
    const started = Date.now();
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.pool.connect();
      } catch (err) {
        const e = err as { code?: string; message?: string };
        const transient = e.code === '57P03' || e.code === 'ECONNRESET' || /Connection terminated unexpectedly/.test(e.message ?? '');
        if (!transient || Date.now() - started > START_RETRY_MS) throw err;
        await sleep(Math.min(500, 50 * 2 ** attempt));
      }
    }
  }

  // ---------------------------------------------------------------- transactions

  /**
   * Runs fn in a transaction on one pooled connection: again after a
   * serialization failure or deadlock, and on a new connection after a lost
   * one (until RECONNECT_BUDGET_MS), unless the loss came during COMMIT.
   */
  /** When the server was first found gone in the outage under way (undefined: it answers). */
  private unreachableSince: number | undefined;

  private async transact<T>(mode: 'read' | 'write', fn: (tx: Tx, c: Conn) => Promise<T>): Promise<T> {
    if (this.closed) throw new StoreError('store_closed', 'The store was closed.');
    const started = Date.now();
    let uniqueRetries = 0;
    for (let attempt = 0; ; attempt++) {
      let client: pg.PoolClient | undefined;
      let phase: 'connect' | 'work' | 'commit' = 'connect';
      try {
        client = await this.pool.connect();
        phase = 'work';
        const conn = new Conn(client);
        // Pipelined: BEGIN goes out with the first statement, and COMMIT right behind the last writes.
        conn.send(mode === 'write' ? 'BEGIN ISOLATION LEVEL REPEATABLE READ' : 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY', [], false);
        const out = await fn(conn.tx, conn);
        if (mode === 'read') {
          // Every answer is in: ending a read-only snapshot needs no waiting. The client goes back to the
          // pool with COMMIT on the wire; the pipeline keeps it ahead of the next user's BEGIN.
          await conn.settle();
          client.query('COMMIT').catch(() => {});
          client.release();
          this.unreachableSince = undefined;
          return out;
        }
        conn.flush();
        phase = 'commit';
        const commit = client.query('COMMIT');
        commit.catch(() => {});
        try {
          await conn.settle();
        } catch (e) {
          // A statement failed before COMMIT: the transaction was aborted, COMMIT rolled it back — nothing written.
          if (!isConnectionError(e)) phase = 'work';
          throw e;
        }
        await commit;
        client.release();
        this.unreachableSince = undefined;
        return out;
      } catch (err) {
        if (client) {
          if (isConnectionError(err)) client.release(err as Error);
          else {
            try {
              await client.query('ROLLBACK');
              client.release();
            } catch (e) {
              client.release(e as Error);
            }
          }
        }
        if (err instanceof PortalctlError) throw err;
        // A conflict is definite, also at COMMIT: nothing was written.
        const unique = (err as { code?: string }).code === '23505';
        if ((isRetryable(err) && attempt < MAX_CONFLICT_RETRIES) || (unique && mode === 'write' && (uniqueRetries += 1) <= MAX_UNIQUE_RETRIES)) {
          await sleep(Math.random() * Math.min(200, 2 ** Math.min(attempt, 8)) + attempt);
          continue;
        }
        // The budget is one outage's, not each transaction's: a command of many transactions (a bulk
        // invite, a prune) gives up RECONNECT_BUDGET_MS after the server went away, not that long again for each.
        if (phase !== 'commit' && isConnectionError(err)) this.unreachableSince ??= started;
        if (phase !== 'commit' && isConnectionError(err) && Date.now() - (this.unreachableSince ?? started) < RECONNECT_BUDGET_MS && !this.closed) {
          await sleep(Math.min(1000, 50 * 2 ** Math.min(attempt, 5)));
          continue;
        }
        throw this.fail(err, phase);
      }
    }
  }

  read<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return this.transact('read', (tx) => fn(tx));
  }

  write<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return this.transact('write', (tx) => fn(tx));
  }

  /** A query streamed through a server-side cursor in a read-only snapshot: memory stays flat whatever the size. */
  private async *cursor<T>(sql: string, values: unknown[], map: (r: Row) => T): AsyncIterable<T[]> {
    if (this.closed) throw new StoreError('store_closed', 'The store was closed.');
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw this.fail(err, 'connect');
    }
    let broken: Error | undefined;
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      // DECLARE takes no bind parameters: the values go in as escaped literals.
      await client.query(`DECLARE portalctl_cursor NO SCROLL CURSOR FOR ${inline(client, sql, values)}`);
      for (;;) {
        const res = await client.query(`FETCH ${BATCH} FROM portalctl_cursor`);
        if (res.rows.length) yield res.rows.map(map);
        if (res.rows.length < BATCH) break;
      }
    } catch (err) {
      if (isConnectionError(err)) broken = err as Error;
      throw this.fail(err);
    } finally {
      if (!broken) {
        try {
          await client.query('ROLLBACK'); // read-only: nothing to keep; closes the cursor
        } catch (e) {
          broken = e as Error;
        }
      }
      client.release(broken);
    }
  }

  listUsers(q: UserQuery): AsyncIterable<UserListing[]> {
    const p = new Params();
    const { where, now } = userFilter(q, p);
    const limit = q.limit ? ` LIMIT ${p.add(q.limit)}` : '';
    return this.cursor(`${LISTING} WHERE ${where} ORDER BY ${order(q.sort, now)}${limit}`, p.values, listingOf);
  }

  async countUsers(q: Omit<UserQuery, 'sort' | 'limit'>): Promise<number> {
    const p = new Params();
    const { where } = userFilter(q, p);
    return this.transact('read', async (_tx, c) => {
      const rows = await c.q(
        `SELECT count(*) AS n FROM users u LEFT JOIN registrations r ON r.user_id = u.id AND r.state = 'active' WHERE ${where}`,
        p.values,
        false,
      );
      return rows[0]!.n as number;
    });
  }

  listAudit(q: AuditQuery): AsyncIterable<AuditRecord[]> {
    const p = new Params();
    const where: string[] = [];
    if (q.portal !== undefined) where.push(`portal = ${p.add(q.portal)}`);
    if (q.userIds) where.push(`user_id = ANY(${p.add(q.userIds.map(Number))}::bigint[])`);
    if (q.since) where.push(`at >= ${p.add(q.since)}::timestamptz`);
    const limit = q.limit ? ` LIMIT ${p.add(q.limit)}` : '';
    return this.cursor(`SELECT * FROM audit ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY at DESC, id DESC${limit}`, p.values, auditOf);
  }

  listEvents(q: { since: number; portal?: string; types?: readonly string[] }): AsyncIterable<LifecycleEvent[]> {
    const p = new Params();
    const where = [`id > ${p.add(q.since)}`];
    if (q.portal !== undefined) where.push(`portal = ${p.add(q.portal)}`);
    if (q.types?.length) where.push(`type = ANY(${p.add([...q.types])}::text[])`);
    return this.cursor(`SELECT * FROM events WHERE ${where.join(' AND ')} ORDER BY id`, p.values, eventOf);
  }

  listPending(q: { portalId?: number }): AsyncIterable<PendingMessage[]> {
    const p = new Params();
    return this.cursor(
      `SELECT o.*, r.user_id, r.email AS recipient, p.slug AS portal
       FROM outbox o JOIN registrations r ON r.id = o.registration_id
       JOIN users u ON u.id = r.user_id JOIN portals p ON p.id = u.portal_id
       WHERE o.state <> 'sent' ${q.portalId === undefined ? '' : `AND u.portal_id = ${p.add(q.portalId)}`}
       ORDER BY o.state = 'failed', o.id`,
      p.values,
      (r) => ({ ...messageOf(r), userId: r.user_id, to: r.recipient, portal: r.portal }),
    );
  }

  // ---------------------------------------------------------------- store copy

  async dump<T>(fn: (d: StoreDump) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw this.fail(err, 'connect');
    }
    let broken: Error | undefined;
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const c = client;
      const dump: StoreDump = {
        rows: (table) => this.dumpRows(c, table),
        count: async (table) => Number((await c.query(`SELECT count(*) AS n FROM ${spec(table).name}`)).rows[0].n),
        highWater: async () => {
          const out: Partial<Record<TableName, number>> = {};
          for (const t of TABLES.filter((x) => x.identity)) {
            const seq = (await c.query(`SELECT last_value, is_called FROM ${await sequenceOf(c, t.name)}`)).rows[0];
            const max = Number((await c.query(`SELECT coalesce(max(id), 0) AS n FROM ${t.name}`)).rows[0].n);
            out[t.name] = Math.max(max, seq.is_called ? Number(seq.last_value) : Number(seq.last_value) - 1);
          }
          return out;
        },
      };
      return await fn(dump);
    } catch (err) {
      if (isConnectionError(err)) broken = err as Error;
      throw this.fail(err);
    } finally {
      if (!broken) await client.query('ROLLBACK').catch((e: Error) => (broken = e));
      client.release(broken);
    }
  }

  private async *dumpRows(c: pg.PoolClient, table: TableName): AsyncIterable<TableRow[]> {
    const t = spec(table);
    const cols = t.columns.map(([name, kind]) =>
      kind === 'json' ? `${q(name)}::text AS ${q(name)}` : kind === 'bool' ? `${q(name)}::int AS ${q(name)}` : q(name),
    );
    const name = `portalctl_dump_${table}`;
    await c.query(`DECLARE ${name} NO SCROLL CURSOR FOR SELECT ${cols.join(', ')} FROM ${table} ORDER BY ${t.key.map(q).join(', ')}`);
    try {
      for (;;) {
        const res = await c.query(`FETCH ${BATCH} FROM ${name}`);
        if (res.rows.length) yield res.rows as TableRow[];
        if (res.rows.length < BATCH) break;
      }
    } finally {
      await c.query(`CLOSE ${name}`).catch(() => {});
    }
  }

  async load(from: StoreDump, onTable?: (table: TableName, rows: number) => void): Promise<TableCounts> {
    // One attempt: a copy into an empty store has nothing to conflict with, and is not repeated behind the caller's back.
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw this.fail(err, 'connect');
    }
    let phase: 'work' | 'commit' = 'work';
    let broken: Error | undefined;
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
      const c = client;
      const held: [TableName, number][] = [];
      for (const t of TABLES) {
        const n = Number((await c.query(`SELECT count(*) AS n FROM ${t.name}`)).rows[0].n);
        if (n > 0) held.push([t.name, n]);
      }
      if (held.length) throw targetNotEmpty(this.location, held);
      const counts = {} as TableCounts;
      for (const t of TABLES) {
        const cols = t.columns.map(([n]) => q(n)).join(', ');
        const casts = t.columns.map(([, kind], i) => `$${i + 1}::${PG_ARRAY_TYPE[kind]}`).join(', ');
        const text = `INSERT INTO ${t.name} (${cols}) ${t.identity ? 'OVERRIDING SYSTEM VALUE ' : ''}SELECT * FROM unnest(${casts})`;
        let n = 0;
        for await (const batch of from.rows(t.name)) {
          const arrays = t.columns.map(([col, kind]) => batch.map((r) => toPg(r[col] ?? null, kind)));
          await c.query(text, arrays);
          n += batch.length;
        }
        counts[t.name] = n;
        onTable?.(t.name, n);
      }
      for (const t of TABLES) {
        const expected = await from.count(t.name);
        const got = Number((await c.query(`SELECT count(*) AS n FROM ${t.name}`)).rows[0].n);
        if (got !== expected || counts[t.name] !== expected) throw countMismatch(t.name, expected, got);
      }
      const high = await from.highWater();
      for (const t of TABLES.filter((x) => x.identity)) {
        const max = Number((await c.query(`SELECT coalesce(max(id), 0) AS n FROM ${t.name}`)).rows[0].n);
        const next = Math.max(max, high[t.name] ?? 0);
        if (next > 0) await c.query(`SELECT setval($1, $2, true)`, [await sequenceOf(c, t.name), next]);
      }
      phase = 'commit';
      await c.query('COMMIT');
      // Planner statistics now, not when autovacuum gets round to it: the first commands on the new store use them.
      await c.query(`ANALYZE ${TABLES.map((t) => t.name).join(', ')}`).catch(() => {});
      return counts;
    } catch (err) {
      if (isConnectionError(err)) broken = err as Error;
      else await client.query('ROLLBACK').catch((e: Error) => (broken = e));
      throw this.fail(err, phase);
    } finally {
      client.release(broken);
    }
  }

  // ---------------------------------------------------------------- doctor

  async info(): Promise<StoreInfo> {
    return this.transact('read', async (_tx, c) => {
      const version = (await c.q('SHOW server_version', [], false))[0]!.server_version as string;
      return {
        kind: 'postgres' as const,
        location: this.location,
        serverVersion: `PostgreSQL ${version}`,
        schemaVersion: (await postgresSchemaVersion(c.client)) ?? 0,
        latestSchemaVersion: LATEST_POSTGRES_VERSION,
      };
    });
  }

  async checks(): Promise<StoreCheck[]> {
    const out: StoreCheck[] = [];
    const times: number[] = [];
    const facts = await this.transact('read', async (_tx, c) => {
      for (let i = 0; i < 5; i++) {
        const t0 = performance.now();
        await c.q('SELECT 1', [], false);
        times.push(performance.now() - t0);
      }
      const row = (
        await c.q(
          `SELECT current_user AS role, r.rolsuper AS superuser, s.ssl, s.version AS tls,
                  inet_server_addr()::text AS server_addr, current_setting('server_version_num')::int AS num
           FROM pg_roles r LEFT JOIN pg_stat_ssl s ON s.pid = pg_backend_pid() WHERE r.rolname = current_user`,
          [],
          false,
        )
      )[0]!;
      return row;
    });
    times.sort((a, b) => a - b);
    const median = times[Math.floor(times.length / 2)]!;
    out.push({
      name: 'store latency',
      status: median < 20 ? 'ok' : 'warn',
      detail: `round trip ${median.toFixed(2)} ms (median of ${times.length} SELECT 1)${median < 20 ? '' : '; every command makes several: a server this far away makes portalctl slow'}`,
    });
    const local = facts.server_addr === null || ['127.0.0.1', '::1'].includes(String(facts.server_addr).replace(/\/\d+$/, ''));
    out.push(
      facts.ssl
        ? { name: 'store connection', status: 'ok', detail: `encrypted (${facts.tls}), sslmode=${this.target.sslmode}` }
        : local
          ? { name: 'store connection', status: 'ok', detail: 'not encrypted, to a server on this machine' }
          : {
              name: 'store connection',
              status: 'warn',
              detail: `not encrypted: names, addresses and link digests cross the network in clear; add ?sslmode=verify-full (see the README)`,
            },
    );
    out.push(
      facts.superuser
        ? { name: 'store role', status: 'warn', detail: `${facts.role} is a superuser; give portalctl a role of its own that owns only its database` }
        : { name: 'store role', status: 'ok', detail: `${facts.role} (not a superuser)` },
    );
    return out;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool?.end().catch(() => {});
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** The query with $n replaced by the values as SQL literals (numbers, strings, arrays of them, null). */
function inline(client: pg.ClientBase, sql: string, values: unknown[]): string {
  const literal = (v: unknown): string => {
    if (v === null || v === undefined) return 'NULL';
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw new Error('not a finite number');
      return String(v);
    }
    if (Array.isArray(v)) return `ARRAY[${v.map(literal).join(', ')}]`;
    return client.escapeLiteral(String(v));
  };
  return sql.replace(/\$(\d+)/g, (_, n: string) => literal(values[Number(n) - 1]));
}

const q = (ident: string) => `"${ident.replace(/"/g, '""')}"`;
const spec = (table: TableName) => {
  const t = TABLES.find((x) => x.name === table);
  if (!t || !TABLE_NAMES.includes(table)) throw new Error(`unknown table ${table}`);
  return t;
};

async function sequenceOf(c: pg.ClientBase, table: string): Promise<string> {
  const name = (await c.query(`SELECT pg_get_serial_sequence($1, 'id') AS s`, [table])).rows[0].s as string;
  return name;
}

function toPg(v: string | number | Buffer | null, kind: string): unknown {
  if (v === null) return null;
  if (kind === 'bool') return v === 1 || v === '1' || v === 't';
  return v;
}

export function countMismatch(table: string, expected: number, got: number): StoreError {
  return new StoreError('store_copy_mismatch', `The copy of ${table} holds ${got} rows where the source has ${expected}; nothing was copied.`);
}

// ---------------------------------------------------------------- connecting

/** The parts of pg's Connection that sslmode=prefer works with. */
interface PgConnection {
  stream: Writable;
  connect(port: number, host: string): void;
  attachListeners(stream: unknown): void;
  emit(event: 'sslconnect'): boolean;
}

/**
 * sslmode=prefer as libpq does it: ask for TLS, and if the server answers
 * "N" (it has none), go on in clear on the same connection. pg treats that
 * answer as an error, and reconnecting without TLS costs a second backend
 * (~5–15 ms of the server forking, on every command). pg reads the answer
 * with the one `once('data')` its connect() sets up; that reader is wrapped:
 * "N" makes the connection ready for pg's start-up message, as TLS would;
 * "S" and anything else go to pg's reader as before.
 */
function continueInClearOnRefusal(client: { connection: PgConnection }): void {
  const con = client.connection;
  const connect = con.connect.bind(con);
  con.connect = (port, host) => {
    const stream = con.stream;
    const once = stream.once;
    stream.once = function (this: Writable, event: string | symbol, reader: (...args: unknown[]) => void) {
      if (event !== 'data') return once.call(this, event, reader);
      stream.once = once;
      return once.call(this, 'data', (answer: Buffer) => {
        if (answer.length !== 1 || answer[0] !== 0x4e /* N */) return reader(answer);
        con.attachListeners(stream);
        con.emit('sslconnect');
      });
    } as Writable['once'];
    try {
      connect(port, host);
    } finally {
      stream.once = once;
    }
  };
}

// ---------------------------------------------------------------- one transaction

/**
 * Makes a connection's socket send what it is given in one write once the
 * JavaScript has nothing left to do but wait (setImmediate: after every
 * promise continuation). pg writes every protocol message on its own, four
 * or so per statement; pipelined statements (BEGIN with the first statement,
 * a bulk invite's inserts, a batch of claims, COMMIT) then cost more in
 * writes than in the statements. Order is kept: everything goes through the
 * one buffer, and a write with a callback sends it first.
 */
function coalesceWrites(stream: Writable): void {
  const write = stream.write.bind(stream) as (chunk: unknown, encoding?: unknown, cb?: unknown) => boolean;
  let parts: Buffer[] | undefined;
  const flush = () => {
    const p = parts;
    parts = undefined;
    if (p && !stream.destroyed) write(p.length === 1 ? p[0] : Buffer.concat(p));
  };
  stream.write = ((chunk: unknown, encoding?: unknown, cb?: unknown) => {
    if (!Buffer.isBuffer(chunk) || encoding !== undefined || cb !== undefined) {
      flush();
      return write(chunk, encoding, cb);
    }
    if (!parts) {
      parts = [];
      setImmediate(flush);
    }
    parts.push(chunk);
    return true;
  }) as Writable['write'];
}

/** Tables whose rows others refer to come first in a flush of buffered rows. */
const APPEND_ORDER = ['users', 'registrations', 'outbox'];
const appendRank = (table: string) => {
  const i = APPEND_ORDER.indexOf(table);
  return i < 0 ? APPEND_ORDER.length : i;
};

/** One transaction's connection: its statements, its buffered appends, and the Tx over them. */
class Conn {
  readonly client: pg.PoolClient;
  readonly tx: Tx;
  private readonly appenders = new Map<string, Appender>();
  private pending = 0;
  private eventsLocked = false;
  /** Ids taken from each table's sequence and not used yet, and the size of the next block to take. */
  private readonly reserved = new Map<string, { ids: number[]; next: number }>();

  constructor(client: pg.PoolClient) {
    this.client = client;
    this.tx = queries(this);
  }

  /** Statements sent without waiting for their answer (writes whose result nobody needs); the first failure is kept. */
  private inflight: Promise<void>[] = [];
  private failed: unknown;

  private query(text: string, values: unknown[], prepare: boolean) {
    return this.client.query(prepare ? { name: statementName(text), text, values } : { text, values });
  }

  /**
   * Sends a statement and goes on at once: the connection pipelines, so a
   * write nobody waits for costs no round trip. A failure aborts the
   * transaction; it is thrown by the next statement that is waited for, or at
   * COMMIT.
   */
  send(text: string, values: unknown[] = [], prepare = true): void {
    if (this.pending) this.flush();
    this.inflight.push(
      this.query(text, values, prepare).then(
        () => undefined,
        (e: unknown) => {
          this.failed ??= e;
        },
      ),
    );
  }

  /** Waits for every statement sent; throws the first failure. */
  async settle(): Promise<void> {
    if (this.pending) this.flush();
    const all = this.inflight;
    this.inflight = [];
    if (all.length) await Promise.all(all);
    if (this.failed !== undefined) throw this.failed;
  }

  /** Runs a statement and waits for its rows (prepared once per connection when `prepare`), after the buffered appends. */
  async q(text: string, values: unknown[] = [], prepare = true): Promise<Row[]> {
    return (await this.waitFor(text, values, prepare)).rows;
  }

  async n(text: string, values: unknown[] = []): Promise<number> {
    return (await this.waitFor(text, values, true)).rowCount ?? 0;
  }

  private async waitFor(text: string, values: unknown[], prepare: boolean): Promise<pg.QueryResult> {
    if (this.pending) this.flush();
    let res;
    try {
      res = await this.query(text, values, prepare);
    } catch (err) {
      // The first failure is the cause; statements that were already on their way fail after it only
      // because the transaction is aborted (25P02). Several statements may be waited for at once.
      this.failed ??= err;
      await this.settle().catch(() => {});
      throw this.failed;
    }
    await this.settle();
    return res;
  }

  /** Buffers a row for the next flush. */
  append(table: string, columns: [string, string][], row: unknown[]): void {
    let a = this.appenders.get(table);
    if (!a) {
      a = { table, columns, rows: [] };
      this.appenders.set(table, a);
    }
    a.rows.push(row);
    this.pending++;
  }

  /** Sends the buffered appends, one INSERT per table, parents before the rows that refer to them. */
  flush(): void {
    if (!this.pending) return;
    this.pending = 0;
    const tables = [...this.appenders.values()].sort((x, y) => appendRank(x.table) - appendRank(y.table));
    for (const a of tables) {
      if (!a.rows.length) continue;
      const rows = a.rows;
      a.rows = [];
      const overriding = a.columns[0]![0] === 'id' ? 'OVERRIDING SYSTEM VALUE ' : '';
      const names = a.columns.map(([c]) => c).join(', ');
      // The rows travel as one JSON array of arrays: JSON.stringify is native, where pg's text
      // arrays escaped every value in JavaScript, one array a column (prune of 50k: client CPU
      // 3.1 s -> 2.0 s, and less garbage). In the order appended (WITH ORDINALITY … ORDER BY):
      // rows whose ids the sequence gives get them in that order.
      const values = a.columns.map(([, type], i) => `(e->>${i})::${type.slice(0, -2)}`);
      const text = `INSERT INTO ${a.table} (${names}) ${overriding}SELECT ${values.join(', ')} FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS t(e, n) ORDER BY n`;
      this.send(text, [appendedJson(rows)]);
    }
  }

  /**
   * Takes the events lock (held to COMMIT) before this transaction's first
   * event: the rows get their ids from the sequence as they are inserted,
   * under the lock, so ids become visible in increasing order. Sent without
   * waiting: the lock is granted before the INSERT that follows it runs.
   */
  lockEvents(): void {
    if (this.eventsLocked) return;
    this.send('SELECT pg_advisory_xact_lock($1)', [EVENTS_LOCK.toString()]);
    this.eventsLocked = true;
  }

  /**
   * A new id from the table's identity sequence, taken in blocks that grow
   * (1, 4, 16, … up to `max`) so that an insert whose id the caller needs can
   * be sent without waiting: a bulk invite of 1000 takes a few dozen round
   * trips for its ids instead of 3000. Ids of a block left unused are never
   * handed out (a gap, like a rolled-back insert's).
   */
  async nextId(table: string, max = 256): Promise<number> {
    let r = this.reserved.get(table);
    if (!r) this.reserved.set(table, (r = { ids: [], next: 1 }));
    if (r.ids.length === 0) {
      const n = r.next;
      r.next = Math.min(max, n * 4);
      const rows = await this.q(`SELECT nextval(pg_get_serial_sequence($1, 'id')) AS id FROM generate_series(1, $2)`, [table, n]);
      r.ids = rows.map((x) => x.id as number).sort((a, b) => a - b);
    }
    return r.ids.shift()!;
  }
}

/** The named operations over one transaction's connection. */
function queries(c: Conn): Tx {
  const one = <T>(rows: Row[], map: (r: Row) => T) => (rows[0] ? map(rows[0]) : undefined);
  const portalById = async (id: number) => one(await c.q('SELECT * FROM portals WHERE id = $1', [id]), portalOf);
  const listing = async (id: number) => one(await c.q(`${LISTING} WHERE u.id = $1`, [id]), listingOf);
  const listings = async (ids: number[]) => {
    const rows = await c.q(`${LISTING} WHERE u.id = ANY($1::bigint[])`, [ids]);
    return new Map(rows.map((r) => [r.id as number, listingOf(r)]));
  };
  const registrations = async (ids: number[]) => {
    const rows = await c.q(`SELECT * FROM registrations WHERE id = ANY($1::bigint[])`, [ids]);
    return new Map(rows.map((r) => [r.id as number, registrationOf(r)]));
  };
  const userRow = async (id: number) => userOf((await c.q('SELECT * FROM users WHERE id = $1', [id]))[0]!);
  return {
    portals: {
      all: async () => (await c.q('SELECT * FROM portals ORDER BY slug')).map(portalOf),
      bySlug: async (slug) => one(await c.q('SELECT * FROM portals WHERE slug = $1', [slug]), portalOf),
      byId: portalById,
      insert: async (f: PortalFields, createdAt) =>
        portalOf(
          (
            await c.q(
              `INSERT INTO portals (slug, name, base_url, admin_email, register_url, link_days, removal_days, time_zone, remind_days, warn_days, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING *`,
              [f.slug, f.name, f.baseUrl, f.adminEmail, f.registerUrl, f.linkDays, f.removalDays, f.timeZone, f.remindDays.join(','), f.warnDays, createdAt],
            )
          )[0]!,
        ),
      update: async (id, ch) => {
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
        const p = new Params();
        const sets: string[] = [];
        for (const [key, column, conv] of columns) {
          if (ch[key] === undefined) continue;
          sets.push(`${column} = ${p.add(conv(ch[key] as never))}`);
        }
        if (sets.length) c.send(`UPDATE portals SET ${sets.join(', ')} WHERE id = ${p.add(id)}`, p.values, false);
        return (await portalById(id))!;
      },
    },
    users: {
      byId: async (id) => one(await c.q('SELECT * FROM users WHERE id = $1', [id]), userOf),
      listing,
      byEmail: async (portalId, email) => one(await c.q(`${LISTING} WHERE u.portal_id = $1 AND u.email_key = $2`, [portalId, emailKey(email)]), listingOf),
      // IN (SELECT unnest …), not = ANY(…): inside a bulk invite's transaction the new rows have no
      // statistics yet, and the planner scanned every user with a 1,000-key array check per row — each
      // batch slower than the last (50k invitations recorded on a fresh store: 17.7 s -> 4.7 s).
      byEmails: async (portalId, emails) =>
        emails.length === 0
          ? []
          : (await c.q(`${LISTING} WHERE u.portal_id = $1 AND u.email_key IN (SELECT unnest($2::text[]))`, [portalId, emails.map(emailKey)])).map(listingOf),
      listings: async (ids) => {
        if (ids.length === 0) return [];
        const found = await listings([...ids]);
        return ids.flatMap((id) => found.get(id) ?? []);
      },
      byAccount: async (portalId, service, username) =>
        one(
          await c.q(`${LISTING} WHERE u.portal_id = $1 AND u.login_service = $2 AND u.username_key = $3`, [portalId, service, accountKey(username)]),
          listingOf,
        ),
      accountElsewhere: async (service, username, exceptPortalId) =>
        (
          await c.q(
            `SELECT p.* FROM users u JOIN portals p ON p.id = u.portal_id
               WHERE u.login_service = $1 AND u.username_key = $2 AND u.portal_id <> $3 ORDER BY p.slug`,
            [service, accountKey(username), exceptPortalId],
          )
        ).map(portalOf),
      triedAccount: async (portalId, service, username) =>
        (
          await c.q(
            `${LISTING} WHERE u.portal_id = $1 AND u.id IN (SELECT user_id FROM link_attempts WHERE service = $2 AND username_key = $3) ORDER BY u.id`,
            [portalId, service, accountKey(username)],
          )
        ).map(listingOf),
      insert: async (u) => {
        const id = await c.nextId('users');
        // Buffered: a bulk invite's new users go in by one INSERT per batch.
        c.append(
          'users',
          [
            ['id', 'bigint[]'],
            ['portal_id', 'bigint[]'],
            ['first_name', 'text[]'],
            ['last_name', 'text[]'],
            ['email', 'text[]'],
            ['email_key', 'text[]'],
            ['removal_due_at', 'timestamptz[]'],
            ['created_at', 'timestamptz[]'],
            ['search_key', 'text[]'],
            ['name_key', 'text[]'],
          ],
          [id, u.portalId, u.firstName, u.lastName, u.email, emailKey(u.email), u.removalDueAt, u.createdAt, searchKey(u), nameKey(u.firstName, u.lastName)],
        );
        return id;
      },
      setEmail: async (id, email) => {
        const u = await userRow(id);
        c.send('UPDATE users SET email = $1, email_key = $2, search_key = $3 WHERE id = $4', [email, emailKey(email), searchKey({ ...u, email }), id]);
      },
      setRemovalDue: async (id, due) => {
        c.send('UPDATE users SET removal_due_at = $1 WHERE id = $2', [due, id]);
      },
      link: async (id, service, username, at) => {
        const u = await userRow(id);
        c.send('UPDATE users SET login_service = $1, username = $2, username_key = $3, linked_at = $4, removal_due_at = NULL, search_key = $5 WHERE id = $6', [
          service,
          username,
          accountKey(username),
          at,
          searchKey({ ...u, username }),
          id,
        ]);
      },
      prunable: async (scope, now, limit) => {
        const p = new Params();
        const nowP = `${p.add(now)}::timestamptz`;
        const text = `${LISTING} WHERE u.login_service IS NULL AND u.removal_due_at <= ${nowP} AND u.id > ${p.add(scope.afterId ?? 0)}
               ${scope.portalId === undefined ? '' : `AND u.portal_id = ${p.add(scope.portalId)}`}
               AND NOT EXISTS (SELECT 1 FROM registrations a WHERE a.user_id = u.id AND a.state = 'active' AND a.expires_at > ${nowP})
             ORDER BY u.id LIMIT ${p.add(limit)}`;
        return (await c.q(text, p.values)).map(listingOf);
      },
      withStatus: async (scope, now, limit) => {
        const p = new Params();
        const { where } = userFilter({ portalId: scope.portalId, now, status: scope.status }, p);
        const text = `${LISTING} WHERE ${where} AND u.id > ${p.add(scope.afterId)} AND u.id <= ${p.add(scope.throughId)} ORDER BY u.id LIMIT ${p.add(limit)}`;
        return (await c.q(text, p.values)).map(listingOf);
      },
      lastId: async () => Number((await c.q('SELECT coalesce(max(id), 0) AS n FROM users'))[0]!.n),
      remove: async (ids) => {
        if (ids.length) c.send('DELETE FROM users WHERE id = ANY($1::bigint[])', [ids]);
      },
    },
    registrations: {
      get: async (id) => one(await c.q('SELECT * FROM registrations WHERE id = $1', [id]), registrationOf),
      active: async (userId) => one(await c.q(`SELECT * FROM registrations WHERE user_id = $1 AND state = 'active'`, [userId]), registrationOf),
      ofUser: async (userId) => (await c.q('SELECT * FROM registrations WHERE user_id = $1 ORDER BY id', [userId])).map(registrationOf),
      newestAfter: async (userId, id) =>
        one(await c.q('SELECT * FROM registrations WHERE user_id = $1 AND id > $2 ORDER BY id DESC LIMIT 1', [userId, id]), registrationOf),
      insert: async (r) => {
        const id = await c.nextId('registrations');
        c.append(
          'registrations',
          [
            ['id', 'bigint[]'],
            ['user_id', 'bigint[]'],
            ['email', 'text[]'],
            ['created_at', 'timestamptz[]'],
            ['expires_at', 'timestamptz[]'],
            ['state', 'text[]'],
          ],
          [id, r.userId, r.email, r.createdAt, r.expiresAt, 'active'],
        );
        return id;
      },
      supersedeActive: async (userId, at) => {
        const active = one(await c.q(`SELECT * FROM registrations WHERE user_id = $1 AND state = 'active'`, [userId]), registrationOf);
        if (!active) return undefined;
        c.send(`UPDATE registrations SET state = 'superseded', superseded_at = $1, expiry_recorded = true WHERE id = $2`, [at, active.id]);
        c.send('UPDATE link_tokens SET retired_at = $1 WHERE registration_id = $2 AND retired_at IS NULL', [at, active.id]);
        c.send(`DELETE FROM outbox WHERE registration_id = $1 AND state <> 'sent'`, [active.id]);
        return active;
      },
      markUsed: async (id, at, service, username) => {
        c.send(`UPDATE registrations SET state = 'used', used_at = $1, used_service = $2, used_username = $3, expiry_recorded = true WHERE id = $4`, [
          at,
          service,
          username,
          id,
        ]);
      },
      renewLink: async (id, digest, at, expiresAt) => {
        // Three changes in one statement: every registration email that goes out, first or again, makes them.
        c.send(
          `WITH retired AS (UPDATE link_tokens SET retired_at = $3 WHERE registration_id = $2 AND retired_at IS NULL),
                renewed AS (UPDATE registrations SET expires_at = $4, expiry_recorded = false WHERE id = $2)
           INSERT INTO link_tokens (digest, registration_id, minted_at) VALUES ($1, $2, $3)`,
          [digest, id, at, expiresAt],
        );
      },
      newlyExpired: async (now, limit) => {
        const regs = (
          await c.q(`SELECT * FROM registrations WHERE state = 'active' AND NOT expiry_recorded AND expires_at <= $1 ORDER BY expires_at, id LIMIT $2`, [
            now,
            limit,
          ])
        ).map(registrationOf);
        if (!regs.length) return [];
        const users = await listings(regs.map((r) => r.userId));
        return regs.map((registration) => ({ registration, user: users.get(registration.userId)! }));
      },
      newlyExpiredOf: async (userIds, now) =>
        (
          await c.q(
            `SELECT * FROM registrations WHERE user_id = ANY($1::bigint[]) AND state = 'active' AND NOT expiry_recorded AND expires_at <= $2 ORDER BY id`,
            [userIds, now],
          )
        ).map(registrationOf),
      markExpiryRecorded: async (ids) => {
        if (ids.length) c.send('UPDATE registrations SET expiry_recorded = true WHERE id = ANY($1::bigint[])', [ids]);
      },
    },
    tokens: {
      target: async (digest) => {
        // Four questions pipelined: one round trip.
        const reg = 'SELECT registration_id FROM link_tokens WHERE digest = $1';
        const [tok, regs, users, portals] = await Promise.all([
          c.q('SELECT registration_id, minted_at, retired_at FROM link_tokens WHERE digest = $1', [digest]),
          c.q(`SELECT * FROM registrations WHERE id = (${reg})`, [digest]),
          c.q(`${LISTING} WHERE u.id = (SELECT user_id FROM registrations WHERE id = (${reg}))`, [digest]),
          c.q(`SELECT * FROM portals WHERE id = (SELECT portal_id FROM users WHERE id = (SELECT user_id FROM registrations WHERE id = (${reg})))`, [digest]),
        ]);
        const t = tok[0];
        if (!t || !regs[0] || !users[0] || !portals[0]) return undefined;
        return {
          token: { registrationId: t.registration_id, mintedAt: t.minted_at, retiredAt: t.retired_at ?? null },
          registration: registrationOf(regs[0]),
          user: listingOf(users[0]),
          portal: portalOf(portals[0]),
        };
      },
      byDigest: async (digest) => {
        const r = (await c.q('SELECT registration_id, minted_at, retired_at FROM link_tokens WHERE digest = $1', [digest]))[0];
        return r ? { registrationId: r.registration_id, mintedAt: r.minted_at, retiredAt: r.retired_at ?? null } : undefined;
      },
      insert: async (digest, registrationId, at) => {
        c.send('INSERT INTO link_tokens (digest, registration_id, minted_at) VALUES ($1, $2, $3)', [digest, registrationId, at]);
      },
      retireOthers: async (registrationId, keep, at) => {
        c.send('UPDATE link_tokens SET retired_at = $1 WHERE registration_id = $2 AND digest <> $3 AND retired_at IS NULL', [at, registrationId, keep]);
      },
    },
    outbox: {
      get: async (id) => one(await c.q('SELECT * FROM outbox WHERE id = $1', [id]), messageOf),
      enqueue: async (registrationId, kind, at) => {
        const id = await c.nextId('outbox');
        c.append(
          'outbox',
          [
            ['id', 'bigint[]'],
            ['registration_id', 'bigint[]'],
            ['kind', 'text[]'],
            ['state', 'text[]'],
            ['created_at', 'timestamptz[]'],
            ['updated_at', 'timestamptz[]'],
          ],
          [id, registrationId, kind, 'queued', at, at],
        );
        return id;
      },
      claim: async (id, claimant, claimedAt, at, isStale) => {
        // A message another transaction is taking right now is busy: skipped, not waited for. The
        // message comes locked with its registration, user and portal, in one statement.
        const row = (await c.q(CLAIM, [id]))[0];
        if (!row) return (await c.q('SELECT 1 FROM outbox WHERE id = $1', [id])).length ? 'busy' : 'gone';
        const m = messageOf(row);
        if (m.state !== 'queued') return m.state === 'sent' ? 'sent' : 'gone';
        if (m.claimedBy && m.claimedAt && !isStale(m.claimedBy, m.claimedAt)) return 'busy';
        c.send('UPDATE outbox SET attempts = attempts + 1, updated_at = $1, claimed_by = $2, claimed_at = $3 WHERE id = $4', [at, claimant, claimedAt, id]);
        return {
          message: { ...m, attempts: m.attempts + 1, claimedBy: claimant, claimedAt },
          registration: registrationOf(columnsOf(row, 'r__')),
          user: listingOf(columnsOf(row, 'u__')),
          portal: portalOf(columnsOf(row, 'p__')),
        };
      },
      markSent: async (id, at) => {
        c.send(
          `WITH m AS (
             UPDATE outbox SET state = 'sent', sent_at = $1, updated_at = $1, last_error = NULL, next_attempt_at = NULL, claimed_by = NULL, claimed_at = NULL
             WHERE id = $2 RETURNING registration_id, kind)
           UPDATE registrations r SET sent_at = $1 FROM m WHERE r.id = m.registration_id AND m.kind = 'registration'`,
          [at, id],
        );
      },
      markUnsent: async (id, state, error, at, nextAttemptAt) => {
        c.send(`UPDATE outbox SET state = $1, last_error = $2, updated_at = $3, next_attempt_at = $4, claimed_by = NULL, claimed_at = NULL WHERE id = $5`, [
          state,
          error,
          at,
          nextAttemptAt,
          id,
        ]);
      },
      release: async (ids, claimant) => {
        if (ids.length)
          c.send(
            `UPDATE outbox SET attempts = attempts - 1, claimed_by = NULL, claimed_at = NULL WHERE id = ANY($1::bigint[]) AND claimed_by = $2 AND state = 'queued'`,
            [ids, claimant],
          );
      },
      remove: async (id) => {
        c.send('DELETE FROM outbox WHERE id = $1', [id]);
      },
      queuedFor: async (registrationIds) => {
        if (registrationIds.length === 0) return [];
        return (await c.q(`SELECT id FROM outbox WHERE state = 'queued' AND registration_id = ANY($1::bigint[]) ORDER BY id`, [registrationIds])).map(
          (r) => r.id as number,
        );
      },
      ofUser: async (userId) =>
        (await c.q('SELECT o.* FROM outbox o JOIN registrations r ON r.id = o.registration_id WHERE r.user_id = $1 ORDER BY o.id', [userId])).map(messageOf),
      requeueFailed: async (ids, at) => {
        if (ids.length)
          c.send(`UPDATE outbox SET state = 'queued', next_attempt_at = NULL, updated_at = $1 WHERE id = ANY($2::bigint[]) AND state = 'failed'`, [at, ids]);
      },
    },
    linkAttempts: {
      record: async (a) => {
        c.append(
          'link_attempts',
          [
            ['at', 'timestamptz[]'],
            ['user_id', 'bigint[]'],
            ['registration_id', 'bigint[]'],
            ['service', 'text[]'],
            ['username', 'text[]'],
            ['username_key', 'text[]'],
            ['outcome', 'text[]'],
            ['actor', 'text[]'],
          ],
          [a.at, a.userId, a.registrationId, a.service, a.username, accountKey(a.username), a.outcome, a.actor],
        );
      },
      ofUser: async (userId) =>
        (await c.q('SELECT * FROM link_attempts WHERE user_id = $1 ORDER BY id', [userId])).map((r): LinkAttempt => ({
          id: r.id,
          at: r.at,
          userId: r.user_id,
          registrationId: r.registration_id ?? null,
          service: r.service,
          username: r.username,
          outcome: r.outcome,
          actor: r.actor,
        })),
    },
    linkViews: {
      record: async (v) => {
        c.append(
          'link_views',
          [
            ['at', 'timestamptz[]'],
            ['user_id', 'bigint[]'],
            ['registration_id', 'bigint[]'],
            ['client_address', 'text[]'],
            ['user_agent', 'text[]'],
          ],
          [v.at, v.userId, v.registrationId, v.clientAddress, v.userAgent],
        );
      },
      ofUser: async (userId) =>
        (await c.q('SELECT * FROM link_views WHERE user_id = $1 ORDER BY id', [userId])).map((r): LinkView => ({
          id: r.id,
          at: r.at,
          userId: r.user_id,
          registrationId: r.registration_id,
          clientAddress: r.client_address ?? null,
          userAgent: r.user_agent ?? null,
        })),
    },
    notices: {
      claim: async (registrationId, kind, step, at) => {
        // A write to the registration row first: two claims for one registration then meet on that row
        // (the second runs again and sees the first's notice), so a later step still makes an earlier one moot.
        c.send('UPDATE registrations SET expiry_recorded = expiry_recorded WHERE id = $1', [registrationId]);
        return (
          (await c.n(
            `INSERT INTO notices (registration_id, kind, step, created_at)
             SELECT $1, $2, $3, $4
             WHERE NOT EXISTS (SELECT 1 FROM notices WHERE registration_id = $1 AND kind = $2 AND step >= $3)
             ON CONFLICT DO NOTHING`,
            [registrationId, kind, step, at],
          )) === 1
        );
      },
      reminderCandidates: async (q) => {
        const rows = await c.q(
          `SELECT u.id AS uid, r.id AS rid,
                  (SELECT string_agg(step::text, ',' ORDER BY step) FROM notices n WHERE n.registration_id = r.id AND n.kind = 'reminder') AS steps
           FROM users u JOIN registrations r ON r.user_id = u.id AND r.state = 'active'
           WHERE u.portal_id = $1 AND u.login_service IS NULL AND r.sent_at IS NOT NULL AND r.sent_at <= $2
             AND r.expires_at > $3 AND u.id > $4
           ORDER BY u.id LIMIT $5`,
          [q.portalId, q.sentBefore, q.now, q.afterUserId, q.limit],
        );
        if (!rows.length) return [];
        const users = await listings(rows.map((r) => r.uid));
        const regs = await registrations(rows.map((r) => r.rid));
        return rows.map((r) => ({ user: users.get(r.uid)!, registration: regs.get(r.rid)!, sentSteps: parseDays(r.steps) }));
      },
      warningCandidates: async (q) => {
        // prune removes at the later of the removal date and the link's expiry.
        const rows = await c.q(
          `SELECT u.id AS uid, r.id AS rid, greatest(u.removal_due_at, r.expires_at) AS removal_at
           FROM users u JOIN registrations r ON r.user_id = u.id AND r.state = 'active'
           WHERE u.portal_id = $1 AND u.login_service IS NULL AND u.removal_due_at IS NOT NULL AND u.id > $2
             AND greatest(u.removal_due_at, r.expires_at) > $3 AND greatest(u.removal_due_at, r.expires_at) <= $4
             AND NOT EXISTS (SELECT 1 FROM notices n WHERE n.registration_id = r.id AND n.kind = 'removal_warning')
           ORDER BY u.id LIMIT $5`,
          [q.portalId, q.afterUserId, q.now, q.removalBefore, q.limit],
        );
        if (!rows.length) return [];
        const users = await listings(rows.map((r) => r.uid));
        const regs = await registrations(rows.map((r) => r.rid));
        return rows.map((r) => ({ user: users.get(r.uid)!, registration: regs.get(r.rid)!, removalAt: r.removal_at as string }));
      },
    },
    audit: {
      append: async (e) => {
        c.append(
          'audit',
          [
            ['at', 'timestamptz[]'],
            ['actor', 'text[]'],
            ['action', 'text[]'],
            ['portal', 'text[]'],
            ['user_id', 'bigint[]'],
            ['user_email', 'text[]'],
            ['before', 'json[]'],
            ['after', 'json[]'],
          ],
          [
            e.at,
            e.actor,
            e.action,
            e.portal,
            e.userId,
            e.userEmail,
            e.before === undefined ? null : JSON.stringify(e.before),
            e.after === undefined ? null : JSON.stringify(e.after),
          ],
        );
      },
      accountChanges: async (userId) =>
        (await c.q(`SELECT * FROM audit WHERE user_id = $1 AND action IN ('link', 'relink') ORDER BY id`, [userId])).map(auditOf),
      userIdsFor: async (ref) => {
        const id = /^[0-9]{1,15}$/.test(ref) ? Number(ref) : -1;
        const key = emailKey(ref);
        // lower() narrows with the index; the store's own key rule decides.
        const rows = await c.q(
          `SELECT DISTINCT user_id, user_email FROM audit
             WHERE user_id IS NOT NULL AND (user_id = $1 OR user_email = $2 OR lower(user_email) = lower($2) OR lower(user_email) = $3)`,
          [id, ref, key],
        );
        const ids = new Set<number>();
        for (const r of rows) if (r.user_id === id || (r.user_email !== null && emailKey(r.user_email) === key)) ids.add(r.user_id);
        return [...ids].sort((a, b) => a - b);
      },
      lastRemoval: async (portal, ref) => {
        const rows =
          'id' in ref
            ? await c.q(`SELECT * FROM audit WHERE user_id = $1 AND action IN ('prune', 'remove') AND portal = $2 ORDER BY id DESC LIMIT 1`, [ref.id, portal])
            : await c.q(
                `SELECT * FROM audit WHERE (lower(user_email) = lower($1) OR lower(user_email) = $2) AND action IN ('prune', 'remove') AND portal = $3 ORDER BY id DESC`,
                [ref.email, emailKey(ref.email), portal],
              );
        const key = 'email' in ref ? emailKey(ref.email) : '';
        const r = rows.find((x) => 'id' in ref || emailKey(x.user_email ?? '') === key);
        return r ? auditOf(r) : undefined;
      },
    },
    events: {
      append: async (e) => {
        c.lockEvents();
        c.append(
          'events',
          [
            ['at', 'timestamptz[]'],
            ['type', 'text[]'],
            ['portal', 'text[]'],
            ['user_id', 'bigint[]'],
            ['email', 'text[]'],
            ['data', 'json[]'],
          ],
          [e.at, e.type, e.portal, e.userId, e.email, JSON.stringify(e.data)],
        );
      },
      since: async (cursor, limit, filter) => {
        if (filter?.types?.length) {
          return (await c.q('SELECT * FROM events WHERE id > $1 AND type = ANY($2::text[]) ORDER BY id LIMIT $3', [cursor, [...filter.types], limit])).map(
            eventOf,
          );
        }
        return (await c.q('SELECT * FROM events WHERE id > $1 ORDER BY id LIMIT $2', [cursor, limit])).map(eventOf);
      },
      last: async () => (await c.q('SELECT coalesce(max(id), 0) AS n FROM events'))[0]!.n as number,
    },
    webhooks: {
      lease: async (webhook, holder, until, isStale) => {
        c.send('INSERT INTO webhooks (url) VALUES ($1) ON CONFLICT DO NOTHING', [webhook]);
        // The webhook's row, locked: two processes asking for the lease take turns.
        const r = (await c.q('SELECT leased_by, leased_until FROM webhooks WHERE url = $1 FOR UPDATE', [webhook]))[0]!;
        const by = (r.leased_by as string | null) ?? null;
        const held = (r.leased_until as string | null) ?? null;
        if (by !== null && held !== null && by !== holder && !isStale(by, held)) return false;
        c.send('UPDATE webhooks SET leased_by = $1, leased_until = $2 WHERE url = $3', [holder, until, webhook]);
        return true;
      },
      release: async (webhook, holder) => {
        c.send('UPDATE webhooks SET leased_by = NULL, leased_until = NULL WHERE url = $1 AND leased_by = $2', [webhook, holder]);
      },
      enqueue: async (webhook, types, limit, at) => {
        c.send('INSERT INTO webhooks (url) VALUES ($1) ON CONFLICT DO NOTHING', [webhook]);
        const through = (await c.q('SELECT enqueued_through AS n FROM webhooks WHERE url = $1 FOR UPDATE', [webhook]))[0]!.n as number;
        const events = await c.q('SELECT id, type, user_id FROM events WHERE id > $1 ORDER BY id LIMIT $2', [through, limit]);
        const wanted = events.filter((e) => !(types && !types.includes(e.type)));
        let queued = 0;
        if (wanted.length) {
          queued = await c.n(
            `INSERT INTO webhook_deliveries (webhook, event_id, user_id, state, next_attempt_at)
             SELECT $1, e, u, 'pending', $2 FROM unnest($3::bigint[], $4::bigint[]) AS x(e, u)
             ON CONFLICT (webhook, event_id) DO NOTHING`,
            [webhook, at, wanted.map((e) => e.id), wanted.map((e) => e.user_id)],
          );
        }
        if (events.length) c.send('UPDATE webhooks SET enqueued_through = $1 WHERE url = $2', [events[events.length - 1]!.id, webhook]);
        return { scanned: events.length, queued };
      },
      due: async (webhook, now, limit) =>
        (
          await c.q(
            `SELECT d.*, e.at AS e_at, e.type AS e_type, e.portal AS e_portal, e.email AS e_email, e.data AS e_data
             FROM webhook_deliveries d JOIN events e ON e.id = d.event_id
             WHERE d.webhook = $1 AND d.state = 'pending' AND d.next_attempt_at <= $2
               AND NOT EXISTS (SELECT 1 FROM webhook_deliveries o WHERE o.webhook = d.webhook AND o.state = 'pending'
                               AND d.user_id IS NOT NULL AND o.user_id = d.user_id AND o.id < d.id)
             ORDER BY d.id LIMIT $3`,
            [webhook, now, limit],
          )
        ).map((r) => ({
          id: r.id,
          webhook: r.webhook,
          eventId: r.event_id,
          userId: r.user_id ?? null,
          state: r.state as WebhookDelivery['state'],
          attempts: r.attempts,
          nextAttemptAt: r.next_attempt_at,
          lastError: r.last_error ?? null,
          deliveredAt: r.delivered_at ?? null,
          event: eventOf({ id: r.event_id, at: r.e_at, type: r.e_type, portal: r.e_portal, user_id: r.user_id, email: r.e_email, data: r.e_data }),
        })),
      markDelivered: async (id, at) => {
        c.send(
          `UPDATE webhook_deliveries SET state = 'delivered', delivered_at = $1, attempts = attempts + 1, last_error = NULL WHERE id = $2 AND state = 'pending'`,
          [at, id],
        );
      },
      markFailed: async (id, error, nextAttemptAt, dead) => {
        c.send(`UPDATE webhook_deliveries SET state = $1, attempts = attempts + 1, last_error = $2, next_attempt_at = $3 WHERE id = $4 AND state = 'pending'`, [
          dead ? 'dead' : 'pending',
          error,
          nextAttemptAt,
          id,
        ]);
      },
      retryDead: async (webhook, at) =>
        c.n(`UPDATE webhook_deliveries SET state = 'pending', attempts = 0, next_attempt_at = $1 WHERE state = 'dead' AND ($2::text IS NULL OR webhook = $2)`, [
          at,
          webhook ?? null,
        ]),
      queues: async () =>
        (
          await c.q(
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
          )
        ).map((r) => ({
          webhook: r.url as string,
          pending: Number(r.pending),
          dead: Number(r.dead),
          oldestPendingEventId: (r.oldest as number | null) ?? null,
          nextAttemptAt: (r.next as string | null) ?? null,
          lastError: (r.last_error as string | null) ?? null,
          enqueuedThrough: Number(r.enqueued_through),
        })),
    },
  };
}
