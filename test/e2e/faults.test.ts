// Nothing lost: each fault injected for real — an SMTP server that refuses
// connections, answers 421/451/550 or hangs up after DATA; processes killed
// with SIGKILL mid-bulk-invite; several processes racing on one store.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { execa } from 'execa';
import { BIN, GRANTS, sandbox, type Sandbox } from '../helpers/cli.js';
import { startSmtp, type TestSmtp } from '../helpers/smtp.js';

let smtp: TestSmtp;
beforeAll(async () => {
  smtp = await startSmtp();
});
afterAll(async () => {
  await smtp.close();
});

async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

function inspect(db: string) {
  const d = new Database(db, { readonly: true });
  try {
    return {
      integrity: d.pragma('integrity_check', { simple: true }),
      users: (d.prepare('SELECT count(*) AS n FROM users').get() as { n: number }).n,
      // A half-made user: no registration; a registration with no email queued or sent.
      orphanUsers: (
        d.prepare('SELECT count(*) AS n FROM users u WHERE NOT EXISTS (SELECT 1 FROM registrations r WHERE r.user_id = u.id)').get() as { n: number }
      ).n,
      orphanRegs: (
        d
          .prepare("SELECT count(*) AS n FROM registrations r WHERE NOT EXISTS (SELECT 1 FROM outbox o WHERE o.registration_id = r.id) AND r.state = 'active'")
          .get() as { n: number }
      ).n,
      queued: (d.prepare("SELECT count(*) AS n FROM outbox WHERE state = 'queued'").get() as { n: number }).n,
      failed: d.prepare("SELECT last_error FROM outbox WHERE state = 'failed'").all() as { last_error: string }[],
      dupActive: (
        d.prepare("SELECT count(*) AS n FROM (SELECT user_id FROM registrations WHERE state = 'active' GROUP BY user_id HAVING count(*) > 1)").get() as {
          n: number;
        }
      ).n,
    };
  } finally {
    d.close();
  }
}

const person = (sb: Sandbox, email: string, env: Record<string, string> = {}) =>
  sb.run(['users', 'invite', '--email', email, '--first-name', 'Pat', '--last-name', 'Smith'], { env });

describe('a mail server that fails', () => {
  let sb: Sandbox;
  beforeAll(async () => {
    sb = sandbox();
    await sb.run(GRANTS);
  });
  afterAll(() => sb.cleanup());

  it('connection refused: the invitation is kept, the email queued, exit 75; outbox send delivers it later with a working link', async () => {
    const port = await closedPort();
    const r = await person(sb, 'refused@example.org', { PORTALCTL_SMTP_URL: `smtp://127.0.0.1:${port}` });
    expect(r.exitCode).toBe(75);
    expect(r.stderr).toMatch(/queued.*portalctl outbox send/);
    expect(r.stdout.split('\n')[1]).toContain('refused@example.org');
    const list = await sb.json(['outbox', 'list']);
    expect(list.messages).toEqual([expect.objectContaining({ to: 'refused@example.org', state: 'queued', attempts: 1 })]);
    expect(list.messages[0].lastError).toMatch(/ECONNREFUSED|connect/i);

    const before = smtp.messages.length;
    const send = await sb.run(['outbox', 'send'], { env: { PORTALCTL_SMTP_URL: smtp.url } });
    expect(send.exitCode, send.stderr).toBe(0);
    expect(smtp.messages.length - before).toBe(1);
    expect((await sb.json(['outbox', 'list'])).messages).toEqual([]);
    const again = await sb.run(['outbox', 'send'], { env: { PORTALCTL_SMTP_URL: smtp.url } });
    expect(again.exitCode).toBe(0);
    expect(smtp.messages.length - before).toBe(1); // never delivered twice
    const link = await sb.run(['link', smtp.linkFor('refused@example.org'), '--service', 'nih', '--account', 'refused']);
    expect(link.exitCode, link.stderr).toBe(0);
  });

  it.each([
    ['421 at greeting', { kind: 'greeting', code: 421 }],
    ['451 for the recipient', { kind: 'rcpt', code: 451, message: 'Temporary local problem' }],
    ['452 after DATA', { kind: 'data', code: 452, message: 'Insufficient system storage' }],
    ['a dropped socket after DATA', { kind: 'drop-after-data' }],
  ] as const)('%s: queued, exit 75, nothing lost', async (_name, fault) => {
    const email = `t${Math.random().toString(36).slice(2, 8)}@example.org`;
    smtp.fault = fault as never;
    try {
      const r = await person(sb, email, { PORTALCTL_SMTP_URL: smtp.url });
      expect(r.exitCode, r.stderr).toBe(75);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    } finally {
      smtp.fault = { kind: 'none' };
    }
    const s = inspect(sb.db);
    expect(s).toMatchObject({ integrity: 'ok', orphanUsers: 0, orphanRegs: 0, dupActive: 0 });
    const send = await sb.run(['outbox', 'send'], { env: { PORTALCTL_SMTP_URL: smtp.url } });
    expect(send.exitCode, send.stderr).toBe(0);
    expect((await sb.run(['link', smtp.linkFor(email), '--service', 'ims', '--account', email.split('@')[0]!])).exitCode).toBe(0);
  });

  it("550 for the recipient: the message is marked failed with the server's reason (exit 1); outbox list shows it", async () => {
    smtp.fault = { kind: 'rcpt', code: 550, message: 'No such user here' };
    try {
      const r = await person(sb, 'nosuch@example.org', { PORTALCTL_SMTP_URL: smtp.url });
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toContain('No such user here');
      expect(r.stderr).toContain('resend-registration');
    } finally {
      smtp.fault = { kind: 'none' };
    }
    const list = await sb.json(['outbox', 'list']);
    expect(list.messages).toEqual([expect.objectContaining({ to: 'nosuch@example.org', state: 'failed' })]);
    expect(list.messages[0].lastError).toContain('550');
    // The registration is kept; sending to a corrected address works.
    const fix = await sb.run(['users', 'resend-registration', 'nosuch@example.org', '--email', 'such@example.org'], { env: { PORTALCTL_SMTP_URL: smtp.url } });
    expect(fix.exitCode, fix.stderr).toBe(0);
    expect((await sb.json(['outbox', 'list'])).messages).toEqual([]);
  });

  it('never prints the SMTP password, --debug included', async () => {
    const port = await closedPort();
    const url = `smtp://mailer:S3cr3t-pw@127.0.0.1:${port}`;
    for (const args of [
      ['users', 'invite', '--email', 'pw@example.org', '--first-name', 'P', '--last-name', 'W'],
      ['--debug', 'outbox', 'send'],
      ['--json', 'outbox', 'send'],
    ]) {
      const r = await sb.run(args, { env: { PORTALCTL_SMTP_URL: url } });
      expect(r.exitCode).toBe(75);
      expect(r.stdout + r.stderr).not.toContain('S3cr3t-pw');
    }
    expect(JSON.stringify((await sb.json(['outbox', 'list'])).messages)).not.toContain('S3cr3t-pw');
  });

  it('a password file must be mode 0600', async () => {
    const f = join(sb.dir, 'smtp-pass');
    writeFileSync(f, 'S3cr3t-pw\n', { mode: 0o644 });
    const r = await person(sb, 'pf@example.org', { PORTALCTL_SMTP_URL: `smtp://mailer@127.0.0.1:${smtp.port}`, PORTALCTL_SMTP_PASSWORD_FILE: f });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('chmod 600');
    expect(r.stderr).not.toContain('S3cr3t-pw');
  });
});

describe('bulk CSV invites', () => {
  it('validates the whole file first: every bad line named, nobody invited, exit 2', async () => {
    const sb = sandbox();
    try {
      await sb.run(GRANTS);
      const f = join(sb.dir, 'bad.csv');
      writeFileSync(
        f,
        'email,first_name,last_name\nok@example.org,Ok,Person\nnot-an-address,A,B\n"x@example.org, y@example.org",C,D\nok@example.org,Dup,Licate\nz@example.org,,E\n',
      );
      const r = await sb.run(['users', 'invite', '--from-csv', f]);
      expect(r.exitCode).toBe(2);
      for (const n of [3, 4, 5, 6]) expect(r.stderr).toContain(`line ${n}:`);
      expect(r.stderr).not.toContain('line 2:');
      expect(inspect(sb.db).users).toBe(0);
    } finally {
      sb.cleanup();
    }
  });

  it('accepts BOM, CRLF and quoted fields; skips and reports addresses that already have a profile', async () => {
    const sb = sandbox();
    try {
      await sb.run(GRANTS);
      await person(sb, 'already@example.org');
      const f = join(sb.dir, 'people.csv');
      writeFileSync(f, '\uFEFFemail,first_name,last_name\r\n"a@example.org","Ann, Jr.",Lee\r\nALREADY@example.org,Al,Ready\r\nb@example.org,"Bo ""B""",Ng\r\n');
      const r = await sb.run(['--json', 'users', 'invite', '--from-csv', f]);
      expect(r.exitCode, r.stderr).toBe(0);
      const doc = JSON.parse(r.stdout);
      expect(doc.users.map((u: { firstName: string }) => u.firstName)).toEqual(['Ann, Jr.', 'Bo "B"']);
      expect(doc.skipped).toEqual([{ line: 3, email: 'ALREADY@example.org', userId: 1 }]);
      const text = await sb.run(['users', 'invite', '--from-csv', f]);
      expect(text.exitCode).toBe(0);
      expect(text.stderr).toContain('Skipped 3 addresses that already have a profile');
    } finally {
      sb.cleanup();
    }
  });

  it('killed with SIGKILL half-way and run again: everyone invited exactly once and every email delivered', async () => {
    const sb = sandbox({ PORTALCTL_SMTP_URL: smtp.url });
    try {
      await sb.run(GRANTS);
      const n = 120;
      const f = join(sb.dir, 'bulk.csv');
      writeFileSync(f, `email,first_name,last_name\n${Array.from({ length: n }, (_, i) => `bulk${i}@kill.example.org,B,${i}`).join('\n')}\n`);
      const start = smtp.messages.length;
      const child = execa('node', [BIN, 'users', 'invite', '--from-csv', f, '--yes'], { env: sb.env, extendEnv: false, reject: false });
      await smtp.waitFor(start + 30);
      child.kill('SIGKILL');
      await child;
      let s = inspect(sb.db);
      expect(s).toMatchObject({ integrity: 'ok', users: n, orphanUsers: 0, orphanRegs: 0, dupActive: 0 });
      expect(s.queued).toBeGreaterThan(0);

      const again = await sb.run(['users', 'invite', '--from-csv', f, '--yes']);
      expect(again.exitCode, again.stderr).toBe(0);
      s = inspect(sb.db);
      expect(s).toMatchObject({ users: n, queued: 0, failed: [] });
      const got = smtp.messages.slice(start).map((m) => (m.to as { text: string }).text);
      expect(new Set(got).size).toBe(n);
      // Only a message the server accepted in the instant before the kill, not
      // yet marked sent, can go out twice (SMTP has no idempotency); its second
      // copy carries the one valid link. At most one per pooled connection.
      expect(got.length - n).toBeLessThanOrEqual(4);
      // Each person's newest link works: one valid link each.
      expect((await sb.run(['link', smtp.linkFor('bulk7@kill.example.org'), '--service', 'nih', '--account', 'b7'])).exitCode).toBe(0);
      expect((await sb.run(['link', smtp.linkFor(`bulk${n - 1}@kill.example.org`), '--service', 'nih', '--account', 'blast'])).exitCode).toBe(0);
    } finally {
      sb.cleanup();
    }
  });
});

describe('killed at any point', () => {
  it('a bulk invite killed at random moments leaves an intact store with no half-made user, and a re-run completes it', async () => {
    const sb = sandbox({ PORTALCTL_SMTP_URL: smtp.url });
    try {
      await sb.run(GRANTS);
      const n = 25;
      const f = join(sb.dir, 'r.csv');
      writeFileSync(f, `email,first_name,last_name\n${Array.from({ length: n }, (_, i) => `r${i}@random.example.org,R,${i}`).join('\n')}\n`);
      // Kill points spread over start-up, recording and delivery (a timer, not a clock dependence).
      for (const ms of [40, 100, 160, 250, 400, 550, 700]) {
        const child = execa('node', [BIN, 'users', 'invite', '--from-csv', f, '--yes'], { env: sb.env, extendEnv: false, reject: false });
        const timer = setTimeout(() => child.kill('SIGKILL'), ms);
        await child;
        clearTimeout(timer);
        const s = inspect(sb.db);
        expect(s).toMatchObject({ integrity: 'ok', orphanUsers: 0, orphanRegs: 0, dupActive: 0 });
        expect([0, n]).toContain(s.users);
      }
      const done = await sb.run(['users', 'invite', '--from-csv', f, '--yes']);
      expect(done.exitCode, done.stderr).toBe(0);
      expect(inspect(sb.db)).toMatchObject({ users: n, queued: 0 });
    } finally {
      sb.cleanup();
    }
  });
});

describe('several processes on one store', () => {
  it('invites, links and prunes at once: no "database is locked", no lost write', async () => {
    const sb = sandbox();
    try {
      await sb.run(GRANTS);
      // Old unlinked users for the prune to remove.
      for (let i = 0; i < 5; i++) await person(sb, `old${i}@example.org`, { PORTALCTL_NOW: '2026-09-01T00:00:00Z' });
      const jobs = [
        ...Array.from({ length: 8 }, (_, i) => person(sb, `new${i}@example.org`)),
        sb.run(['prune', '--yes']),
        sb.run(['prune', '--yes']),
        sb.run(['users', 'list']),
        ...Array.from({ length: 3 }, (_, i) => sb.run(['users', 'set-removal-days', `old${i}@example.org`, '10'])),
      ];
      const results = await Promise.all(jobs);
      for (const r of results) {
        expect(r.stderr).not.toMatch(/locked|busy/i);
      }
      for (const r of results.slice(0, 8)) expect(r.exitCode, r.stderr).toBe(0);
      const s = inspect(sb.db);
      expect(s).toMatchObject({ integrity: 'ok', orphanUsers: 0, orphanRegs: 0, dupActive: 0 });
      const emails = (await sb.json(['users', 'list'])).users.map((u: { email: string }) => u.email);
      for (let i = 0; i < 8; i++) expect(emails).toContain(`new${i}@example.org`);
      // Each old user was either pruned or had its countdown restarted — never both lost.
      const audit = (await sb.json(['audit'])).audit as { action: string; userEmail: string }[];
      for (let i = 0; i < 5; i++) {
        const mine = audit.filter((a) => a.userEmail === `old${i}@example.org`).map((a) => a.action);
        expect(emails.includes(`old${i}@example.org`)).toBe(!mine.includes('prune'));
      }
    } finally {
      sb.cleanup();
    }
  });

  it('two `outbox send` at once (an admin and cron): every queued email goes out exactly once', async () => {
    const sb = sandbox();
    try {
      await sb.run(GRANTS);
      const n = 40;
      const f = join(sb.dir, 'q.csv');
      writeFileSync(f, `email,first_name,last_name\n${Array.from({ length: n }, (_, i) => `q${i}@twice.example.org,Q,${i}`).join('\n')}\n`);
      const down = await sb.run(['users', 'invite', '--from-csv', f, '--yes'], { env: { PORTALCTL_SMTP_URL: `smtp://127.0.0.1:${await closedPort()}` } });
      expect(down.exitCode).toBe(75);
      expect(inspect(sb.db).queued).toBe(n);
      const start = smtp.messages.length;
      const both = await Promise.all([0, 1].map(() => sb.run(['outbox', 'send'], { env: { PORTALCTL_SMTP_URL: smtp.url } })));
      for (const r of both) expect(r.exitCode, r.stderr).toBe(0);
      const got = smtp.messages.slice(start).map((m) => (m.to as { text: string }).text);
      expect(got).toHaveLength(n);
      expect(new Set(got).size).toBe(n);
      expect(inspect(sb.db).queued).toBe(0);
    } finally {
      sb.cleanup();
    }
  });

  it('a lock held past the busy timeout is a clear error, exit 1, nothing half-done', async () => {
    const sb = sandbox();
    try {
      await sb.run(GRANTS);
      const holder = new Database(sb.db);
      holder.pragma('busy_timeout = 0');
      holder.exec('BEGIN IMMEDIATE');
      try {
        const r = await person(sb, 'blocked@example.org');
        expect(r.exitCode).toBe(1);
        expect(r.stderr).toMatch(/stayed locked by another portalctl process .* nothing was changed/);
      } finally {
        holder.exec('ROLLBACK');
        holder.close();
      }
      expect(inspect(sb.db).users).toBe(0);
    } finally {
      sb.cleanup();
    }
  }, 20_000);
});
