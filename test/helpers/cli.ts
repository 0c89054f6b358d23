// Runs the real bin/portalctl as a separate process, with a clean environment:
// no terminal, no colour, the clock and the store given explicitly. Kept for
// what only a process shows (exit codes end to end, signals, races, killed
// processes); everything else runs in-process through run.ts.
//
// The store is named by PORTALCTL_DB, so it does not exist until `portals add`
// creates it: every other command refuses a missing named store (exit 2,
// store_missing). Start a sandbox with `sb.run(GRANTS)`.

import { execa, type Result } from 'execa';
import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tempDir } from './tmp.js';

export const BIN = resolve(import.meta.dirname, '../../bin/portalctl');

export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface Sandbox {
  dir: string;
  db: string;
  mailDir: string;
  env: Record<string, string>;
  run(args: string[], opts?: { env?: Record<string, string | undefined>; input?: string; now?: string }): Promise<RunResult>;
  json<T = any>(args: string[], opts?: { env?: Record<string, string | undefined>; now?: string }): Promise<T>;
  cleanup(): void;
}

/** The sandbox's "now" (PORTALCTL_NOW), and a time `days` after it, as ISO 8601 UTC. */
export const T0 = '2026-11-28T14:00:00Z';
export const at = (days: number): string => new Date(Date.parse(T0) + days * 86400_000).toISOString();

export function sandbox(extraEnv: Record<string, string> = {}): Sandbox {
  const dir = tempDir('portalctl-test');
  const db = join(dir, 'store', 'portalctl.db');
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: dir,
    TZ: 'America/New_York',
    LANG: 'C.UTF-8',
    PORTALCTL_DB: db,
    PORTALCTL_NOW: T0,
    ...extraEnv,
  };
  const sb: Sandbox = {
    dir,
    db,
    mailDir: join(dir, 'store', 'mail'),
    env,
    async run(args, opts = {}) {
      const e: Record<string, string | undefined> = { ...env, ...(opts.now ? { PORTALCTL_NOW: opts.now } : {}), ...opts.env };
      const r: Result = await execa('node', [BIN, ...args], {
        env: Object.fromEntries(Object.entries(e).filter(([, v]) => v !== undefined)) as Record<string, string>,
        extendEnv: false,
        reject: false,
        input: opts.input ?? '',
        timeout: 60_000,
      });
      return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
    },
    async json(args, opts) {
      const r = await sb.run(['--json', ...args], opts);
      if (r.exitCode !== 0) throw new Error(`portalctl ${args.join(' ')} exited ${r.exitCode}: ${r.stderr}`);
      return JSON.parse(r.stdout);
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return sb;
}

export const GRANTS = ['portals', 'add', 'grants', '--name', 'Grants Portal', '--url', 'https://grants.example.org', '--admin-email', 'admin@example.org'];
