// Runs portalctl in-process, through the real main(), with streams, a
// terminal (or not), answers to prompts and an environment of the test's
// choosing. Milliseconds per command instead of a process start: most
// behaviour is tested this way; spawned processes (cli.ts) are kept for exit
// codes, signals, races, killed processes and real terminals.

import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { Command } from 'commander';
import { inject } from 'vitest';
import { main } from '../../src/cli/main.js';
import type { RawInput } from '../../src/commands/command.js';
import { PortalctlError } from '../../src/errors.js';
import { recordingProgress, type Progress } from '../../src/runtime/progress.js';
import { scriptedPrompter } from '../../src/runtime/prompter.js';
import { openStore } from '../../src/store/open.js';
import type { Store, StoreKind } from '../../src/store/types.js';
import { sharedPostgres, type PgServer } from './postgres.js';
import { tempDir } from './tmp.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Which store world() gives: 'postgres' in the "postgres" project (vitest.config.ts), else SQLite. */
    testStore?: StoreKind;
  }
}

/**
 * The store world() gives this run: SQLite (a file in a temporary folder), or
 * with the "postgres" project (or PORTALCTL_TEST_STORE=postgres) a new
 * database on the run's shared PostgreSQL server.
 */
export function testStore(): StoreKind {
  // Asked each time, not once per module: with isolate: false a worker's modules outlive one file.
  return (inject('testStore') ?? process.env.PORTALCTL_TEST_STORE) === 'postgres' ? 'postgres' : 'sqlite';
}
export const onPostgres = (): boolean => testStore() === 'postgres';

let pgServer: PgServer | undefined;
/**
 * An empty database for the next world, made while the test before it runs
 * (CREATE DATABASE takes a round trip to the server and a copy of
 * template1: ~0.1–0.3 s that the first command would otherwise wait for).
 */
let spare: { name: string; created: Promise<unknown> } | undefined;
let template: Promise<string> | undefined;
/** A database migrated once per worker, copied for each world (CREATE DATABASE … TEMPLATE): `portals add` then needs no migration. */
function migratedTemplate(server: PgServer): Promise<string> {
  template ??= (async () => {
    // Random, not pid + time: the in-process workers are threads of one process and start in the same millisecond.
    const name = `tplw_${randomBytes(6).toString('hex')}`;
    const s = await openStore({ value: await server.createDatabase(name), explicit: true }, { create: true, password: server.password, env: {} });
    await s.close();
    return name;
  })();
  // A failure is the test's that asked, not every later one's: the next world tries again.
  template.catch(() => {
    template = undefined;
  });
  return template;
}
function makeDatabase(server: PgServer): { name: string; created: Promise<unknown> } {
  const name = `w_${randomBytes(6).toString('hex')}`;
  const created = migratedTemplate(server).then((t) => server.createDatabase(name, { template: t }));
  created.catch(() => {}); // reported by the first run that waits for it
  return { name, created };
}
function takeDatabase(server: PgServer): { name: string; created: Promise<unknown> } {
  const taken = spare ?? makeDatabase(server);
  spare = makeDatabase(server);
  return taken;
}

/** Reaches the shared cluster once per worker (test/setup/world-postgres.ts calls it before each file). */
export async function preparePostgresWorlds(): Promise<void> {
  if (onPostgres()) pgServer ??= await sharedPostgres();
}

export interface RunOptions {
  env?: Record<string, string | undefined>;
  /** stdin and stdout (and stderr) are a terminal. */
  tty?: boolean;
  /** The terminal's width (with tty). */
  columns?: number;
  /** Answers to prompts, in order (strings for input/select, booleans for confirm, 'cancel' for Ctrl-C). */
  answers?: (string | boolean)[];
  /** What stdin holds (not a terminal). */
  input?: string;
  now?: string;
  /** Aborted when the test says "Ctrl-C" (see interrupt()). */
  interrupt?: InterruptHandle;
  /** Called with each progress update (tty runs): a test can press Ctrl-C at a chosen moment. */
  onProgress?: (text: string) => void;
  /** Waiting between polls (events --follow); see ticker(). */
  wait?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** The clock itself (instead of PORTALCTL_NOW): a test can count how often a run reads it. */
  clock?: () => Date;
}

export interface InterruptHandle {
  fire(): void;
  /** Set by the run once the command asked for interrupts. */
  armed: boolean;
}

export function interruptHandle(): InterruptHandle {
  let abort: ((signal: string) => void) | undefined;
  const h: InterruptHandle & { attach(a: (s: string) => void): void } = {
    armed: false,
    fire() {
      abort?.('SIGINT');
    },
    attach(a) {
      abort = a;
      h.armed = true;
    },
  };
  return h;
}

/**
 * A hand-stepped wait for polling commands: each wait resolves when the test
 * calls tick() (or when the run is interrupted), so a poll happens exactly
 * when the test says — no sleeping, no busy loop.
 */
export interface Ticker {
  wait: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Lets the waiting poll go on; resolves once the command waits again (or has ended). */
  tick(): Promise<void>;
  /** Resolves when the command is waiting. */
  waiting(): Promise<void>;
  /** How many times the command has waited. */
  waits: number;
}

export function ticker(): Ticker {
  let release: (() => void) | undefined;
  let onWait: (() => void)[] = [];
  const t: Ticker = {
    waits: 0,
    wait: (_ms, signal) =>
      new Promise<void>((resolve) => {
        t.waits += 1;
        const done = () => {
          release = undefined;
          resolve();
        };
        release = done;
        signal.addEventListener('abort', done, { once: true });
        for (const w of onWait) w();
        onWait = [];
      }),
    waiting: () => (release ? Promise.resolve() : new Promise<void>((r) => onWait.push(r))),
    async tick() {
      const before = t.waits;
      release?.();
      // The poll runs, then the command waits again.
      while (t.waits === before) await new Promise<void>((r) => onWait.push(r));
    },
  };
  return t;
}

export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** The prompts that were asked. */
  asked: string[];
  /** Progress updates shown. */
  progress: string[];
}

function watchedProgress(inner: Progress, watch?: (text: string) => void): Progress {
  if (!watch) return inner;
  return async (text) => {
    watch(text);
    const h = await inner(text);
    return {
      update(t) {
        h.update(t);
        watch(t);
      },
      stop: () => h.stop(),
    };
  };
}

function sink(into: Buffer[]): Writable {
  return new Writable({
    write(chunk, _enc, done) {
      into.push(Buffer.from(chunk));
      done();
    },
  });
}

export const T0 = '2026-11-28T14:00:00Z';
export const at = (days: number): string => new Date(Date.parse(T0) + days * 86_400_000).toISOString();

export async function runCli(argv: string[], env: Record<string, string | undefined>, o: RunOptions = {}): Promise<RunResult> {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const stdin = new PassThrough();
  stdin.end(o.input ?? '');
  const asked: string[] = [];
  const progress: string[] = [];
  const tty = Boolean(o.tty);
  const fullEnv = Object.fromEntries(
    Object.entries({ ...env, ...o.env, ...(o.now ? { PORTALCTL_NOW: o.now } : {}) }).filter(([, v]) => v !== undefined),
  ) as NodeJS.ProcessEnv;
  const exitCode = await main(argv, {
    streams: {
      stdin,
      stdout: sink(out),
      stderr: sink(err),
      stdinIsTTY: tty,
      stdoutIsTTY: tty,
      stderrIsTTY: tty,
      columns: tty ? (o.columns ?? 160) : undefined,
    },
    env: fullEnv,
    prompter: scriptedPrompter([...(o.answers ?? [])], asked),
    progress: tty ? watchedProgress(recordingProgress(progress), o.onProgress) : undefined,
    onInterrupt: (abort) => (o.interrupt as unknown as { attach?(a: (s: string) => void): void })?.attach?.(abort),
    wait: o.wait,
    clock: o.clock,
  });
  return { exitCode, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), asked, progress };
}

/** A store in a temporary folder (or a database of its own) and the environment that points portalctl at it. */
export interface World {
  dir: string;
  /** Which store PORTALCTL_DB names. */
  kind: StoreKind;
  /** The SQLite path or the postgres:// URL (no password in it): PORTALCTL_DB. */
  db: string;
  mailDir: string;
  env: Record<string, string>;
  run(argv: string[], o?: RunOptions): Promise<RunResult>;
  /** Runs with --json and parses stdout; fails the test on a non-zero exit. */
  json<T = any>(argv: string[], o?: RunOptions): Promise<T>;
  /** Opens the store through the store API (for setting up or inspecting what no command shows); close it after. */
  openStore(): Promise<Store>;
  close(): void;
}

/**
 * A new world, no portal in it yet. SQLite: the store does not exist yet, as
 * a named store a user has not created (`portals add` creates the file).
 * PostgreSQL: a database of the world's own holding an empty store (made
 * ahead from a migrated template: a migration per test would cost more than
 * the test). `extra` may name another store.
 */
export function world(extra: Record<string, string> = {}): World {
  const dir = tempDir('portalctl-test');
  let db = join(dir, 'store', 'portalctl.db');
  let mailDir = join(dir, 'store', 'mail');
  let created: Promise<unknown> = Promise.resolve();
  let dbname: string | undefined;
  const pgEnv: Record<string, string> = {};
  if (onPostgres() && extra.PORTALCTL_DB === undefined) {
    if (!pgServer) throw new Error('world() on PostgreSQL needs test/setup/world-postgres.ts in the project setupFiles');
    const server = pgServer;
    const next = takeDatabase(server);
    dbname = next.name;
    created = next.created;
    db = server.url(dbname);
    mailDir = join(dir, 'data', 'portalctl', 'mail');
    pgEnv.PGPASSWORD = server.password;
    created.catch(() => {}); // reported by the first run that waits for it
  }
  const env: Record<string, string> = {
    HOME: dir,
    XDG_CONFIG_HOME: join(dir, 'config'),
    XDG_DATA_HOME: join(dir, 'data'),
    TZ: 'America/New_York',
    PORTALCTL_DB: db,
    PORTALCTL_NOW: T0,
    ...pgEnv,
    ...extra,
  };
  const kind: StoreKind = /^postgres(ql)?:\/\//i.test(env.PORTALCTL_DB ?? '') ? 'postgres' : 'sqlite';
  const w: World = {
    dir,
    kind,
    db,
    mailDir,
    env,
    run: async (argv, o) => {
      await created;
      return runCli(argv, w.env, o);
    },
    async json(argv, o) {
      const r = await w.run(['--json', ...argv], o);
      if (r.exitCode !== 0) throw new Error(`portalctl ${argv.join(' ')} exited ${r.exitCode}: ${r.stderr}`);
      return JSON.parse(r.stdout);
    },
    async openStore() {
      await created;
      return openStore({ value: w.env.PORTALCTL_DB!, explicit: true }, { create: false, env: w.env });
    },
    close() {
      rmSync(dir, { recursive: true, force: true });
      // Not waited for: DROP DATABASE waits for a checkpoint; the cluster goes with the run anyway.
      if (dbname) void created.then(() => pgServer?.dropDatabase(dbname!)).catch(() => {});
    },
  };
  return w;
}

export const GRANTS = ['portals', 'add', 'grants', '--name', 'Grants Portal', '--url', 'https://grants.example.org', '--admin-email', 'admin@example.org'];

/** Piped output of a table: one record per line, keyed by the header line. */
export function tsv(stdout: string): Record<string, string>[] {
  const [head, ...lines] = stdout.replace(/\n$/, '').split('\n');
  if (!head) return [];
  const keys = head.split('\t');
  return lines.map((l) => Object.fromEntries(l.split('\t').map((v, i) => [keys[i] ?? String(i), v])));
}

/** Terminal output without its colour and cursor codes. */
export const strip = (s: string): string => s.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '');

/** The lines of a boxed table as a terminal shows them. */
export const boxLines = (s: string): string[] =>
  strip(s)
    .split('\n')
    .filter((l) => /^[│┌├└]/.test(l));

const msgId = (file: string) => Number(/-msg(\d+)-/.exec(file)?.[1] ?? 0);

/** The newest .eml file in the mail folder. */
export function newestEml(mailDir: string): string {
  const files = readdirSync(mailDir)
    .filter((f) => f.endsWith('.eml'))
    .map((f) => join(mailDir, f))
    .sort((a, b) => statSync(a).mtimeMs - statSync(b).mtimeMs || msgId(a) - msgId(b));
  if (files.length === 0) throw new Error(`no .eml file in ${mailDir}`);
  return files[files.length - 1]!;
}

/** The Step 2 link of the newest .eml file written for `to`. */
export function emlLinkFor(mailDir: string, to: string): string {
  const files = readdirSync(mailDir)
    .filter((f) => f.endsWith('.eml'))
    .map((f) => join(mailDir, f))
    .map((f) => ({
      f,
      text: readFileSync(f, 'utf8')
        .replace(/=\r?\n/g, '')
        .replace(/=3D/g, '='),
    }))
    .filter((x) => new RegExp(`^To: ${to.replace(/[.+]/g, '\\$&')}$`, 'mi').test(x.text))
    .sort((a, b) => statSync(a.f).mtimeMs - statSync(b.f).mtimeMs || msgId(a.f) - msgId(b.f));
  const last = files[files.length - 1];
  const link = last && /https?:\/\/\S+\?token=[A-Za-z0-9_-]{27}/.exec(last.text)?.[0];
  if (!link) throw new Error(`no .eml with a Step 2 link to ${to} in ${mailDir}`);
  return link;
}

/** What commander would hand a command's parse(): its positional arguments and options (camel-cased). */
export function rawInput(args: unknown[] = [], options: Record<string, unknown> = {}): RawInput {
  return { args, options, program: new Command('portalctl') };
}

/** The error code a function throws (sync or async), or 'ok'. */
export async function codeOf(fn: () => unknown): Promise<string> {
  try {
    await fn();
    return 'ok';
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
}

/** The error a function throws: a test failure if it does not throw. */
export function thrown(fn: () => unknown): PortalctlError {
  try {
    fn();
  } catch (err) {
    if (err instanceof PortalctlError) return err;
    throw err;
  }
  throw new Error('expected an error, got none');
}
