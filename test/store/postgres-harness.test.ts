// The PostgreSQL test harness works, and what `pg` reports for each fault the
// store will have to map: a terminated backend, a server restart (fast and
// immediate), a server that is down, one that never answers, and bad
// credentials. The assertions pin the exact codes and messages of pg@8.

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { sharedPostgres, startPostgres, sweepStaleClusters, type PgCluster, type PgServer } from '../helpers/postgres.js';

type PgError = Error & { code?: string; severity?: string; errno?: number; syscall?: string };

/** A client whose 'error' events are collected (an unhandled one would crash the worker). */
async function connect(config: pg.ClientConfig): Promise<pg.Client & { errors: PgError[] }> {
  const c = Object.assign(new pg.Client(config), { errors: [] as PgError[] });
  c.on('error', (e: PgError) => c.errors.push(e));
  await c.connect();
  return c;
}

const until = async (ok: () => boolean, ms = 5000) => {
  for (const end = Date.now() + ms; !ok();) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
};

// No stray credentials from the environment: pg falls back to PGPASSWORD and ~/.pgpass.
beforeAll(() => {
  vi.stubEnv('PGPASSWORD', undefined);
  vi.stubEnv('PGPASSFILE', '/nonexistent');
});
afterEach(() => {
  vi.stubEnv('PGPASSWORD', undefined);
  vi.stubEnv('PGPASSFILE', '/nonexistent');
});
afterAll(() => vi.unstubAllEnvs());

describe('the shared cluster (globalSetup)', () => {
  let pgs: PgServer;
  beforeAll(async () => {
    pgs = await sharedPostgres();
  });

  it('makes separate databases owned by portalctl, reachable in every password form', async () => {
    const a = await pgs.createDatabase();
    const b = await pgs.createDatabase();
    expect(a).toMatch(new RegExp(`^postgres://portalctl@127\\.0\\.0\\.1:${pgs.port}/t_[0-9a-f]{12}$`));
    expect(b).not.toBe(a);

    // Password in the URL
    const withPw = new URL(a);
    withPw.password = encodeURIComponent(pgs.password);
    const c1 = await connect({ connectionString: withPw.href });
    await c1.query('CREATE TABLE only_in_a (x int)');
    expect((await c1.query('SELECT current_user AS u')).rows[0].u).toBe('portalctl');
    await c1.end();

    // PGPASSWORD
    vi.stubEnv('PGPASSWORD', pgs.password);
    const c2 = await connect({ connectionString: b });
    expect((await c2.query(`SELECT to_regclass('only_in_a') AS t`)).rows[0].t).toBeNull();
    await c2.end();
    vi.stubEnv('PGPASSWORD', undefined);

    // A password file
    vi.stubEnv('PGPASSFILE', pgs.passfile);
    const c3 = await connect({ connectionString: a });
    expect((await c3.query(`SELECT to_regclass('only_in_a') AS t`)).rows[0].t).toBe('only_in_a');
    await c3.end();

    expect(await pgs.sql(new URL(a).pathname.slice(1), `SELECT datdba::regrole::text AS owner FROM pg_database WHERE datname = current_database()`)).toEqual([
      { owner: 'portalctl' },
    ]);
  });

  it('a password given beside a connectionString is ignored by pg (the URL wins, even without one)', async () => {
    const url = await pgs.createDatabase();
    const err: PgError = await connect({ connectionString: url, password: pgs.password }).catch((e) => e);
    expect(err.message).toBe('SASL: SCRAM-SERVER-FIRST-MESSAGE: client password must be a string');
  });

  it('refuses TCP without the password, with a wrong one, and for the superuser', async () => {
    const db = new URL(await pgs.createDatabase()).pathname.slice(1);
    const base = { host: pgs.host, port: pgs.port, database: db };
    const none: PgError = await connect({ ...base, user: pgs.user }).catch((e) => e);
    // pg gives up before answering the server's SCRAM challenge: no SQLSTATE.
    expect(none.message).toBe('SASL: SCRAM-SERVER-FIRST-MESSAGE: client password must be a string');
    expect(none.code).toBeUndefined();
    const wrong: PgError = await connect({ ...base, user: pgs.user, password: 'wrong' }).catch((e) => e);
    expect([wrong.code, wrong.severity, wrong.message]).toEqual(['28P01', 'FATAL', 'password authentication failed for user "portalctl"']);
    const su: PgError = await connect({ ...base, user: pgs.superuser, password: 'x' }).catch((e) => e);
    expect(su.code).toBe('28P01');
    const nodb: PgError = await connect({ ...base, database: 'no_such_db', user: pgs.user, password: pgs.password }).catch((e) => e);
    expect([nodb.code, nodb.message]).toEqual(['3D000', 'database "no_such_db" does not exist']);
  });

  it('terminateBackends: an idle client gets 57P01 then "Connection terminated unexpectedly"; an in-flight query rejects with 57P01', async () => {
    const url = await pgs.createDatabase();
    const db = new URL(url).pathname.slice(1);
    const cfg = { connectionString: url.replace('portalctl@', `portalctl:${pgs.password}@`) };
    const idle = await connect(cfg);
    const busy = await connect(cfg);
    const inFlight = busy.query('SELECT pg_sleep(30)').catch((e: PgError) => e);
    await pgs.sql('postgres', `SELECT 1`); // a round trip, so the sleep has reached the server
    expect(await pgs.terminateBackends(db)).toBe(2);

    const q = (await inFlight) as PgError;
    expect([q.code, q.severity, q.message]).toEqual(['57P01', 'FATAL', 'terminating connection due to administrator command']);
    await until(() => idle.errors.length >= 2 && busy.errors.length >= 1);
    expect(idle.errors.map((e) => [e.code, e.message])).toEqual([
      ['57P01', 'terminating connection due to administrator command'],
      [undefined, 'Connection terminated unexpectedly'],
    ]);
    expect(busy.errors.map((e) => e.message)).toEqual(['Connection terminated unexpectedly']);
    const after: PgError = await idle.query('SELECT 1').catch((e) => e);
    expect(after.message).toBe('Client has encountered a connection error and is not queryable');

    // A Pool emits the error of an idle client on the pool ('error' must be handled), then reconnects.
    const pool = new pg.Pool(cfg);
    const poolErrors: PgError[] = [];
    pool.on('error', (e: PgError) => poolErrors.push(e));
    await pool.query('SELECT 1');
    await pgs.terminateBackends(db);
    await until(() => poolErrors.length > 0);
    expect(poolErrors.map((e) => e.code)).toEqual(['57P01']);
    expect((await pool.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    await pool.end();
  });
});

describe('a private cluster: restart, stop, start', () => {
  let c: PgCluster;
  let cfg: pg.ClientConfig;
  beforeAll(async () => {
    const t0 = performance.now();
    c = await startPostgres();
    const t1 = performance.now();
    const url = await c.createDatabase('app');
    const t2 = performance.now();
    console.log(`startPostgres ${Math.round(t1 - t0)} ms, createDatabase ${Math.round(t2 - t1)} ms (${c.version})`);
    cfg = { host: c.host, port: c.port, user: c.user, password: c.password, database: new URL(url).pathname.slice(1) };
  });
  afterAll(async () => {
    await c?.destroy();
    expect(existsSync(c.dir)).toBe(false);
  });

  it('fast restart: like a terminated backend, 57P01 then "Connection terminated unexpectedly"; new clients connect', async () => {
    const idle = await connect(cfg);
    const busy = await connect(cfg);
    const inFlight = busy.query('SELECT pg_sleep(30)').catch((e: PgError) => e);
    await c.sql('app', 'SELECT 1');
    const pid = c.pid;
    await c.restart();
    expect(c.pid).not.toBe(pid);
    expect(((await inFlight) as PgError).code).toBe('57P01');
    await until(() => idle.errors.length >= 2);
    expect(idle.errors.map((e) => e.code ?? e.message)).toEqual(['57P01', 'Connection terminated unexpectedly']);
    const fresh = await connect(cfg);
    expect((await fresh.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    await fresh.end();
  });

  it('immediate restart (a crash): no SQLSTATE at all, only "Connection terminated unexpectedly"', async () => {
    const idle = await connect(cfg);
    const busy = await connect(cfg);
    const inFlight = busy.query('SELECT pg_sleep(30)').catch((e: PgError) => e);
    await c.sql('app', 'SELECT 1');
    await c.restart({ mode: 'immediate' });
    const q = (await inFlight) as PgError;
    expect([q.code, q.message]).toEqual([undefined, 'Connection terminated unexpectedly']);
    await until(() => idle.errors.length >= 1);
    expect(idle.errors.map((e) => [e.code, e.message])).toEqual([[undefined, 'Connection terminated unexpectedly']]);
    const fresh = await connect(cfg);
    await fresh.end();
  });

  it('while shutting down (smart, a client still connected), new connections get 57P03', async () => {
    const holder = await connect(cfg);
    const stopping = c.stop({ mode: 'smart' });
    await until(() => {
      const st = readFileSync(join(c.dir, 'data', 'postmaster.pid'), 'utf8')
        .split('\n')[7]
        ?.trim();
      return st === 'stopping';
    });
    const err = await connect(cfg).then(
      (x) => (x.end(), undefined),
      (e: PgError) => e,
    );
    expect([err?.code, err?.message]).toEqual(['57P03', 'the database system is shutting down']);
    await holder.end();
    await stopping;
    await c.start();
  });

  it('while down, connecting is refused: ECONNREFUSED; after start() it works again', async () => {
    await c.stop({ mode: 'fast' });
    expect(c.pid).toBeUndefined();
    const err: PgError = await connect(cfg).catch((e) => e);
    expect([err.code, err.errno, err.syscall, err.message]).toEqual(['ECONNREFUSED', -111, 'connect', `connect ECONNREFUSED 127.0.0.1:${c.port}`]);
    const pool = new pg.Pool(cfg);
    const perr: PgError = await pool.query('SELECT 1').catch((e) => e);
    expect(perr.code).toBe('ECONNREFUSED');
    await c.start();
    expect((await pool.query('SELECT 2 AS two')).rows).toEqual([{ two: 2 }]);
    await pool.end();
  });
});

describe('a server that never answers', () => {
  // A listener that accepts and stays silent: to pg the same as an address that
  // drops packets (checked by hand with a listener whose backlog was full: the
  // same errors). No traffic leaves the machine.
  let silent: Server;
  let port: number;
  const sockets = new Set<Socket>();
  beforeAll(async () => {
    silent = createServer((s) => sockets.add(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    port = (silent.address() as { port: number }).port;
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => silent.close(r));
  });

  it('Client: "timeout expired" after connectionTimeoutMillis; Pool: "Connection terminated due to connection timeout"', async () => {
    const cfg = { host: '127.0.0.1', port, user: 'portalctl', password: 'x', connectionTimeoutMillis: 300 };
    const t0 = Date.now();
    const err: PgError = await new pg.Client(cfg).connect().catch((e) => e);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    expect([err.code, err.message]).toEqual([undefined, 'timeout expired']);
    const pool = new pg.Pool(cfg);
    const perr: PgError = await pool.query('SELECT 1').catch((e) => e);
    expect([perr.code, perr.message, (perr.cause as Error | undefined)?.message]).toEqual([
      undefined,
      'Connection terminated due to connection timeout',
      'Connection terminated unexpectedly',
    ]);
    await pool.end();
  });
});

describe('cleanup when the test process dies', () => {
  // The helper, transpiled, in a plain Node process that we kill.
  let work: string;
  beforeAll(async () => {
    const ts = (await import('typescript')).default;
    const src = readFileSync(resolve(import.meta.dirname, '../helpers/postgres.ts'), 'utf8');
    const js = ts.transpileModule(src, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
    const pgUrl = pathToFileURL(createRequire(import.meta.url).resolve('pg')).href;
    work = mkdtempSync(join(tmpdir(), 'portalctl-pgcrash-'));
    writeFileSync(join(work, 'postgres.mjs'), js.replace(/from 'pg'/, `from '${pgUrl}'`));
    writeFileSync(
      join(work, 'main.mjs'),
      `import { startPostgres } from './postgres.mjs';
       const c = await startPostgres();
       console.log(JSON.stringify({ pid: c.pid, dir: c.dir }));
       setInterval(() => {}, 1000);`,
    );
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  async function startChild() {
    const child = spawn(process.execPath, [join(work, 'main.mjs')], { stdio: ['ignore', 'pipe', 'inherit'] });
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d) => {
        out += d;
        if (out.includes('\n')) resolve(out);
      });
      child.once('exit', (code) => reject(new Error(`child exited ${code}`)));
    });
    const { pid, dir } = JSON.parse(line) as { pid: number; dir: string };
    const exited = new Promise<NodeJS.Signals | null>((r) => child.once('exit', (_code, sig) => r(sig)));
    return { child, pid, dir, exited };
  }
  const running = (pid: number) => {
    try {
      return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    } catch {
      return false;
    }
  };

  it('SIGKILL: the postmaster dies with it (parent-death signal); the next start sweeps the folder', async () => {
    const { child, pid, dir, exited } = await startChild();
    expect(running(pid)).toBe(true);
    child.kill('SIGKILL');
    await exited;
    await until(() => !running(pid));
    expect(existsSync(dir)).toBe(true);
    expect(sweepStaleClusters()).toContain(dir);
    expect(existsSync(dir)).toBe(false);
  });

  it('SIGTERM (how vitest ends its workers): stops the postmaster, removes the folder, and still dies of SIGTERM', async () => {
    const { child, pid, dir, exited } = await startChild();
    child.kill('SIGTERM');
    expect(await exited).toBe('SIGTERM');
    expect(running(pid)).toBe(false);
    expect(existsSync(dir)).toBe(false);
  });
});
