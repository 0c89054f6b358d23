// Ctrl-C during bulk work, in real processes: the message (or batch) in
// flight finishes, the rest stay recorded and queued, the command says how
// many went and how many wait, and exits 130 — for invite, outbox send,
// resend-registration --all-expired, remind and prune. The SMTP server holds a message
// until the test has seen the Ctrl-C acknowledged, so nothing here races.

import Database from 'better-sqlite3';
import { execa } from 'execa';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BIN, GRANTS, T0, at, sandbox, type Sandbox } from '../helpers/cli.js';
import { gatedSmtp, liveTerminal, seedPeople, strip, type GatedSmtp } from './support.js';

let sb: Sandbox;
let smtp: GatedSmtp;
beforeEach(async () => {
  sb = sandbox();
  await sb.run(GRANTS);
  smtp = await gatedSmtp(3);
});
afterEach(async () => {
  smtp.release();
  await smtp.close();
  sb.cleanup();
});

const count = (sql: string) => {
  const db = new Database(sb.db, { readonly: true });
  try {
    return (db.prepare(sql).get() as { n: number }).n;
  } finally {
    db.close();
  }
};
const queued = () => count("SELECT count(*) AS n FROM outbox WHERE state = 'queued'");

/** bin/portalctl without a terminal, its stderr watched as it comes. */
function spawn(args: string[], env: Record<string, string>) {
  const child = execa('node', [BIN, ...args], { env: { ...sb.env, ...env }, extendEnv: false, reject: false, input: '' });
  let err = '';
  const waiters: { re: RegExp; resolve: () => void }[] = [];
  child.stderr!.on('data', (c: Buffer) => {
    err += c.toString();
    for (const w of waiters.filter((x) => x.re.test(err))) w.resolve();
  });
  return {
    child,
    stderrMatches: (re: RegExp) => (re.test(err) ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ re, resolve }))),
  };
}

describe('Ctrl-C during a bulk send', () => {
  it('invite --from-csv at a terminal: the email in flight goes, the rest stay queued, exit 130', async () => {
    const csv = join(sb.dir, 'people.csv');
    writeFileSync(csv, `email,first_name,last_name\n${Array.from({ length: 12 }, (_, i) => `p${i}@example.org,Pat,Person ${i}`).join('\n')}\n`);
    const t = liveTerminal(['users', 'invite', '--from-csv', csv, '--yes'], { ...sb.env, PORTALCTL_SMTP_URL: smtp.url });
    await smtp.arrived(4); // three went, the fourth is in flight
    t.type('\u0003');
    await t.waitFor(/Stopping after the work in flight/);
    smtp.release();
    expect(await t.exit).toBe(130);
    const text = t.text();
    expect(text).toContain('Interrupted: 4 of 12 emails went out; 8 are recorded and queued');
    expect(text).toContain('portalctl outbox send');
    expect(text).not.toMatch(/\n\s+at /); // no stack trace
    expect(smtp.received).toHaveLength(4);
    expect(count('SELECT count(*) AS n FROM users')).toBe(12); // everyone recorded
    expect(queued()).toBe(8);
  });

  it('a second Ctrl-C stops at once, still 130', async () => {
    await seedPeople(sb, 6, T0);
    const t = liveTerminal(['outbox', 'send'], { ...sb.env, PORTALCTL_SMTP_URL: smtp.url });
    await smtp.arrived(4);
    t.type('\u0003');
    await t.waitFor(/Stopping after the work in flight/);
    t.type('\u0003');
    expect(await t.exit).toBe(130);
    expect(smtp.received).toHaveLength(3);
    const said = t.text().replace(/\s+/g, ' ');
    expect(said).toContain('Stopped at once: what was committed is kept and nothing is half-written');
    expect(said).toContain('`portalctl outbox list` shows the emails still queued');
  });

  it('outbox send (SIGINT, no terminal): reports sent and waiting, exit 130', async () => {
    await seedPeople(sb, 12, T0);
    expect(queued()).toBe(12);
    const run = spawn(['outbox', 'send'], { PORTALCTL_SMTP_URL: smtp.url });
    await smtp.arrived(4);
    run.child.kill('SIGINT');
    await run.stderrMatches(/Stopping after the work in flight/);
    smtp.release();
    const r = await run.child;
    expect(r.exitCode).toBe(130);
    expect(r.stderr).toContain('Interrupted: 4 of 12 emails went out; 8 are recorded and queued');
    expect(queued()).toBe(8);
    // Those claimed ahead of the connection went back untried: nobody's claim, no attempt counted.
    expect(count("SELECT count(*) AS n FROM outbox WHERE state = 'queued' AND claimed_by IS NULL AND attempts = 0")).toBe(8);
    // The rest go with the next run.
    const again = await sb.run(['outbox', 'send'], { env: { PORTALCTL_SMTP_URL: smtp.url } });
    expect(again.exitCode).toBe(0);
    expect(queued()).toBe(0);
    expect(smtp.received).toHaveLength(12);
  });

  it('resend-registration --all-expired (SIGINT): the new registrations are recorded, the unsent ones queued, exit 130', async () => {
    await seedPeople(sb, 12, at(-10)); // links expired three days ago
    const run = spawn(['users', 'resend-registration', '--all-expired', '--yes'], { PORTALCTL_SMTP_URL: smtp.url });
    await smtp.arrived(4);
    run.child.kill('SIGINT');
    await run.stderrMatches(/Stopping after the work in flight/);
    smtp.release();
    const r = await run.child;
    expect(r.exitCode).toBe(130);
    expect(r.stderr).toContain('Interrupted: 4 of 12 emails went out; 8 are recorded and queued');
    expect(count("SELECT count(*) AS n FROM registrations WHERE state = 'active' AND created_at > '2026-11-20'")).toBe(12);
    expect(count("SELECT count(*) AS n FROM outbox o JOIN registrations r ON r.id = o.registration_id WHERE o.state = 'queued' AND r.state = 'active'")).toBe(
      8,
    );
  });
});

describe('Ctrl-C during remind', () => {
  it('the reminder in flight goes, the rest stay queued, exit 130', async () => {
    const csv = join(sb.dir, 'people.csv');
    writeFileSync(csv, `email,first_name,last_name\n${Array.from({ length: 12 }, (_, i) => `r${i}@example.org,Rita,Person ${i}`).join('\n')}\n`);
    expect((await sb.run(['users', 'invite', '--from-csv', csv], { now: at(-2) })).exitCode).toBe(0); // emailed two days ago
    const run = spawn(['remind', '--yes'], { PORTALCTL_SMTP_URL: smtp.url });
    await smtp.arrived(4);
    run.child.kill('SIGINT');
    await run.stderrMatches(/Stopping after the work in flight/);
    smtp.release();
    const r = await run.child;
    expect(r.exitCode).toBe(130);
    expect(r.stderr).toContain('Interrupted: 4 of 12 emails went out; 8 are recorded and queued');
    expect(queued()).toBe(8);
    expect(smtp.received).toHaveLength(4);
  });
});

describe('Ctrl-C during prune', () => {
  it('the batch in flight is removed, the rest stay, the command says how many, exit 130', async () => {
    // Removal dates ten days past; more than the first two batches (500, then 1,000): the signal may be
    // heard only after the batch that follows the one in flight.
    const n = 2000;
    await seedPeople(sb, n, at(-40));
    // Hold the store's write lock, so prune is surely at work (and waiting) when Ctrl-C comes.
    const lock = new Database(sb.db);
    lock.exec('BEGIN IMMEDIATE');
    const t = liveTerminal(['prune', '--yes'], sb.env);
    try {
      await t.waitFor(/Removing unlinked users/);
      t.type('\u0003');
    } finally {
      lock.exec('COMMIT');
      lock.close();
    }
    expect(await t.exit).toBe(130);
    const text = t.text();
    const removed = Number(/Interrupted: removed (\d+) users?/.exec(text)?.[1]);
    expect(removed).toBeGreaterThanOrEqual(0);
    expect(removed).toBeLessThan(n);
    expect(count('SELECT count(*) AS n FROM users')).toBe(n - removed);
    expect(text).toContain('run `portalctl prune` again');
    expect(text).not.toMatch(/\n\s+at /);
  });
});

it('strip keeps what a person reads', () => {
  expect(strip('\u001b[31merror:\u001b[39m x\r\n')).toBe('error: x\n');
});

describe('a terminal that reports no size (0 columns)', () => {
  it('a bulk invite finishes, without a spinner that redraws forever', async () => {
    const csv = join(sb.dir, 'zero.csv');
    writeFileSync(csv, `email,first_name,last_name\n${Array.from({ length: 15 }, (_, i) => `z${i}@example.org,Zed,Zero ${i}`).join('\n')}\n`);
    const t = liveTerminal(['users', 'invite', '--from-csv', csv, '--yes'], sb.env, { cols: 0, rows: 0 });
    const timeout = new Promise<number>((resolve) => setTimeout(() => resolve(-1), 30_000).unref());
    expect(await Promise.race([t.exit, timeout])).toBe(0);
    expect(t.text()).toContain('Invited 15 people to grants.');
    expect(t.text().length).toBeLessThan(20_000);
  });
});

describe('NO_COLOR on a terminal', () => {
  it('the spinner is drawn without colour, like everything else', async () => {
    await seedPeople(sb, 4, T0);
    const t = liveTerminal(['outbox', 'send'], { ...sb.env, PORTALCTL_SMTP_URL: smtp.url, NO_COLOR: '1' });
    await smtp.arrived(4);
    smtp.release();
    expect(await t.exit).toBe(0);
    expect(t.text()).toContain('Sending queued emails');
    // Cursor and line control may stay; no colour (SGR with a colour) may.
    expect(t.raw()).not.toMatch(/\u001b\[(?:3[0-9]|9[0-7])m/);
  });
});
