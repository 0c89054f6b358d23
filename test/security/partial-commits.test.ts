// Issue 14, Medium "Partial commits reported as none" and Low "Disk full
// during a bulk invite reports only 'store could not be used'". Another
// process holds the store's write lock longer than the busy timeout
// (PORTALCTL_BUSY_TIMEOUT_MS keeps the test fast), or the disk fills up
// half-way: every batch commits whole or not at all, and the command says
// exactly what it did.

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { at, GRANTS, world, type World } from '../helpers/run.js';
import { startSmtp, type TestSmtp } from '../helpers/smtp.js';
import { canMount, fillFileSystem, holdWriteLock, peopleCsv, tmpfs } from './fixtures.js';

const BUSY = { PORTALCTL_BUSY_TIMEOUT_MS: '300' };
const LATER = at(8); // every 7-day link has expired

/** Everything a resend could change, row by row. */
function snapshot(db: string) {
  const d = new Database(db, { readonly: true });
  try {
    const rows = (t: string) => d.prepare(`SELECT * FROM ${t} ORDER BY 1`).all();
    return {
      users: rows('users'),
      registrations: rows('registrations'),
      tokens: rows('link_tokens'),
      outbox: rows('outbox'),
      audit: rows('audit'),
      events: rows('events'),
    };
  } finally {
    d.close();
  }
}

let smtp: TestSmtp;
beforeAll(async () => {
  smtp = await startSmtp();
});
afterAll(() => smtp.close());

let w: World;
beforeEach(async () => {
  w = world(BUSY);
  smtp.fault = { kind: 'none' };
  expect((await w.run(GRANTS)).exitCode).toBe(0);
});
afterEach(() => w.close());

const RESENDS: [string, string[]][] = [
  ['resend-registration --all-expired', ['users', 'resend-registration', '--all-expired', '--yes']],
  ['resend-registration 1 2 3', ['users', 'resend-registration', '1', '2', '3']],
];

describe.each(RESENDS)('%s while another process holds the write lock', (_name, argv) => {
  it('longer than the busy timeout: nothing changes, every old link still works, and the command says so (exit 1, store_busy)', async () => {
    expect((await w.run(['users', 'invite', '--from-csv', peopleCsv(w.dir, 12), '--yes'])).exitCode).toBe(0);
    const before = snapshot(w.db);
    const lock = await holdWriteLock(w.db);
    try {
      const r = await w.run(['--json', ...argv], { now: LATER });
      expect(r.exitCode, r.stderr).toBe(1);
      const error = JSON.parse(r.stderr).error;
      expect(error.code).toBe('store_busy');
      expect(error.message).toMatch(/locked by another process for more than 300 ms/);
      expect(error.message).toMatch(/nothing was changed: no registration was replaced, every earlier link still works, and no email was sent/);
    } finally {
      await lock.release();
    }
    expect(snapshot(w.db)).toEqual(before);
    // Run again once the lock is gone: the whole batch.
    const again = await w.json(argv, { now: LATER });
    expect(again.users.length).toBe(argv.includes('--all-expired') ? 12 : 3);
    expect(again.users.every((u: { status: string }) => u.status === 'pending')).toBe(true);
  });

  it('shorter than the busy timeout: the command waits and the whole batch commits', async () => {
    expect((await w.run(['users', 'invite', '--from-csv', peopleCsv(w.dir, 12), '--yes'])).exitCode).toBe(0);
    const lock = await holdWriteLock(w.db, { forMs: 150 });
    try {
      const r = await w.run(['--json', ...argv], { now: LATER, env: { PORTALCTL_BUSY_TIMEOUT_MS: '5000' } });
      expect(r.exitCode, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout).users.length).toBe(argv.includes('--all-expired') ? 12 : 3);
    } finally {
      await lock.release();
    }
  });

  it('held by a process that is killed with SIGKILL while the command waits: the lock dies with it and the whole batch commits', async () => {
    expect((await w.run(['users', 'invite', '--from-csv', peopleCsv(w.dir, 12), '--yes'])).exitCode).toBe(0);
    const lock = await holdWriteLock(w.db, { killedAfterMs: 150 });
    const r = await w.run(['--json', ...argv], { now: LATER, env: { PORTALCTL_BUSY_TIMEOUT_MS: '20000' } });
    await lock.release();
    expect(lock.process.signalCode ?? (await lock.process).signal).toBe('SIGKILL');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).users.length).toBe(argv.includes('--all-expired') ? 12 : 3);
  });

  it('taken after the new registrations are recorded, while the first email is with the relay: it says what is recorded, exit 75, and outbox send delivers every one with a working link', async () => {
    const url = `${smtp.url}?connections=1`;
    expect((await w.run(['users', 'invite', '--from-csv', peopleCsv(w.dir, 3), '--yes'], { env: { PORTALCTL_SMTP_URL: url } })).exitCode).toBe(0);
    let open!: () => void;
    smtp.fault = { kind: 'slow', gate: new Promise<void>((r) => (open = r)) };
    const started = smtp.dataStarted;
    const run = w.run(argv, { now: LATER, env: { PORTALCTL_SMTP_URL: url } });
    await smtp.waitForData(started + 1);
    const lock = await holdWriteLock(w.db);
    open();
    const r = await run;
    await lock.release();
    smtp.fault = { kind: 'none' };
    expect(r.exitCode, r.stderr).toBe(75);
    expect(r.stderr).toMatch(/New registrations for 3 users are recorded \(their earlier links no longer work\) and their emails are queued, and that is kept/);
    expect(r.stderr).toMatch(/locked by another process/);
    expect(r.stderr).toMatch(
      /0 of 3 registration emails went out; 3 are queued \(1 of them reached the mail server but could not be recorded as sent, so it will be sent again\)/,
    );
    expect(r.stderr).not.toMatch(/try again/i);
    expect(r.stderr).toMatch(/run `portalctl outbox send`/);
    expect(r.stderr).not.toMatch(/[Nn]othing was changed/);

    const send = await w.json(['outbox', 'send'], { now: LATER, env: { PORTALCTL_SMTP_URL: url } });
    expect(send.messages.map((m: { state: string }) => m.state)).toEqual(['sent', 'sent', 'sent']);
    for (const [i, email] of ['p1@example.org', 'p2@example.org', 'p3@example.org'].entries()) {
      const link = await w.run(['link', '--service', 'nih', '--account', `user${i}`, smtp.linkFor(email)], { now: LATER });
      expect(link.exitCode, link.stderr).toBe(0);
    }
  });
});

// A real full disk needs a file system of our own: a small tmpfs (root with CAP_SYS_ADMIN). Elsewhere this is skipped.
describe.runIf(canMount)('the disk fills up during a bulk invite', () => {
  it('after the invitations are recorded: the command says they are, exit 75; once space is free, outbox send delivers every email', async () => {
    const fs = tmpfs(join(w.dir, 'small'), '3m');
    try {
      const d = world({ ...BUSY, PORTALCTL_DB: join(w.dir, 'small', 'store', 'portalctl.db') });
      expect((await d.run(GRANTS)).exitCode).toBe(0);
      const url = `${smtp.url}?connections=1`;
      let open!: () => void;
      smtp.fault = { kind: 'slow', gate: new Promise<void>((r) => (open = r)) };
      const started = smtp.dataStarted;
      const delivered = smtp.messages.length;
      const run = d.run(['users', 'invite', '--from-csv', peopleCsv(w.dir, 50), '--yes'], { env: { PORTALCTL_SMTP_URL: url } });
      await smtp.waitForData(started + 1);
      const filler = fillFileSystem(join(w.dir, 'small'));
      open();
      const r = await run;
      smtp.fault = { kind: 'none' };
      rmSync(filler);
      expect(r.exitCode, r.stderr).toBe(75);
      expect(r.stderr).toMatch(/50 people are invited to grants and their emails are queued, and that is kept/);
      expect(r.stderr).toMatch(/disk full|could not be written/);
      expect(r.stderr).toMatch(/0 of 50 registration emails went out; 50 are queued/);
      expect(r.stderr).not.toMatch(/could not be used/);

      const list = await d.json(['users', 'list']);
      expect(list.users).toHaveLength(50);
      const send = await d.json(['outbox', 'send'], { env: { PORTALCTL_SMTP_URL: url } });
      expect(send.messages.filter((m: { state: string }) => m.state === 'sent')).toHaveLength(50);
      // The one that reached the relay before the disk filled went out twice; the newest link is the one that works.
      expect(smtp.messages.length - delivered).toBe(51);
      const link = await d.run(['link', '--service', 'nih', '--account', 'jdoe', smtp.linkFor('p1@example.org')]);
      expect(link.exitCode, link.stderr).toBe(0);
    } finally {
      fs.unmount();
    }
  });

  it('before anything is recorded: nobody is invited, and the command says so', async () => {
    const fs = tmpfs(join(w.dir, 'small2'), '3m');
    try {
      const d = world({ ...BUSY, PORTALCTL_DB: join(w.dir, 'small2', 'store', 'portalctl.db') });
      expect((await d.run(GRANTS)).exitCode).toBe(0);
      // Room to open the store (its -shm and -wal), none for 2000 invitations.
      const filler = fillFileSystem(join(w.dir, 'small2'), 160 * 1024);
      const r = await d.run(['--json', 'users', 'invite', '--from-csv', peopleCsv(w.dir, 2000), '--yes']);
      rmSync(filler);
      expect(r.exitCode, r.stderr).toBe(1);
      const error = JSON.parse(r.stderr).error;
      expect(error.code).toBe('store_io');
      expect(error.message, error.message).toMatch(/[Nn]othing was changed: nobody was invited/);
      expect((await d.json(['users', 'list'])).users).toEqual([]);
    } finally {
      fs.unmount();
    }
  });
});
