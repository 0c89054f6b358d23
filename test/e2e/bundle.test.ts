// bin/portalctl runs dist/bundle/portalctl.cjs with the compiled code the
// build saved beside it (bin/load-bundle.cjs, scripts/bundle.mjs). These
// tests hold the two promises that make that safe: the saved code is what V8
// takes for this very file, and a file changed after the build never runs
// with the code of the old one. And --debug's stack traces name the
// TypeScript source, not a column of the minified bundle.

import { execa } from 'execa';
import { copyFileSync, cpSync, existsSync, readFileSync, rmSync, symlinkSync, writeFileSync, utimesSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { Script } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/tmp.js';
import { GRANTS, sandbox } from '../helpers/cli.js';
import { startSmtp } from '../helpers/smtp.js';

const ROOT = resolve(import.meta.dirname, '../..');
const LOADER = join(ROOT, 'bin', 'load-bundle.cjs');
const BUNDLE = join(ROOT, 'dist', 'bundle', 'portalctl.cjs');
const { cacheFileFor } = createRequire(import.meta.url)(LOADER) as { cacheFileFor(f: string): string };

const wrap = (source: string) => `(function (exports, require, module, __filename, __dirname, __portalctlImport) {${source}\n})`;

describe('the bundle bin/portalctl runs', () => {
  it('has its compiled code beside it, and V8 takes it', async () => {
    const cachedData = readFileSync(cacheFileFor(BUNDLE));
    const script = new Script(wrap(readFileSync(BUNDLE, 'utf8')), { filename: BUNDLE, cachedData });
    expect(script.cachedDataRejected).toBe(false);
  });

  it('so has the PostgreSQL driver, in a file of its own', async () => {
    const driver = join(ROOT, 'dist', 'bundle', 'pg.cjs');
    const script = new Script(wrap(readFileSync(driver, 'utf8')), { filename: driver, cachedData: readFileSync(cacheFileFor(driver)) });
    expect(script.cachedDataRejected).toBe(false);
  });

  it('a bundle changed after the build runs as it is now, not with the old compiled code', async () => {
    const dir = tempDir('bundle-');
    const copy = join(dir, 'portalctl.cjs');
    copyFileSync(BUNDLE, copy);
    const built = new Date('2026-01-01T00:00:00Z');
    utimesSync(copy, built, built);
    const builtName = cacheFileFor(copy);
    copyFileSync(cacheFileFor(BUNDLE), builtName); // the build's code, filed for the copy
    // The same length: V8 itself takes the old code for the new text (it compares lengths only).
    const before = readFileSync(copy, 'utf8');
    expect(before).toContain('show help for a command');
    writeFileSync(copy, before.replace('show help for a command', 'SHOW HELP FOR A COMMAND'));
    const later = new Date('2026-01-02T00:00:00Z');
    utimesSync(copy, later, later);
    expect(cacheFileFor(copy)).not.toBe(builtName);

    const help = await execa(
      process.execPath,
      [
        '-e',
        `require(${JSON.stringify(LOADER)}).loadBundle('portalctl.cjs', { dir: ${JSON.stringify(dir)} }).main(['--help']).then((c) => { process.exitCode = c; })`,
      ],
      {
        reject: false,
      },
    );
    expect(help.exitCode).toBe(0);
    expect(help.stdout).toContain('SHOW HELP FOR A COMMAND');
  });
});

describe('what a command loads', () => {
  /** The built-in modules the command loaded: Node's own list, written as the process exits. */
  async function builtinsLoadedBy(args: string[]): Promise<Set<string>> {
    const sb = sandbox();
    try {
      expect((await sb.run(GRANTS)).exitCode).toBe(0);
      const invite = await sb.run(['users', 'invite', '--email', 'jane.doe@example.org', '--first-name', 'Jane', '--last-name', 'Doe']);
      expect(invite.exitCode, invite.stderr).toBe(0);
      const list = join(sb.dir, 'modules.json');
      const probe = join(sb.dir, 'probe.cjs');
      writeFileSync(probe, `process.on('exit', () => require('fs').writeFileSync(${JSON.stringify(list)}, JSON.stringify(process.moduleLoadList)));`);
      const r = await sb.run(args, { env: { NODE_OPTIONS: `--require ${probe}` } });
      expect(r.exitCode, r.stderr).toBe(0);
      const names = JSON.parse(readFileSync(list, 'utf8')) as string[];
      return new Set(names.filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice('NativeModule '.length)));
    } finally {
      sb.cleanup();
    }
  }

  it('a look-up does not load what it does not use: crypto, child processes, V8 heap settings', async () => {
    const loaded = await builtinsLoadedBy(['users', 'whoami-login', 'jane.doe@example.org']);
    for (const m of ['crypto', 'child_process', 'v8']) expect(loaded.has(m), m).toBe(false);
  });

  it('--version writes to its output directly: no stream is built for the pipe it is read through (node:net)', async () => {
    const loaded = await builtinsLoadedBy(['--version']);
    expect(loaded.has('net')).toBe(false);
    expect((await builtinsLoadedBy(['users', 'whoami-login', 'jane.doe@example.org'])).has('net')).toBe(true);
  });

  it('a listing of the whole store keeps its heap small (node:v8, runtime/heap.ts)', async () => {
    expect((await builtinsLoadedBy(['users', 'list'])).has('v8')).toBe(true);
  });
});

describe('--debug', () => {
  it("a stack trace names the TypeScript files and lines it came from, the bundle's libraries included", async () => {
    const sb = sandbox();
    try {
      const missing = await sb.run(['--debug', 'users', 'list', '--db', join(sb.dir, 'no-such-dir', 'store.db')]);
      expect(missing.exitCode).toBe(2);
      expect(missing.stderr).toMatch(/^error: There is no store at /);
      expect(missing.stderr).toMatch(/\n {4}at openSqlite \(.*src\/store\/sqlite\/open\.ts:\d+:\d+\)\n/);
      expect(missing.stderr).not.toContain('portalctl.cjs');
      // A command that imports a library left outside the bundle (csv-parse) under --debug.
      expect((await sb.run(GRANTS)).exitCode).toBe(0);
      const csv = join(sb.dir, 'people.csv');
      writeFileSync(csv, 'email,first_name,last_name\na@example.org,A,B\n"b@example.org,C,D\n');
      const bad = await sb.run(['--debug', 'users', 'invite', '--from-csv', csv, '--yes']);
      expect(bad.exitCode).toBe(2);
      expect(bad.stderr).toMatch(/line 3: a double quote opens a field that is never closed/);
      expect(bad.stderr).toMatch(/\n {4}at .*src\/domain\/csv\.ts:\d+:\d+\)\n/);
      // Without --debug: one line, no trace.
      const plain = await sb.run(['users', 'invite', '--from-csv', csv, '--yes']);
      expect(plain.stderr.trim().split('\n')).toHaveLength(1);
    } finally {
      sb.cleanup();
    }
  });
});

/** A copy of this install (bin, dist, migrations, package.json; node_modules linked) with `missing` removed, and a way to run it. */
function damagedInstall(missing: string, env: Record<string, string>) {
  const install = tempDir('install-');
  for (const part of ['bin', 'dist', 'migrations']) cpSync(join(ROOT, part), join(install, part), { recursive: true });
  copyFileSync(join(ROOT, 'package.json'), join(install, 'package.json'));
  symlinkSync(join(ROOT, 'node_modules'), join(install, 'node_modules'));
  rmSync(join(install, missing), { recursive: true });
  return async (args: string[]) => {
    const r = await execa('node', [join(install, 'bin', 'portalctl'), ...args], { env, extendEnv: false, reject: false, timeout: 60_000 });
    return { exitCode: r.exitCode, stdout: String(r.stdout), stderr: String(r.stderr) };
  };
}

// A bulk send talks to the relay from a worker thread (src/mail/threaded.ts), a file of its own
// beside the bundle. An install without it, or a machine that allows no more threads, must
// still deliver: from the main thread, every email once.
describe('an install that lost a part of itself', () => {
  it('without dist/mail/smtp-thread.js a bulk send sends every email once, from the main thread (exit 0, nothing queued)', async () => {
    const smtp = await startSmtp();
    const sb = sandbox();
    try {
      const run = damagedInstall('dist/mail/smtp-thread.js', { ...sb.env, PORTALCTL_SMTP_URL: smtp.url });
      expect((await run(GRANTS)).exitCode).toBe(0);
      const people = Array.from({ length: 7 }, (_, i) => `thread${i}@example.org`);
      const csv = join(sb.dir, 'people.csv');
      writeFileSync(csv, `email,first_name,last_name\n${people.map((e, i) => `${e},Pat,Person${i}`).join('\n')}\n`);
      const r = await run(['users', 'invite', '--from-csv', csv, '--yes']);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stderr).not.toContain('queued');
      await smtp.waitFor(people.length);
      expect(smtp.messages.map((m) => (m.to as { text: string }).text).sort()).toEqual([...people].sort());
      const outbox = await run(['--json', 'outbox', 'list']);
      expect(JSON.parse(outbox.stdout).messages).toEqual([]);
    } finally {
      sb.cleanup();
      await smtp.close();
    }
  });

  it('without its migrations a new store is refused as an incomplete install, not as a path to fix; nothing is created', async () => {
    const sb = sandbox();
    try {
      const run = damagedInstall('migrations', sb.env);
      const r = await run(GRANTS);
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toMatch(
        /^error: portalctl's store migrations cannot be read from ".*\/migrations\/sqlite" \(ENOENT\): this installation of portalctl is incomplete; reinstall it\.$/,
      );
      expect(r.stderr).not.toContain('PORTALCTL_DB');
      expect(existsSync(sb.db)).toBe(false);
    } finally {
      sb.cleanup();
    }
  });
});
