// Races and faults on a PostgreSQL store, with real processes (bin/portalctl,
// built): racing redemptions, concurrent bulk invites, SIGKILL mid-invite, two
// `outbox send`, prune during link — and PostgreSQL's own faults: a server
// restarted mid-run, a connection dropped inside a transaction, a server that
// is down or silent, a wrong password, ten processes creating the schema.

import { writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { at, BIN, GRANTS, sandbox, type Sandbox } from '../helpers/cli.js';
import { sharedPostgres, startPostgres, type PgCluster, type PgServer } from '../helpers/postgres.js';
import { startSmtp, type TestSmtp } from '../helpers/smtp.js';
import { REMINDER_SUBJECT, toOf } from '../lifecycle/fixtures.js';
import { closedPort } from '../helpers/ports.js';
import { gatedSmtp, seedPeople } from '../admin/support.js';

let smtp: TestSmtp;
let pgs: PgServer;
beforeAll(async () => {
  smtp = await startSmtp();
  pgs = await sharedPostgres();
});
afterAll(async () => {
  await smtp.close();
});

interface PgSandbox extends Sandbox {
  url: string;
  dbname: string;
  server: PgServer;
}

/** A sandbox whose store is a new database on `server` (bare: portals add creates the schema). */
async function pgSandbox(server: PgServer = pgs, env: Record<string, string> = {}): Promise<PgSandbox> {
  const url = await server.createDatabase();
  const sb = sandbox({ PORTALCTL_DB: url, PGPASSWORD: server.password, ...env });
  return Object.assign(sb, { url, dbname: new URL(url).pathname.slice(1), server });
}

async function count(sb: PgSandbox, sql: string): Promise<number> {
  return Number((await sb.server.sql<{ n: string }>(sb.dbname, sql))[0]!.n);
}

/** The invariants no fault may break: no half-made user, one active registration each. */
async function inspect(sb: PgSandbox) {
  return {
    users: await count(sb, 'SELECT count(*) AS n FROM users'),
    orphanUsers: await count(sb, 'SELECT count(*) AS n FROM users u WHERE NOT EXISTS (SELECT 1 FROM registrations r WHERE r.user_id = u.id)'),
    orphanRegs: await count(
      sb,
      `SELECT count(*) AS n FROM registrations r WHERE r.state = 'active' AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.registration_id = r.id)`,
    ),
    dupActive: await count(sb, `SELECT count(*) AS n FROM (SELECT user_id FROM registrations WHERE state = 'active' GROUP BY user_id HAVING count(*) > 1) x`),
    queued: await count(sb, `SELECT count(*) AS n FROM outbox WHERE state = 'queued'`),
    auditInvites: await count(sb, `SELECT count(*) AS n FROM audit WHERE action = 'invite'`),
    invitedEvents: await count(sb, `SELECT count(*) AS n FROM events WHERE type = 'invited'`),
  };
}

function csv(sb: Sandbox, name: string, emails: string[]): string {
  const f = join(sb.dir, name);
  writeFileSync(f, `email,first_name,last_name\n${emails.map((e, i) => `${e},P,${i}`).join('\n')}\n`);
  return f;
}

const person = (sb: Sandbox, email: string, env: Record<string, string> = {}) =>
  sb.run(['users', 'invite', '--email', email, '--first-name', 'Pat', '--last-name', 'Smith'], { env });

describe('racing processes on one PostgreSQL store', { timeout: 120_000 }, () => {
  it('racing redemptions of one link: exactly one wins, the others get link_used', async () => {
    const sb = await pgSandbox(pgs, { PORTALCTL_SMTP_URL: smtp.url });
    try {
      expect((await sb.run(GRANTS)).exitCode).toBe(0);
      expect((await person(sb, 'race@pg.example.org')).exitCode).toBe(0);
      const link = smtp.linkFor('race@pg.example.org');
      const results = await Promise.all(['r1', 'r2', 'r3', 'r4', 'r5'].map((a) => sb.run(['--json', 'link', link, '--service', 'nih', '--account', a])));
      const won = results.filter((r) => r.exitCode === 0);
      expect(won).toHaveLength(1);
      for (const r of results.filter((x) => x.exitCode !== 0)) {
        expect(r.exitCode).toBe(1);
        expect(JSON.parse(r.stderr).error.code).toBe('link_used');
      }
      expect(await count(sb, `SELECT count(*) AS n FROM audit WHERE action IN ('link', 'relink')`)).toBe(1);
      expect(await count(sb, `SELECT count(*) AS n FROM events WHERE type IN ('linked', 'relinked')`)).toBe(1);
    } finally {
      sb.cleanup();
      await pgs.dropDatabase(sb.dbname);
    }
  });

  it('concurrent bulk invites with overlapping files: everyone invited once, every email sent once', async () => {
    const sb = await pgSandbox(pgs, { PORTALCTL_SMTP_URL: smtp.url });
    try {
      expect((await sb.run(GRANTS)).exitCode).toBe(0);
      const shared = Array.from({ length: 30 }, (_, i) => `both${i}@bulk.pg.example.org`);
      const files = [0, 1, 2].map((k) =>
        csv(
          sb,
          `b${k}.csv`,
          [...shared, ...Array.from({ length: 20 }, (_, i) => `only${k}-${i}@bulk.pg.example.org`)].sort(() => (k ? -1 : 1)),
        ),
      );
      const start = smtp.messages.length;
      const results = await Promise.all(files.map((f) => sb.run(['users', 'invite', '--from-csv', f, '--yes'])));
      for (const r of results) expect(r.exitCode, r.stderr).toBe(0);
      const n = 30 + 3 * 20;
      expect(await inspect(sb)).toMatchObject({ users: n, orphanUsers: 0, orphanRegs: 0, dupActive: 0, queued: 0, auditInvites: n, invitedEvents: n });
      const got = smtp.messages.slice(start).map((m) => (m.to as { text: string }).text);
      expect(got).toHaveLength(n);
      expect(new Set(got).size).toBe(n);
    } finally {
      sb.cleanup();
      await pgs.dropDatabase(sb.dbname);
    }
  });

  it('SIGKILL mid-invite, then run again: everyone invited exactly once and every email delivered', async () => {
    const sb = await pgSandbox(pgs, { PORTALCTL_SMTP_URL: smtp.url });
    try {
      await sb.run(GRANTS);
      const n = 120;
      const f = csv(
        sb,
        'kill.csv',
        Array.from({ length: n }, (_, i) => `k${i}@kill.pg.example.org`),
      );
      const start = smtp.messages.length;
      const child = execa('node', [BIN, 'users', 'invite', '--from-csv', f, '--yes'], { env: sb.env, extendEnv: false, reject: false });
      await smtp.waitFor(start + 20);
      child.kill('SIGKILL');
      await child;
      let s = await inspect(sb);
      expect(s).toMatchObject({ users: n, orphanUsers: 0, orphanRegs: 0, dupActive: 0 });
      expect(s.queued).toBeGreaterThan(0);
      const again = await sb.run(['users', 'invite', '--from-csv', f, '--yes']);
      expect(again.exitCode, again.stderr).toBe(0);
      s = await inspect(sb);
      expect(s).toMatchObject({ users: n, queued: 0 });
      const got = smtp.messages.slice(start).map((m) => (m.to as { text: string }).text);
      expect(new Set(got).size).toBe(n);
      expect(got.length - n).toBeLessThanOrEqual(5); // only a message accepted in the instant of the kill goes twice: at most one per SMTP connection (5)
      expect((await sb.run(['link', smtp.linkFor('k7@kill.pg.example.org'), '--service', 'nih', '--account', 'k7'])).exitCode).toBe(0);
    } finally {
      sb.cleanup();
      await pgs.dropDatabase(sb.dbname);
    }
  });

  it('two `outbox send` at once: every queued email goes out exactly once', async () => {
    const sb = await pgSandbox();
    try {
      await sb.run(GRANTS);
      const n = 40;
      const f = csv(
        sb,
        'q.csv',
        Array.from({ length: n }, (_, i) => `q${i}@twice.pg.example.org`),
      );
      const down = await sb.run(['users', 'invite', '--from-csv', f, '--yes'], { env: { PORTALCTL_SMTP_URL: `smtp://127.0.0.1:${await closedPort()}` } });
      expect(down.exitCode, down.stderr).toBe(75);
      expect((await inspect(sb)).queued).toBe(n);
      // The run gave up: what it had claimed ahead went back to the queue, nobody's claim.
      expect(await count(sb, 'SELECT count(*) AS n FROM outbox WHERE claimed_by IS NOT NULL')).toBe(0);
      const start = smtp.messages.length;
      const both = await Promise.all([0, 1].map(() => sb.run(['outbox', 'send'], { env: { PORTALCTL_SMTP_URL: smtp.url } })));
      for (const r of both) expect(r.exitCode, r.stderr).toBe(0);
      const got = smtp.messages.slice(start).map((m) => (m.to as { text: string }).text);
      expect(got).toHaveLength(n);
      expect(new Set(got).size).toBe(n);
      expect((await inspect(sb)).queued).toBe(0);
    } finally {
      sb.cleanup();
      await pgs.dropDatabase(sb.dbname);
    }
  });

  it('SIGINT during `outbox send`: the email in flight goes, the rest stay queued untried, and the next run sends them', async () => {
    const sb = await pgSandbox();
    const gated = await gatedSmtp(3);
    try {
      await sb.run(GRANTS);
      await seedPeople(sb, 12, at(0));
      const child = execa('node', [BIN, 'outbox', 'send'], { env: { ...sb.env, PORTALCTL_SMTP_URL: gated.url }, extendEnv: false, reject: false });
      let err = '';
      const stopping = new Promise<void>((resolve) =>
        child.stderr!.on('data', (c: Buffer) => {
          err += c.toString();
          if (/Stopping after the work in flight/.test(err)) resolve();
        }),
      );
      await gated.arrived(4); // three went, the fourth is in flight
      child.kill('SIGINT');
      await stopping;
      gated.release();
      const r = await child;
      expect(r.exitCode, r.stderr).toBe(130);
      expect(r.stderr).toContain('Interrupted: 4 of 12 emails went out; 8 are recorded and queued');
      // Those claimed ahead of the connection went back untried: nobody's claim, no attempt counted.
      expect(await count(sb, "SELECT count(*) AS n FROM outbox WHERE state = 'queued' AND claimed_by IS NULL AND attempts = 0")).toBe(8);
      const again = await sb.run(['outbox', 'send'], { env: { PORTALCTL_SMTP_URL: gated.url } });
      expect(again.exitCode, again.stderr).toBe(0);
      expect(gated.received).toHaveLength(12);
      expect(new Set(gated.received).size).toBe(12);
    } finally {
      gated.release();
      await gated.close();
      sb.cleanup();
      await pgs.dropDatabase(sb.dbname);
    }
  });

  it('two `remind --yes` overlapping (two schedulers): every person gets one reminder, one notice, one event', async () => {
    const sb = await pgSandbox(pgs, { PORTALCTL_SMTP_URL: smtp.url });
    try {
      expect((await sb.run(GRANTS)).exitCode).toBe(0);
      const n = 40;
      const emails = Array.from({ length: n }, (_, i) => `r${i}@remind.pg.example.org`);
      const invited = await sb.run(['users', 'invite', '--from-csv', csv(sb, 'r.csv', emails), '--yes']);
      expect(invited.exitCode, invited.stderr).toBe(0);
      const start = smtp.messages.length;
      // Day 2: the first reminder is due for everyone; both schedulers fire at once.
      const both = await Promise.all([0, 1].map(() => sb.run(['remind', '--yes'], { now: at(2) })));
      for (const r of both) {
        expect(r.exitCode, r.stderr).toBe(0);
        expect(r.stderr).not.toMatch(/store_|internal error|locked|busy/i);
      }
      const reminders = smtp.messages.slice(start).filter((m) => m.subject === REMINDER_SUBJECT);
      expect(reminders.map(toOf).sort()).toEqual([...emails].sort());
      expect(await count(sb, `SELECT count(*) AS n FROM notices WHERE kind = 'reminder'`)).toBe(n);
      expect(await count(sb, `SELECT count(*) AS n FROM events WHERE type = 'reminded'`)).toBe(n);
      expect(await count(sb, `SELECT count(*) AS n FROM outbox WHERE kind = 'reminder' AND state = 'sent'`)).toBe(n);
      // And a third run that day finds nothing left to send.
      const again = await sb.json(['remind', '--yes'], { now: at(2) });
      expect(again.notices).toEqual([]);
      expect(smtp.messages.length - start).toBe(n);
    } finally {
      sb.cleanup();
      await pgs.dropDatabase(sb.dbname);
    }
  });

  it('two `prune --yes` at once over more than a batch: each user removed once, audited once, one event each', async () => {
    const sb = await pgSandbox(pgs, { PORTALCTL_SMTP_URL: `smtp://127.0.0.1:${await closedPort()}` });
    try {
      expect((await sb.run(GRANTS)).exitCode).toBe(0);
      const n = 1200; // prune removes 500, then 1,000 a transaction
      const invited = await sb.run([
        'users',
        'invite',
        '--from-csv',
        csv(
          sb,
          'p.csv',
          Array.from({ length: n }, (_, i) => `p${i}@prune2.pg.example.org`),
        ),
        '--yes',
      ]);
      expect(invited.exitCode, invited.stderr).toBe(75); // the relay is down: emails stay queued, which prune removes too
      const both = await Promise.all([0, 1].map(() => sb.run(['--json', 'prune', '--yes'], { now: at(31) })));
      for (const r of both) {
        expect(r.exitCode, r.stderr).toBe(0);
        expect(r.stderr).not.toMatch(/store_|internal error/);
      }
      const removed = both.flatMap((r) => (JSON.parse(r.stdout).removed as { email: string }[]).map((u) => u.email));
      expect(removed).toHaveLength(n);
      expect(new Set(removed).size).toBe(n);
      expect(await count(sb, `SELECT count(*) AS n FROM audit WHERE action = 'prune'`)).toBe(n);
      expect(await count(sb, `SELECT count(*) AS n FROM events WHERE type = 'removed'`)).toBe(n);
      expect(await inspect(sb)).toMatchObject({ users: 0, queued: 0 });
    } finally {
      sb.cleanup();
      await pgs.dropDatabase(sb.dbname);
    }
  });

  it('prune during links and removal-date changes: a user is pruned or kept, never half of each', async () => {
    const sb = await pgSandbox(pgs, { PORTALCTL_SMTP_URL: smtp.url });
    try {
      await sb.run(GRANTS);
      // Invited 40 days ago with a 1-day removal period, resent yesterday: the removal date has passed,
      // but the new link is still valid, so linking races a prune that must not take them.
      await sb.run(['portals', 'set', 'grants', '--removal-days', '1']);
      for (let i = 0; i < 6; i++) expect((await person(sb, `old${i}@prune.pg.example.org`, { PORTALCTL_NOW: '2026-10-19T14:00:00Z' })).exitCode).toBe(0);
      for (let i = 0; i < 3; i++) await sb.run(['users', 'resend-registration', `old${i}@prune.pg.example.org`], { now: '2026-11-27T14:00:00Z' });
      const links = [0, 1, 2].map((i) => smtp.linkFor(`old${i}@prune.pg.example.org`));
      const jobs = [
        ...links.map((l, i) => sb.run(['link', l, '--service', 'nih', '--account', `old${i}`])),
        sb.run(['prune', '--yes']),
        sb.run(['prune', '--yes']),
        sb.run(['users', 'set-removal-days', 'old3@prune.pg.example.org', '10']),
        sb.run(['users', 'set-removal-days', 'old4@prune.pg.example.org', '10']),
        ...Array.from({ length: 4 }, (_, i) => person(sb, `new${i}@prune.pg.example.org`)),
      ];
      const results = await Promise.all(jobs);
      for (const r of results) expect(r.stderr).not.toMatch(/store_|internal error/);
      for (const r of results.slice(0, 3)) expect(r.exitCode, r.stderr).toBe(0); // links always win: a live link defers removal
      const left = new Set((await sb.json(['users', 'list'])).users.map((u: { email: string }) => u.email));
      const audit = (await sb.json(['audit'])).audit as { action: string; userEmail: string }[];
      for (let i = 0; i < 6; i++) {
        const email = `old${i}@prune.pg.example.org`;
        const actions = audit.filter((a) => a.userEmail === email).map((a) => a.action);
        expect(left.has(email), email).toBe(!actions.includes('prune'));
        if (actions.includes('prune')) expect(actions).not.toContain('link');
      }
      for (let i = 0; i < 3; i++) expect(left.has(`old${i}@prune.pg.example.org`)).toBe(true);
      expect(left.has('old5@prune.pg.example.org')).toBe(false);
      expect(await inspect(sb)).toMatchObject({ orphanUsers: 0, orphanRegs: 0, dupActive: 0 });
    } finally {
      sb.cleanup();
      await pgs.dropDatabase(sb.dbname);
    }
  });

  it('ten processes creating the store at once: the schema is made once and each portal added', async () => {
    const sb = await pgSandbox();
    try {
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          sb.run(['portals', 'add', `p${i}`, '--name', `P${i}`, '--url', `https://p${i}.example.org`, '--admin-email', 'a@example.org']),
        ),
      );
      for (const r of results) expect(r.exitCode, r.stderr).toBe(0);
      expect(await sb.server.sql(sb.dbname, 'SELECT version, file FROM portalctl_migrations ORDER BY version')).toEqual([
        { version: 1, file: '0001_initial.sql' },
        { version: 2, file: '0002_fold_capital_sharp_s.sql' },
      ]);
      expect(await count(sb, 'SELECT count(*) AS n FROM portals')).toBe(10);
    } finally {
      sb.cleanup();
      await pgs.dropDatabase(sb.dbname);
    }
  });
});

describe("PostgreSQL's own faults", { timeout: 120_000 }, () => {
  it('a connection dropped inside a transaction: the command runs it again, nothing half-written', async () => {
    const sb = await pgSandbox(pgs, { PORTALCTL_SMTP_URL: smtp.url });
    try {
      await sb.run(GRANTS);
      const n = 600;
      const f = csv(
        sb,
        'drop.csv',
        Array.from({ length: n }, (_, i) => `d${i}@drop.pg.example.org`),
      );
      const child = sb.run(['users', 'invite', '--from-csv', f, '--yes']);
      let ended = false;
      void child.finally(() => (ended = true));
      // Terminate the store's backends while the recording transaction is in flight, a few times.
      let dropped = 0;
      // (Often: the transactions are short, and the bulk invite ends in a second or two.)
      for (let i = 0; i < 400 && dropped < 3 && !ended; i++) {
        await new Promise((r) => setTimeout(r, 5));
        if ((await count(sb, `SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND state = 'idle in transaction'`)) > 0) {
          dropped += await pgs.terminateBackends(sb.dbname);
        }
      }
      const r = await child;
      expect(dropped).toBeGreaterThan(0);
      // 0: every drop hit a transaction that was run again; 1: the invite itself could not be recorded;
      // 75: a drop hit the COMMIT of a sent email's record (whether it was kept is unknown, so it is not
      // run again): everyone is invited, the unsent emails stay queued, and the command says so.
      expect([0, 1, 75]).toContain(r.exitCode);
      if (r.exitCode === 1) expect(r.stderr).toMatch(/store_unavailable|Lost the PostgreSQL store/);
      if (r.exitCode === 75) {
        expect(r.stderr).toMatch(/are invited to grants and their emails are queued, and that is kept/);
        expect(r.stderr).toMatch(/run `portalctl outbox send` to send them/);
      }
      const s = await inspect(sb);
      expect(s).toMatchObject({ orphanUsers: 0, orphanRegs: 0, dupActive: 0 });
      expect([0, n]).toContain(s.users);
      expect(s.auditInvites).toBe(s.users);
      expect(s.invitedEvents).toBe(s.users);
      if (r.exitCode === 75) expect((await sb.run(['outbox', 'send'])).exitCode).toBe(0);
      const again = await sb.run(['users', 'invite', '--from-csv', f, '--yes']);
      expect(again.exitCode, again.stderr).toBe(0);
      expect(await inspect(sb)).toMatchObject({ users: n, queued: 0, auditInvites: n });
    } finally {
      sb.cleanup();
      await pgs.dropDatabase(sb.dbname);
    }
  }, 90_000);

  describe('a private server', () => {
    let cluster: PgCluster;
    beforeAll(async () => {
      cluster = await startPostgres();
    });
    afterAll(async () => {
      await cluster?.destroy();
    });

    it('restarted in the middle of a bulk invite: the command retries or fails cleanly; nothing half-written', async () => {
      // Once while the invitations are being recorded (one transaction), once while the emails go out.
      for (const [mode, when] of [
        ['fast', 'recording'],
        ['immediate', 'sending'],
      ] as const) {
        const sb = await pgSandbox(cluster, { PORTALCTL_SMTP_URL: smtp.url });
        try {
          await sb.run(GRANTS);
          const n = 200;
          const f = csv(
            sb,
            'restart.csv',
            Array.from({ length: n }, (_, i) => `x${i}@${when}.restart.pg.example.org`),
          );
          const start = smtp.messages.length;
          const child = sb.run(['users', 'invite', '--from-csv', f, '--yes']);
          const deadline = Date.now() + 30_000;
          for (;;) {
            if (Date.now() > deadline) throw new Error(`never saw the ${when} phase`);
            if (
              when === 'sending'
                ? smtp.messages.length >= start + 10
                : (await count(
                    sb,
                    `SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND xact_start IS NOT NULL AND pid <> pg_backend_pid()`,
                  )) > 0
            )
              break;
            await new Promise((r) => setTimeout(r, 20));
          }
          await cluster.restart({ mode });
          const r = await child;
          expect([0, 1, 75], r.stderr).toContain(r.exitCode);
          if (r.exitCode === 1) expect(r.stderr).toMatch(/^error: .*PostgreSQL store/m);
          expect(r.stderr).not.toMatch(/internal error/);
          const s = await inspect(sb);
          expect(s).toMatchObject({ orphanUsers: 0, orphanRegs: 0, dupActive: 0 });
          expect([0, n]).toContain(s.users);
          expect(s.auditInvites).toBe(s.users);
          expect(s.invitedEvents).toBe(s.users);
          // Whatever happened, a re-run completes it.
          const again = await sb.run(['users', 'invite', '--from-csv', f, '--yes']);
          expect(again.exitCode, again.stderr).toBe(0);
          expect(await inspect(sb)).toMatchObject({ users: n, queued: 0, orphanRegs: 0 });
        } finally {
          sb.cleanup();
        }
      }
    }, 240_000);

    it('gone for good while a bulk invite sends: it gives up 15 s after, says everyone is invited and the rest queued (exit 75)', async () => {
      const sb = await pgSandbox(cluster, { PORTALCTL_SMTP_URL: smtp.url });
      try {
        await sb.run(GRANTS);
        const n = 300;
        const f = csv(
          sb,
          'gone.csv',
          Array.from({ length: n }, (_, i) => `g${i}@gone.pg.example.org`),
        );
        const start = smtp.messages.length;
        const child = sb.run(['users', 'invite', '--from-csv', f, '--yes']);
        const deadline = Date.now() + 30_000;
        while (smtp.messages.length < start + 10) {
          if (Date.now() > deadline) throw new Error('never saw the sending');
          await new Promise((r) => setTimeout(r, 20));
        }
        await cluster.stop({ mode: 'immediate' });
        const stopped = Date.now();
        const r = await child;
        // One outage, one budget: not 15 s again for each transaction the run still had to make.
        expect(Date.now() - stopped).toBeLessThan(30_000);
        expect(r.exitCode, r.stderr).toBe(75);
        expect(r.stderr).toMatch(/300 people are invited to grants and their emails are queued, and that is kept\. Then the store could not be written: /);
        expect(r.stderr).toMatch(/; \d+ are queued\b/);
        expect(r.stderr).not.toMatch(/internal error/);
      } finally {
        await cluster.start();
        sb.cleanup();
      }
    }, 120_000);

    it('down: one clear line, code store_unavailable, exit 1, fast', async () => {
      const sb = await pgSandbox(cluster);
      try {
        expect((await sb.run(GRANTS)).exitCode).toBe(0);
        await cluster.stop();
        const t0 = Date.now();
        const r = await sb.run(['users', 'list']);
        expect(Date.now() - t0).toBeLessThan(5000);
        expect(r.exitCode).toBe(1);
        expect(r.stderr.trim().split('\n')).toHaveLength(1);
        expect(r.stderr).toMatch(
          /^error: Cannot reach the PostgreSQL store postgres:\/\/portalctl@127\.0\.0\.1:\d+\/t_\w+: connection refused — is the server running, and on that host and port\?$/,
        );
        const j = await sb.run(['--json', 'prune', '--yes']);
        expect(j.exitCode).toBe(1);
        expect(JSON.parse(j.stderr).error.code).toBe('store_unavailable');
      } finally {
        await cluster.start();
        sb.cleanup();
      }
    });
  });

  it('a server that never answers: the connect timeout ends the wait (store_unavailable, exit 1)', async () => {
    const sockets = new Set<Socket>();
    const silent: Server = createServer((s) => sockets.add(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as { port: number }).port;
    const sb = sandbox({ PORTALCTL_DB: `postgres://portalctl@127.0.0.1:${port}/x?connect_timeout=2`, PGPASSWORD: 'x' });
    try {
      const t0 = Date.now();
      const r = await sb.run(['--json', 'users', 'list']);
      const took = Date.now() - t0;
      expect(took).toBeGreaterThanOrEqual(1900);
      expect(took).toBeLessThan(10_000);
      expect(r.exitCode).toBe(1);
      expect(JSON.parse(r.stderr).error).toMatchObject({ code: 'store_unavailable' });
      expect(JSON.parse(r.stderr).error.message).toMatch(/no answer within the connect timeout/);
    } finally {
      sb.cleanup();
      for (const s of sockets) s.destroy();
      await new Promise((r) => silent.close(r));
    }
  });

  it('a wrong password: a clear error, exit 1, and the password is never printed (--debug included)', async () => {
    const url = await pgs.createDatabase();
    const secret = 'Wr0ng-Pässw0rd:@/%';
    const withPw = new URL(url);
    withPw.password = encodeURIComponent(secret);
    const cases: [string, Record<string, string>][] = [
      ['in the URL', { PORTALCTL_DB: withPw.href }],
      ['in PGPASSWORD', { PORTALCTL_DB: url, PGPASSWORD: secret }],
    ];
    for (const [how, env] of cases) {
      const sb = sandbox(env);
      try {
        for (const argv of [['--debug', 'users', 'list'], ['--json', 'portals', 'list'], ['doctor']]) {
          const r = await sb.run(argv);
          const out = r.stdout + r.stderr;
          expect(out, `${how}: ${argv.join(' ')}`).not.toContain(secret);
          expect(out).not.toContain(encodeURIComponent(secret));
          expect(r.exitCode, `${how}: ${argv.join(' ')}`).toBe(1);
          if (argv[0] === '--debug') expect(r.stderr).toMatch(/refused the login: password authentication failed for user "portalctl"/);
        }
      } finally {
        sb.cleanup();
      }
    }
    // No password anywhere: said so.
    const none = sandbox({ PORTALCTL_DB: url });
    try {
      const r = await none.run(['--json', 'users', 'list']);
      expect(r.exitCode).toBe(1);
      expect(JSON.parse(r.stderr).error.message).toMatch(/asks for a password and none was found/);
    } finally {
      none.cleanup();
    }
  });

  it('a database that does not exist: store_missing, exit 2, even for portals add (portalctl never creates databases)', async () => {
    const sb = sandbox({ PORTALCTL_DB: `${pgs.url('no_such_db')}`, PGPASSWORD: pgs.password });
    try {
      for (const argv of [GRANTS, ['users', 'list']]) {
        const r = await sb.run(['--json', ...argv]);
        expect(r.exitCode).toBe(2);
        expect(JSON.parse(r.stderr).error.code).toBe('store_missing');
      }
    } finally {
      sb.cleanup();
    }
  });
});
