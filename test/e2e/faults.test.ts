// Nothing lost, for real: processes killed with SIGKILL in the middle of a
// bulk invite, several processes racing on one store, racing redemptions of
// one link, two `outbox send` at once, a lock held too long. The stores are
// set up in-process; what races or dies is the real bin/portalctl.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { execa, type ResultPromise } from 'execa';
import { BIN, GRANTS, sandbox, type Sandbox } from '../helpers/cli.js';
import { runCli } from '../helpers/run.js';
import { startSmtp, type TestSmtp } from '../helpers/smtp.js';
import { inspect } from '../helpers/store.js';
import { closedPort } from '../helpers/ports.js';

let smtp: TestSmtp;
beforeAll(async () => {
  smtp = await startSmtp();
});
afterAll(async () => {
  await smtp.close();
});

/** A sandbox with the grants portal, made in-process. */
async function store(env: Record<string, string> = {}): Promise<Sandbox> {
  const sb = sandbox(env);
  expect((await runCli(GRANTS, sb.env)).exitCode).toBe(0);
  return sb;
}

function csv(sb: Sandbox, name: string, n: number, domain: string): string {
  const f = join(sb.dir, name);
  writeFileSync(f, `email,first_name,last_name\n${Array.from({ length: n }, (_, i) => `p${i}@${domain},P,${i}`).join('\n')}\n`);
  return f;
}

const spawn = (sb: Sandbox, args: string[]): ResultPromise => execa('node', [BIN, ...args], { env: sb.env, extendEnv: false, reject: false });

describe('killed in the middle of a bulk invite', () => {
  it('with SIGKILL while the emails go out, then run again: everyone invited once, every email delivered, one valid link each', async () => {
    const sb = await store({ PORTALCTL_SMTP_URL: smtp.url });
    try {
      const n = 120;
      const f = csv(sb, 'bulk.csv', n, 'kill.example.org');
      const start = smtp.messages.length;
      const child = spawn(sb, ['users', 'invite', '--from-csv', f, '--yes']);
      await smtp.waitFor(start + 30);
      child.kill('SIGKILL');
      await child;
      let s = inspect(sb.db);
      expect(s).toMatchObject({ integrity: 'ok', users: n, orphanUsers: 0, orphanRegs: 0, dupActive: 0, twoLinks: 0 });
      expect(s.queued).toBeGreaterThan(0);

      const again = await runCli(['users', 'invite', '--from-csv', f, '--yes'], sb.env);
      expect(again.exitCode, again.stderr).toBe(0);
      expect(again.stderr).toContain(`Skipped ${n} addresses that already have a profile`);
      s = inspect(sb.db);
      expect(s).toMatchObject({ users: n, queued: 0, failed: [], twoLinks: 0 });
      const got = smtp.messages.slice(start).map((m) => (m.to as { text: string }).text);
      expect(new Set(got).size).toBe(n);
      // Only a message the server accepted in the instant before the kill, not
      // yet marked sent, can go out twice (SMTP has no idempotency); its second
      // copy carries the one valid link. At most one per pooled connection.
      expect(got.length - n).toBeLessThanOrEqual(5);
      for (const who of ['p7@kill.example.org', `p${n - 1}@kill.example.org`]) {
        const r = await runCli(['link', smtp.linkFor(who), '--service', 'nih', '--account', who.split('@')[0]!], sb.env);
        expect(r.exitCode, r.stderr).toBe(0);
      }
    } finally {
      sb.cleanup();
    }
  });

  it('killed at any point — starting, recording, sending — leaves an intact store with nobody half-made; a re-run completes it', async () => {
    const sb = await store({ PORTALCTL_SMTP_URL: smtp.url });
    try {
      const n = 25;
      const f = csv(sb, 'r.csv', n, 'random.example.org');
      // Kill points: as soon as the process exists, and after the 1st, 8th and 16th email of its run.
      for (const after of [0, 1, 8, 16]) {
        const start = smtp.messages.length;
        const child = spawn(sb, ['users', 'invite', '--from-csv', f, '--yes']);
        if (after > 0) await Promise.race([smtp.waitFor(start + after), child]);
        child.kill('SIGKILL');
        await child;
        const s = inspect(sb.db);
        expect(s).toMatchObject({ integrity: 'ok', orphanUsers: 0, orphanRegs: 0, dupActive: 0, twoLinks: 0 });
        expect([0, n]).toContain(s.users);
      }
      const done = await runCli(['users', 'invite', '--from-csv', f, '--yes'], sb.env);
      expect(done.exitCode, done.stderr).toBe(0);
      expect(inspect(sb.db)).toMatchObject({ users: n, queued: 0 });
    } finally {
      sb.cleanup();
    }
  });
});

describe('several processes on one store', () => {
  it('invites, set-removal-days, prunes and a listing at once: no "database is locked", no lost write', async () => {
    const sb = await store();
    try {
      // Old unlinked users for the prunes to remove.
      for (let i = 0; i < 5; i++)
        await runCli(['users', 'invite', '--email', `old${i}@example.org`, '--first-name', 'O', '--last-name', String(i)], {
          ...sb.env,
          PORTALCTL_NOW: '2026-09-01T00:00:00Z',
        });
      const results = await Promise.all([
        ...Array.from({ length: 6 }, (_, i) => spawn(sb, ['users', 'invite', '--email', `new${i}@example.org`, '--first-name', 'N', '--last-name', String(i)])),
        spawn(sb, ['prune', '--yes']),
        spawn(sb, ['prune', '--yes']),
        spawn(sb, ['users', 'list']),
        ...Array.from({ length: 3 }, (_, i) => spawn(sb, ['users', 'set-removal-days', `old${i}@example.org`, '10'])),
      ]);
      for (const r of results) expect(String(r.stderr)).not.toMatch(/locked|busy/i);
      for (const r of results.slice(0, 6)) expect(r.exitCode, String(r.stderr)).toBe(0);
      expect(inspect(sb.db)).toMatchObject({ integrity: 'ok', orphanUsers: 0, orphanRegs: 0, dupActive: 0 });
      const emails = JSON.parse((await runCli(['--json', 'users', 'list'], sb.env)).stdout).users.map((u: { email: string }) => u.email);
      for (let i = 0; i < 6; i++) expect(emails).toContain(`new${i}@example.org`);
      // Each old user was either pruned or had its countdown restarted — never both, never neither lost.
      const audit = JSON.parse((await runCli(['--json', 'audit'], sb.env)).stdout).audit as { action: string; userEmail: string }[];
      for (let i = 0; i < 5; i++) {
        const mine = audit.filter((a) => a.userEmail === `old${i}@example.org`).map((a) => a.action);
        expect(emails.includes(`old${i}@example.org`)).toBe(!mine.includes('prune'));
      }
    } finally {
      sb.cleanup();
    }
  });

  it('four processes redeem one link at once: exactly one wins, the others are told link_used (none crashes or waits)', async () => {
    const sb = await store({ PORTALCTL_SMTP_URL: smtp.url });
    try {
      await runCli(['users', 'invite', '--email', 'race@example.org', '--first-name', 'Ra', '--last-name', 'Ce'], sb.env);
      const link = smtp.linkFor('race@example.org');
      const results = await Promise.all(
        ['racer1', 'racer2', 'racer3', 'racer4'].map((a) => spawn(sb, ['--json', 'link', link, '--service', 'nih', '--account', a])),
      );
      expect(results.map((r) => r.signal)).toEqual([undefined, undefined, undefined, undefined]);
      expect(results.filter((r) => r.exitCode === 0)).toHaveLength(1);
      expect(results.filter((r) => r.exitCode !== 0).map((r) => JSON.parse(String(r.stderr)).error.code)).toEqual(['link_used', 'link_used', 'link_used']);
    } finally {
      sb.cleanup();
    }
  });

  it('two `outbox send` at once (an administrator and cron): every queued email goes out exactly once', async () => {
    const sb = await store();
    try {
      const n = 40;
      const down = await runCli(['users', 'invite', '--from-csv', csv(sb, 'q.csv', n, 'twice.example.org'), '--yes'], {
        ...sb.env,
        PORTALCTL_SMTP_URL: `smtp://127.0.0.1:${await closedPort()}`,
      });
      expect(down.exitCode).toBe(75);
      expect(inspect(sb.db).queued).toBe(n);
      const start = smtp.messages.length;
      sb.env.PORTALCTL_SMTP_URL = smtp.url;
      const both = await Promise.all([spawn(sb, ['outbox', 'send']), spawn(sb, ['outbox', 'send'])]);
      for (const r of both) expect(r.exitCode, String(r.stderr)).toBe(0);
      const got = smtp.messages.slice(start).map((m) => (m.to as { text: string }).text);
      expect(got).toHaveLength(n);
      expect(new Set(got).size).toBe(n);
      expect(inspect(sb.db).queued).toBe(0);
    } finally {
      sb.cleanup();
    }
  });

  it('a lock held past the busy timeout is a clear error, exit 1, nothing half-done', async () => {
    const sb = await store();
    try {
      const holder = new Database(sb.db);
      holder.pragma('busy_timeout = 0');
      holder.exec('BEGIN IMMEDIATE');
      try {
        const r = await sb.run(['users', 'invite', '--email', 'blocked@example.org', '--first-name', 'B', '--last-name', 'L'], {
          env: { PORTALCTL_BUSY_TIMEOUT_MS: '300' },
        });
        expect(r.exitCode).toBe(1);
        expect(r.stderr).toMatch(
          /^error: The store ".*" stayed locked by another process for more than 300 ms; nothing was changed: "blocked@example\.org" was not invited\. Try again\.$/,
        );
      } finally {
        holder.exec('ROLLBACK');
        holder.close();
      }
      expect(inspect(sb.db).users).toBe(0);
    } finally {
      sb.cleanup();
    }
  });
});
