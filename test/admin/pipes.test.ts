// A reader that goes away (`| head`) through a real shell pipe: portalctl
// exits quietly with 0 — no EPIPE stack trace — as gh, kubectl and coreutils
// do, and work that changes the store is finished all the same.

import Database from 'better-sqlite3';
import { execa } from 'execa';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, GRANTS, T0, at, sandbox, type Sandbox } from '../helpers/cli.js';
import { seedPeople } from './support.js';

let sb: Sandbox;
beforeAll(async () => {
  sb = sandbox();
  await sb.run(GRANTS);
  // Far more than a pipe's 64 kB buffer in every format.
  await seedPeople(sb, 1500, T0);
});
afterAll(() => sb.cleanup());

/** `portalctl ARGS | READER` in bash: what the reader printed, portalctl's stderr and its exit status. */
async function piped(args: string, reader: string, box: Sandbox = sb) {
  const script = `node ${JSON.stringify(BIN)} ${args} 2>"$ERR" | ${reader}; echo "\${PIPESTATUS[0]}" >"$STATUS"`;
  const errFile = join(box.dir, 'stderr.txt');
  const statusFile = join(box.dir, 'status.txt');
  const r = await execa('bash', ['-c', script], { env: { ...box.env, ERR: errFile, STATUS: statusFile }, extendEnv: false, reject: false });
  return { out: String(r.stdout), stderr: readFileSync(errFile, 'utf8'), status: Number(readFileSync(statusFile, 'utf8').trim()) };
}

describe('a closed pipe', () => {
  it('users list | head -3', async () => {
    const r = await piped('users list', 'head -3');
    expect(r.out.split('\n')).toHaveLength(3);
    expect(r.out).toMatch(/^ID\tName\tEmail\tUsername\/ID \(Login Service\)/);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('users list --json | head -c 100', async () => {
    const r = await piped('users list --json', 'head -c 100');
    expect(r.out).toHaveLength(100);
    expect(r.out.startsWith('{"users": [')).toBe(true);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('users list --csv | head -1', async () => {
    const r = await piped('users list --csv', 'head -1');
    expect(r.out).toMatch(/^id,first_name,last_name,email/);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('audit | head', async () => {
    const r = await piped('audit', 'head');
    expect(r.out.split('\n')).toHaveLength(10);
    expect(r.out).toMatch(/^When\tWho\tAction/);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('help users list | head -2', async () => {
    const r = await piped('help users list', 'head -2');
    expect(r.out.split('\n')[0]).toBe('Usage: portalctl users list [options]');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  // bin/portalctl answers these two without main() and its guarded streams.
  it.each([
    ['--version', 'true'],
    ['--version --json', 'true'],
    ["__complete users -- ''", 'true'],
  ])('%s | %s: the fast paths exit quietly too', async (args, reader) => {
    const r = await piped(args, reader);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('prune --yes | head -1 still removes everyone due', async () => {
    const other = sandbox();
    try {
      await other.run(GRANTS);
      await seedPeople(other, 1500, at(-40));
      const r = await piped('prune --yes', 'head -1', other);
      expect(r.status).toBe(0);
      expect(r.stderr).toContain('Removed 1500 users');
      const db = new Database(other.db, { readonly: true });
      expect((db.prepare('SELECT count(*) AS n FROM users').get() as { n: number }).n).toBe(0);
      db.close();
    } finally {
      other.cleanup();
    }
  });

  it('users invite --from-csv | head -1 invites and writes every email', async () => {
    const other = sandbox();
    try {
      await other.run(GRANTS);
      const csv = join(other.dir, 'people.csv');
      writeFileSync(csv, `email,first_name,last_name\n${Array.from({ length: 300 }, (_, i) => `q${i}@example.org,Q,Person ${i}`).join('\n')}\n`);
      const r = await piped(`users invite --from-csv ${csv}`, 'head -1', other);
      expect(r.status).toBe(0);
      expect(r.stderr).toContain('Invited 300 people');
      expect(r.stderr).toContain('300 registration emails written');
      const db = new Database(other.db, { readonly: true });
      expect((db.prepare("SELECT count(*) AS n FROM outbox WHERE state = 'sent'").get() as { n: number }).n).toBe(300);
      db.close();
    } finally {
      other.cleanup();
    }
  });
});
