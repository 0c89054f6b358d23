// A real PostgreSQL 15 server for the tests: a throwaway cluster in a temporary
// folder, run as an unprivileged user (PostgreSQL refuses root), that never
// outlives the process that started it.
//
// - startPostgres() makes a private cluster: for tests that restart, stop or
//   otherwise disturb the server.
// - sharedPostgres() returns the one cluster per test run that the globalSetup
//   file test/setup/postgres.ts starts on first use; it offers only the
//   operations that cannot disturb other test files (databases, SQL,
//   terminating the backends of one database).
//
// TCP on 127.0.0.1 needs a password (scram-sha-256) for the role `portalctl`;
// the harness itself is the superuser `postgres` over the unix socket (trust:
// the socket folder is private to the server user, and root).
//
// Cleanup, in three layers: destroy() (or stop()) in the tests; a process
// 'exit' hook that stops every cluster this process started; and the kernel's
// parent-death signal (setpriv --pdeathsig SIGQUIT), so a SIGKILLed or crashed
// test process takes its postmaster with it. Folders left by a crashed run
// are swept by the next startPostgres().

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  chownSync,
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

declare module 'vitest' {
  export interface ProvidedContext {
    /** URL of the globalSetup's broker that starts the shared cluster on first request (test/setup/postgres.ts). */
    postgresBroker: string;
  }
}

/** PORTALCTL_PG_BINDIR, else Debian's PostgreSQL 15, else the newest Debian PostgreSQL installed. */
export const PG_BINDIR = process.env.PORTALCTL_PG_BINDIR ?? debianBindir();
function debianBindir(): string {
  const preferred = '/usr/lib/postgresql/15/bin';
  if (existsSync(join(preferred, 'postgres'))) return preferred;
  try {
    const newest = readdirSync('/usr/lib/postgresql')
      .filter((v) => /^\d+$/.test(v) && existsSync(join('/usr/lib/postgresql', v, 'bin', 'postgres')))
      .sort((a, b) => Number(b) - Number(a))[0];
    if (newest) return join('/usr/lib/postgresql', newest, 'bin');
  } catch {
    /* none */
  }
  return preferred;
}
export const APP_ROLE = 'portalctl';
export const DEFAULT_PASSWORD = 'portalctl-test-password';
const SUPERUSER = 'postgres';
/** application_name of the harness's own connections, which terminateBackends() spares. */
export const HARNESS_APP = 'portalctl-test-harness';
const PREFIX = 'portalctl-pg-';
const TEMPLATE_PREFIX = 'portalctl-pgtemplate-';

/** Plain data (structured-clone safe): what a test needs to reach a cluster. */
export interface PgClusterInfo {
  host: '127.0.0.1';
  port: number;
  /** Folder of the unix socket (superuser, trust). */
  socketDir: string;
  /** The cluster's temporary folder: data/, sock/, postgres.log, pgpass. */
  dir: string;
  /** Role for the code under test: password-only over TCP. */
  user: string;
  password: string;
  /** A 0600 password file for 127.0.0.1:port (use as PGPASSFILE). */
  passfile: string;
  superuser: string;
  /** SHOW server_version, e.g. "15.14 (Debian 15.14-0+deb12u1)". */
  version: string;
}

/** Operations that do not disturb other users of the same cluster. */
export interface PgServer extends PgClusterInfo {
  /** postgres://portalctl@127.0.0.1:PORT/dbname — no password in it. */
  url(dbname: string): string;
  /**
   * CREATE DATABASE owned by `portalctl`, copied from `template` (template1 by
   * default; any database nobody is connected to will do, e.g. one migrated
   * once and reused). Returns url(name).
   */
  createDatabase(name?: string, opts?: { template?: string }): Promise<string>;
  /** DROP DATABASE ... WITH (FORCE). */
  dropDatabase(name: string): Promise<void>;
  /** Runs `text` as the superuser in `dbname` and returns the rows. */
  sql<T = Record<string, unknown>>(dbname: string, text: string, params?: unknown[]): Promise<T[]>;
  /** pg_terminate_backend of every connection to `dbname` but the harness's; waits for them to go. Returns how many. */
  terminateBackends(dbname: string): Promise<number>;
}

export type StopMode = 'smart' | 'fast' | 'immediate';

export interface PgCluster extends PgServer {
  /** The postmaster's pid, or undefined while stopped. */
  readonly pid: number | undefined;
  /** Stops the server (fast by default; immediate = crash-like) and starts it again on the same port. */
  restart(opts?: { mode?: StopMode }): Promise<void>;
  /** Stops the server, keeping its data: the port then refuses connections. */
  stop(opts?: { mode?: StopMode }): Promise<void>;
  /** Starts a stopped server again on the same port. */
  start(): Promise<void>;
  /** Stops the server (immediately) and removes its folder. Idempotent. */
  destroy(): Promise<void>;
  /** Plain, serializable connection info (for provide/inject). */
  info(): PgClusterInfo;
}

export interface StartOptions {
  /** Password of the `portalctl` role. */
  password?: string;
  /** Extra server settings (postgres -c name=value), over the fast defaults. */
  settings?: Record<string, string | number | boolean>;
  /** Where the cluster's folder goes (default os.tmpdir()). */
  baseDir?: string;
  /** Reuse an initdb'd template cluster kept in baseDir across runs (default true). */
  templateCache?: boolean;
}

// Durability off and a small footprint: the data is thrown away anyway.
const FAST_SETTINGS: Record<string, string> = {
  fsync: 'off',
  synchronous_commit: 'off',
  full_page_writes: 'off',
  wal_level: 'minimal',
  max_wal_senders: '0',
  shared_buffers: '32MB',
  max_connections: '200',
  jit: 'off',
  max_parallel_workers_per_gather: '0',
  checkpoint_timeout: '1h',
  max_wal_size: '1GB',
  log_min_messages: 'warning',
  log_line_prefix: '%m [%p] %q%u@%d ',
};

// ---------------------------------------------------------------- server user

interface ServerUser {
  name: string;
  uid: number;
  gid: number;
}

/**
 * Who runs the server: the current user, or when we are root (PostgreSQL
 * refuses root) PORTALCTL_PG_USER, default `nobody` — present on every Debian,
 * created by nothing, and owning nothing else we care about.
 */
function serverUser(): ServerUser {
  const uid = process.getuid!();
  if (uid !== 0) return { name: String(uid), uid, gid: process.getgid!() };
  const name = process.env.PORTALCTL_PG_USER ?? 'nobody';
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.split(':')[0] === name);
  if (!line) throw new Error(`PostgreSQL cannot run as root and there is no user "${name}" to run it as (set PORTALCTL_PG_USER)`);
  const [, , u, g] = line.split(':');
  return { name, uid: Number(u), gid: Number(g) };
}

let setprivPath: string | null | undefined;
function setpriv(): string | null {
  if (setprivPath === undefined) setprivPath = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p)) ?? null;
  return setprivPath;
}

/** argv that runs `cmd` as the server user and delivers `deathSignal` to it if we die. */
function asServerUser(user: ServerUser, cmd: string, args: string[], deathSignal: string): [string, string[]] {
  const sp = setpriv();
  const drop = process.getuid!() === 0 ? [`--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups'] : [];
  if (!sp) {
    if (drop.length) throw new Error('running the tests as root needs setpriv (util-linux) to start PostgreSQL as another user');
    return [cmd, args];
  }
  return [sp, [...drop, '--pdeathsig', deathSignal, '--', cmd, ...args]];
}

// A clean environment: nothing from the caller's PG* variables, a fixed locale and zone.
const serverEnv = (): NodeJS.ProcessEnv => ({ PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C', TZ: 'UTC' });

function run(user: ServerUser, cmd: string, args: string[], cwd: string): void {
  const [file, argv] = asServerUser(user, cmd, args, 'SIGKILL');
  const r = spawnSync(file, argv, { cwd, env: serverEnv(), encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.error?.message ?? `exit ${r.status}`}):\n${r.stdout}${r.stderr}`);
}

// ---------------------------------------------------------------- cleanup

// vitest ends its fork workers with SIGTERM, which skips 'exit' hooks: catch
// the terminating signals too, clean up, then die of the signal as before
// (unless someone else handles it, then it is theirs to decide).
const live = new Set<Cluster>();
const TERMINATING = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;
const destroyAllSync = () => {
  for (const c of live) c.destroySync();
};
function onSignal(sig: NodeJS.Signals): void {
  const alone = process.listeners(sig).every((l) => l === onSignal);
  destroyAllSync(); // which unhooks
  unhook();
  if (alone) process.kill(process.pid, sig);
}
function track(c: Cluster): void {
  if (live.size === 0) {
    process.on('exit', destroyAllSync);
    for (const s of TERMINATING) process.on(s, onSignal);
  }
  live.add(c);
}
function untrack(c: Cluster): void {
  if (live.delete(c) && live.size === 0) unhook();
}
function unhook(): void {
  process.off('exit', destroyAllSync);
  for (const s of TERMINATING) process.off(s, onSignal);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A zombie (dead, not yet reaped) still answers kill 0.
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

function isPostgres(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('postgres');
  } catch {
    return false;
  }
}

const sleepSync = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/** SIGQUIT a postmaster (immediate shutdown), SIGKILL after 3 s; synchronous, for exit hooks. */
function killPostmasterSync(pid: number, pidFile: string): void {
  if (!alive(pid) || !isPostgres(pid)) return;
  try {
    process.kill(pid, 'SIGQUIT');
  } catch {
    return;
  }
  for (let i = 0; i < 300 && existsSync(pidFile) && alive(pid); i++) sleepSync(10);
  if (alive(pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

/**
 * Removes cluster folders in `base` whose owning process is gone (a crashed or
 * killed test run), stopping any postmaster still running in them.
 */
export function sweepStaleClusters(base = tmpdir()): string[] {
  const swept: string[] = [];
  let names: string[];
  try {
    names = readdirSync(base).filter((n) => n.startsWith(PREFIX));
  } catch {
    return swept;
  }
  for (const n of names) {
    const dir = join(base, n);
    try {
      let owner: number | undefined;
      try {
        owner = JSON.parse(readFileSync(join(dir, 'owner.json'), 'utf8')).pid;
      } catch {
        // Crashed between mkdtemp and writing owner.json: give it a minute.
        if (Date.now() - statSync(dir).mtimeMs < 60_000) continue;
      }
      if (owner !== undefined && alive(owner)) continue;
      const pidFile = join(dir, 'data', 'postmaster.pid');
      if (existsSync(pidFile)) {
        const pm = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
        if (pm > 0) killPostmasterSync(pm, pidFile);
      }
      rmSync(dir, { recursive: true, force: true });
      swept.push(dir);
    } catch {
      /* not ours to remove, or racing another sweeper */
    }
  }
  return swept;
}

// ---------------------------------------------------------------- helpers

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', resolve);
  });
  const { port } = srv.address() as { port: number };
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

const quoteIdent = (s: string) => `"${s.replace(/"/g, '""')}"`;
const quoteLiteral = (s: string) => `'${s.replace(/'/g, "''")}'`;
const pgpassEscape = (s: string) => s.replace(/\\/g, '\\\\').replace(/:/g, '\\:');

function logTail(file: string): string {
  try {
    return readFileSync(file, 'utf8').slice(-3000);
  } catch {
    return '(no log)';
  }
}

async function withAdmin<T>(info: Pick<PgClusterInfo, 'socketDir' | 'port' | 'superuser'>, database: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({
    host: info.socketDir,
    port: info.port,
    user: info.superuser,
    database,
    application_name: HARNESS_APP,
    ssl: false,
    connectionTimeoutMillis: 10_000,
  });
  c.on('error', () => {}); // a server going away under us is reported by the query that fails
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end().catch(() => {});
  }
}

/** The shared-safe operations over plain connection info. */
export function pgServer(info: PgClusterInfo): PgServer {
  const url = (dbname: string) => `postgres://${encodeURIComponent(info.user)}@${info.host}:${info.port}/${encodeURIComponent(dbname)}`;
  return {
    ...info,
    url,
    async createDatabase(name = `t_${randomBytes(6).toString('hex')}`, opts = {}) {
      const template = opts.template ?? 'template1';
      // FILE_COPY: ~40 ms against ~110 ms for the default WAL_LOG on a small template (fsync is off).
      const text = `CREATE DATABASE ${quoteIdent(name)} OWNER ${quoteIdent(info.user)} TEMPLATE ${quoteIdent(template)} STRATEGY FILE_COPY`;
      // 55006: someone is still connected to the template (often a client that just disconnected).
      for (let attempt = 0; ; attempt++) {
        try {
          await withAdmin(info, 'postgres', (c) => c.query(text));
          return url(name);
        } catch (e) {
          if ((e as { code?: string }).code !== '55006' || attempt >= 50) throw e;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    },
    async dropDatabase(name) {
      await withAdmin(info, 'postgres', (c) => c.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`));
    },
    async sql<T>(dbname: string, text: string, params?: unknown[]) {
      return withAdmin(info, dbname, async (c) => (await c.query(text, params)).rows as T[]);
    },
    async terminateBackends(dbname) {
      const rows = await withAdmin(
        info,
        'postgres',
        async (c) =>
          (
            await c.query(
              `SELECT pg_terminate_backend(pid, 5000) AS done FROM pg_stat_activity
              WHERE datname = $1 AND pid <> pg_backend_pid() AND application_name <> $2`,
              [dbname, HARNESS_APP],
            )
          ).rows,
      );
      return rows.length;
    },
  };
}

// ---------------------------------------------------------------- the cluster

/** An initdb'd data folder, made once per server user, binaries and options, and copied per cluster. */
function initdbArgs(dataDir: string): string[] {
  return ['-D', dataDir, '-U', SUPERUSER, '--no-sync', '--no-instructions', '--auth-local=trust', '--auth-host=scram-sha-256', '--locale=C', '--encoding=UTF8'];
}

function templateKey(user: ServerUser): string {
  const st = statSync(join(PG_BINDIR, 'postgres'));
  const h = createHash('sha256')
    .update(JSON.stringify([PG_BINDIR, st.size, st.mtimeMs, initdbArgs('X'), user.uid]))
    .digest('hex')
    .slice(0, 16);
  return `${TEMPLATE_PREFIX}${user.uid}-${h}`;
}

/** Fills dir/data: a copy of the cached template, or initdb (then cached). */
function makeDataDir(user: ServerUser, base: string, dir: string, useCache: boolean): void {
  const data = join(dir, 'data');
  const cache = join(base, templateKey(user));
  const cachedData = join(cache, 'data');
  const usable = (() => {
    if (!useCache || !existsSync(cache)) return false;
    try {
      const st = statSync(cachedData);
      // Ours, and not writable by anyone else: then a copy of it is a clean initdb.
      if (st.uid === user.uid && (st.mode & 0o077) === 0 && existsSync(join(cachedData, 'PG_VERSION'))) return true;
    } catch {
      /* incomplete */
    }
    try {
      rmSync(cache, { recursive: true, force: true }); // unusable: make room for ours
    } catch {
      /* not ours to remove; the rename below fails and we keep using initdb */
    }
    return false;
  })();
  if (usable) {
    const r = spawnSync('cp', ['-a', cachedData, data], { encoding: 'utf8' });
    if (r.status === 0) return;
    rmSync(data, { recursive: true, force: true });
  }
  if (!useCache) return run(user, join(PG_BINDIR, 'initdb'), initdbArgs(data), dir);
  // initdb inside our own folder (swept if we crash), then publish atomically.
  const staging = join(dir, 'template');
  mkdirSync(staging, { mode: 0o700 });
  if (process.getuid!() === 0) chownSync(staging, user.uid, user.gid);
  run(user, join(PG_BINDIR, 'initdb'), initdbArgs(join(staging, 'data')), dir);
  const r = spawnSync('cp', ['-a', join(staging, 'data'), data], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cp -a failed: ${r.stderr}`);
  try {
    renameSync(staging, cache);
  } catch {
    rmSync(staging, { recursive: true, force: true }); // another process published first
  }
}

class Cluster implements PgCluster {
  child: ChildProcess | undefined;
  private destroyed = false;
  private server: PgServer;
  readonly host = '127.0.0.1' as const;
  readonly user = APP_ROLE;
  readonly superuser = SUPERUSER;
  readonly socketDir: string;
  readonly passfile: string;
  version = '';

  constructor(
    readonly dir: string,
    public port: number,
    readonly password: string,
    private readonly serverUser: ServerUser,
    private readonly settings: Record<string, string>,
  ) {
    this.socketDir = join(dir, 'sock');
    this.passfile = join(dir, 'pgpass');
    this.server = pgServer(this.info());
  }

  get pid() {
    return this.child?.exitCode === null && this.child.signalCode === null ? this.child.pid : undefined;
  }
  private get pidFile() {
    return join(this.dir, 'data', 'postmaster.pid');
  }
  private get logFile() {
    return join(this.dir, 'postgres.log');
  }

  info(): PgClusterInfo {
    const { host, port, socketDir, dir, user, password, passfile, superuser, version } = this;
    return { host, port, socketDir, dir, user, password, passfile, superuser, version };
  }
  url(dbname: string) {
    return this.server.url(dbname);
  }
  createDatabase(name?: string, opts?: { template?: string }) {
    return this.server.createDatabase(name, opts);
  }
  dropDatabase(name: string) {
    return this.server.dropDatabase(name);
  }
  sql<T = Record<string, unknown>>(dbname: string, text: string, params?: unknown[]) {
    return this.server.sql<T>(dbname, text, params);
  }
  terminateBackends(dbname: string) {
    return this.server.terminateBackends(dbname);
  }

  /** Starts the postmaster and resolves once it accepts connections (postmaster.pid says "ready"). */
  async start(): Promise<void> {
    if (this.destroyed) throw new Error('cluster destroyed');
    if (this.pid) return;
    const args = [
      '-D',
      join(this.dir, 'data'),
      '-c',
      `port=${this.port}`,
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      `unix_socket_directories=${this.socketDir}`,
    ];
    for (const [k, v] of Object.entries(this.settings)) args.push('-c', `${k}=${v}`);
    const [file, argv] = asServerUser(this.serverUser, join(PG_BINDIR, 'postgres'), args, 'SIGQUIT');
    const log = openSync(this.logFile, 'a');
    const child = spawn(file, argv, { cwd: this.dir, env: serverEnv(), stdio: ['ignore', log, log] });
    closeSync(log);
    child.unref(); // the exit hook, not the event loop, keeps it in check
    this.child = child;
    const exited = new Promise<never>((_, reject) => {
      child.once('error', reject);
      child.once('exit', (code, signal) => reject(new Error(`postgres exited during start-up (${signal ?? `exit ${code}`}):\n${logTail(this.logFile)}`)));
    });
    exited.catch(() => {});
    const ready = (async () => {
      const deadline = Date.now() + 30_000;
      for (;;) {
        try {
          // Line 1 of postmaster.pid is the postmaster's pid (setpriv execs it, so it is
          // the child's), line 8 its status: "starting", "ready", "stopping".
          const lines = readFileSync(this.pidFile, 'utf8').split('\n');
          if (Number(lines[0]) === child.pid && lines[7]?.trim() === 'ready') return;
        } catch {
          /* not written yet */
        }
        if (Date.now() > deadline) throw new Error(`postgres not ready after 30 s:\n${logTail(this.logFile)}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    await Promise.race([ready, exited]);
  }

  async stop({ mode = 'fast' }: { mode?: StopMode } = {}): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill(mode === 'smart' ? 'SIGTERM' : mode === 'fast' ? 'SIGINT' : 'SIGQUIT');
    const timer = setTimeout(() => child.kill('SIGKILL'), mode === 'smart' ? 60_000 : 10_000);
    await gone;
    clearTimeout(timer);
  }

  async restart(opts: { mode?: StopMode } = {}): Promise<void> {
    await this.stop(opts);
    await this.start();
  }

  async destroy(): Promise<void> {
    if (this.destroyed) return;
    await this.stop({ mode: 'immediate' });
    this.destroyed = true;
    untrack(this);
    rmSync(this.dir, { recursive: true, force: true });
  }

  destroySync(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    untrack(this);
    const pid = this.pid;
    if (pid) killPostmasterSync(pid, this.pidFile);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * A fresh PostgreSQL cluster in a temporary folder, on 127.0.0.1:<free port>.
 * Call destroy() when done; it is stopped anyway when this process exits or dies.
 */
export async function startPostgres(opts: StartOptions = {}): Promise<PgCluster> {
  if (!existsSync(join(PG_BINDIR, 'postgres'))) {
    throw new Error(`PostgreSQL server binaries not found in ${PG_BINDIR} (apt-get install postgresql, or set PORTALCTL_PG_BINDIR)`);
  }
  const base = opts.baseDir ?? tmpdir();
  sweepStaleClusters(base);
  const user = serverUser();
  const dir = mkdtempSync(join(base, PREFIX));
  writeFileSync(join(dir, 'owner.json'), JSON.stringify({ pid: process.pid, started: new Date().toISOString() }));
  if (join(dir, 'sock', '.s.PGSQL.65535').length > 107) throw new Error(`socket path too long for a unix socket; use a shorter baseDir than ${base}`);
  const settings: Record<string, string> = { ...FAST_SETTINGS };
  for (const [k, v] of Object.entries(opts.settings ?? {})) settings[k] = typeof v === 'boolean' ? (v ? 'on' : 'off') : String(v);
  const password = opts.password ?? DEFAULT_PASSWORD;
  let cluster: Cluster | undefined;
  try {
    mkdirSync(join(dir, 'sock'), { mode: 0o700 });
    if (process.getuid!() === 0) {
      chownSync(dir, user.uid, user.gid);
      chownSync(join(dir, 'sock'), user.uid, user.gid);
    }
    makeDataDir(user, base, dir, opts.templateCache ?? true);
    // The port is free when chosen but could be taken before postgres binds it: try a few.
    for (let attempt = 0; ; attempt++) {
      cluster = new Cluster(dir, await freePort(), password, user, settings);
      track(cluster);
      try {
        await cluster.start();
        break;
      } catch (e) {
        untrack(cluster);
        if (attempt >= 4 || !/could not bind|Address already in use/.test(String(e))) throw e;
      }
    }
    await withAdmin(cluster, 'postgres', async (c) => {
      await c.query(`CREATE ROLE ${quoteIdent(APP_ROLE)} LOGIN CREATEDB PASSWORD ${quoteLiteral(password)}`);
      cluster!.version = (await c.query('SHOW server_version')).rows[0].server_version;
    });
    writeFileSync(cluster.passfile, `${cluster.host}:${cluster.port}:*:${pgpassEscape(APP_ROLE)}:${pgpassEscape(password)}\n`, { mode: 0o600 });
    return cluster;
  } catch (e) {
    if (cluster) await cluster.destroy().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

let shared: Promise<PgServer> | undefined;
/**
 * The run's shared cluster, started by test/setup/postgres.ts on the first
 * request from any test file. Create a database per test file (or per test).
 */
export function sharedPostgres(): Promise<PgServer> {
  shared ??= (async () => {
    const { inject } = await import('vitest'); // imported late: the rest of this file runs in plain Node too
    const broker = inject('postgresBroker');
    if (!broker) throw new Error('no shared PostgreSQL: add test/setup/postgres.ts to globalSetup in vitest.config.ts');
    const res = await fetch(broker);
    if (!res.ok) throw new Error(`shared PostgreSQL failed to start: ${await res.text()}`);
    return pgServer((await res.json()) as PgClusterInfo);
  })();
  return shared;
}
