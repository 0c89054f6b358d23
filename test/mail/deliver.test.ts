// Delivery against a real SMTP server that fails the way real relays do: the
// invitation is kept, the email queued (exit 75) or marked failed with the
// server's reason (exit 1), and a retry sends it once, with a working link.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GRANTS, world, type World } from '../helpers/run.js';
import { startSmtp, type Fault, type TestSmtp } from '../helpers/smtp.js';
import { inspect } from '../helpers/store.js';
import { closedPort } from '../helpers/ports.js';

let smtp: TestSmtp;
let w: World;
let down: string;
beforeAll(async () => {
  smtp = await startSmtp();
  down = `smtp://127.0.0.1:${await closedPort()}`;
  w = world();
  await w.run(GRANTS);
});
afterAll(async () => {
  w.close();
  await smtp.close();
});

const invite = (email: string, env: Record<string, string | undefined> = { PORTALCTL_SMTP_URL: smtp.url }) =>
  w.run(['users', 'invite', '--email', email, '--first-name', 'Pat', '--last-name', 'Smith'], { env });
const send = (...args: string[]) => w.run(['outbox', 'send', ...args], { env: { PORTALCTL_SMTP_URL: smtp.url } });
const link = (email: string, account: string) => w.run(['link', smtp.linkFor(email), '--service', 'ims', '--account', account]);

describe('a mail server that fails', () => {
  it('connection refused: the invitation is kept, the email queued, exit 75; outbox send delivers it once, with a working link', async () => {
    const r = await invite('refused@example.org', { PORTALCTL_SMTP_URL: down });
    expect(r.exitCode).toBe(75);
    expect(r.stderr).toMatch(
      /^error: The registration email is recorded but queued: delivery failed \(.*ECONNREFUSED.*\)\. The mail server could not be used; check PORTALCTL_SMTP_URL and the relay\. Run `portalctl outbox send` to retry\.$/m,
    );
    expect(r.stdout).toContain('refused@example.org');
    const list = await w.json(['outbox', 'list']);
    expect(list.messages).toEqual([expect.objectContaining({ to: 'refused@example.org', state: 'queued', attempts: 1, kind: 'registration' })]);
    expect(list.messages[0].lastError).toMatch(/ECONNREFUSED/);

    const before = smtp.messages.length;
    const sent = await send();
    expect(sent.exitCode, sent.stderr).toBe(0);
    expect(smtp.messages.length - before).toBe(1);
    expect((await w.json(['outbox', 'list'])).messages).toEqual([]);
    const again = await send();
    expect(again.exitCode).toBe(0);
    expect(again.stderr).toBe('Nothing to send: no email is queued.\n');
    expect(smtp.messages.length - before).toBe(1); // never delivered twice
    expect((await link('refused@example.org', 'refused')).exitCode).toBe(0);
  });

  it('a relay set in the config file is named as smtpUrl there when it cannot be used', async () => {
    const file = join(w.dir, 'relay-config.json');
    writeFileSync(file, JSON.stringify({ smtpUrl: down }), { mode: 0o600 });
    const r = await invite('configured@example.org', { PORTALCTL_SMTP_URL: undefined, PORTALCTL_CONFIG: file });
    expect(r.exitCode).toBe(75);
    expect(r.stderr).toContain(`The mail server could not be used; check smtpUrl in ${file} and the relay.`);
  });

  it.each([
    ['421 at the greeting', { kind: 'greeting', code: 421 }],
    ['451 for the recipient', { kind: 'rcpt', code: 451, message: 'Temporary local problem' }],
    ['452 after DATA', { kind: 'data', code: 452, message: 'Insufficient system storage' }],
    ['a dropped socket after DATA', { kind: 'drop-after-data' }],
  ] as [string, Fault][])('%s: queued, exit 75, nothing lost; the retry links', async (_name, fault) => {
    const email = `t${Math.random().toString(36).slice(2, 8)}@example.org`;
    smtp.fault = fault;
    try {
      const r = await invite(email);
      expect(r.exitCode, r.stderr).toBe(75);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    } finally {
      smtp.fault = { kind: 'none' };
    }
    expect(inspect(w.db)).toMatchObject({ integrity: 'ok', orphanUsers: 0, orphanRegs: 0, dupActive: 0 });
    expect((await send()).exitCode).toBe(0);
    expect((await link(email, email.split('@')[0]!)).exitCode).toBe(0);
  });

  it("550 for the recipient: marked failed with the server's reason (exit 1); a new address fixes it", async () => {
    smtp.fault = { kind: 'rcpt', code: 550, message: 'No such user here' };
    try {
      const r = await invite('nosuch@example.org');
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toContain('warning: the mail server refused the email to nosuch@example.org (user');
      expect(r.stderr).toContain(
        'error: The mail server refused the registration email (550 No such user here). Check the address and use `portalctl users resend-registration USER --email ADDRESS`.',
      );
    } finally {
      smtp.fault = { kind: 'none' };
    }
    const list = await w.json(['outbox', 'list']);
    expect(list.messages).toEqual([expect.objectContaining({ to: 'nosuch@example.org', state: 'failed', lastError: '550 No such user here' })]);
    // outbox send leaves a refused email alone unless told.
    expect((await send()).stderr).toBe(
      'Nothing to send: no email is queued.\nwarning: 1 email was refused by the mail server and is not retried by `portalctl outbox send`; fix the cause (see `portalctl outbox list`), then run `portalctl outbox send --include-failed`.\n',
    );
    const fix = await w.run(['users', 'resend-registration', 'nosuch@example.org', '--email', 'such@example.org'], { env: { PORTALCTL_SMTP_URL: smtp.url } });
    expect(fix.exitCode, fix.stderr).toBe(0);
    expect((await w.json(['outbox', 'list'])).messages).toEqual([]);
    expect((await link('such@example.org', 'such')).exitCode).toBe(0);
  });

  it('a retry mints a fresh link that replaces the undelivered one, with the full lifetime from when it goes out', async () => {
    const r = await invite('late@example.org', { PORTALCTL_SMTP_URL: down });
    expect(r.exitCode).toBe(75);
    const sent = await w.run(['outbox', 'send'], { env: { PORTALCTL_SMTP_URL: smtp.url }, now: '2026-12-01T14:00:00Z' });
    expect(sent.exitCode).toBe(0);
    const u = (await w.json(['users', 'list', '--search', 'late@'], { now: '2026-12-01T14:00:00Z' })).users[0];
    expect(u.registrationExpiresAt).toBe('2026-12-08T14:00:00.000Z');
    expect(smtp.messages.at(-1)!.text).toContain('December 8, 2026');
  });

  it('never prints the SMTP password, --debug included', async () => {
    const url = `smtp://mailer:S3cr3t-pw@${down.slice('smtp://'.length)}`;
    for (const args of [
      ['users', 'invite', '--email', 'pw@example.org', '--first-name', 'P', '--last-name', 'W'],
      ['--debug', 'outbox', 'send'],
      ['--json', 'outbox', 'send'],
      ['--json', 'config'],
    ]) {
      const r = await w.run(args, { env: { PORTALCTL_SMTP_URL: url } });
      expect(r.stdout + r.stderr).not.toContain('S3cr3t-pw');
    }
    expect(JSON.stringify((await w.json(['outbox', 'list'])).messages)).not.toContain('S3cr3t-pw');
  });

  it('a password file must be mode 0600, and is never shown', async () => {
    const f = join(w.dir, 'smtp-pass');
    writeFileSync(f, 'S3cr3t-pw\n', { mode: 0o644 });
    const r = await invite('pf@example.org', { PORTALCTL_SMTP_URL: `smtp://mailer@127.0.0.1:${smtp.port}`, PORTALCTL_SMTP_PASSWORD_FILE: f });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`run \`chmod 600 ${f}\``);
    expect(r.stderr).not.toContain('S3cr3t-pw');
    expect((await w.json(['users', 'list', '--search', 'pf@'])).users).toEqual([]);
  });

  it.each([
    ['http://relay.example.org', 'must start with smtp:// or smtps://, not "http://".'],
    ['smtp://relay.example.org?foo=1', 'unknown parameter "foo"'],
    ['smtp://relay.example.org?connections=99', 'connections must be a whole number from 1 to 50'],
    ['not a url', 'is not a valid URL'],
  ])('a bad PORTALCTL_SMTP_URL (%s) is exit 2 before anything is recorded', async (url, words) => {
    const r = await invite('never@example.org', { PORTALCTL_SMTP_URL: url });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(words);
    expect((await w.json(['users', 'list', '--search', 'never@'])).users).toEqual([]);
  });
});

// A bulk send talks to the relay from a thread of its own (src/mail/threaded.ts): each email's
// outcome, and the kind of failure, must come back from it as it would from the main thread.
describe('a bulk send (the mail thread)', () => {
  const people = (n: number, name: string) => {
    const file = join(w.dir, name);
    writeFileSync(file, `email,first_name,last_name\n${Array.from({ length: n }, (_, i) => `${name}${i}@example.org,Bulk,Person${i}`).join('\n')}\n`);
    return file;
  };

  it("each email gets its own outcome: the refused one failed with the server's reason, the rest sent once, with working links", async () => {
    const before = smtp.messages.length;
    smtp.fault = { kind: 'rcpt', code: 550, message: 'No such user here', only: 'one2@example.org' };
    try {
      const r = await w.run(['users', 'invite', '--from-csv', people(6, 'one'), '--yes'], { env: { PORTALCTL_SMTP_URL: smtp.url } });
      expect(r.exitCode, r.stderr).toBe(1);
      expect(r.stderr).toContain('warning: the mail server refused the email to one2@example.org');
      expect(r.stderr).toContain('550 No such user here');
    } finally {
      smtp.fault = { kind: 'none' };
    }
    expect(
      smtp.messages
        .slice(before)
        .map((m) => (m.to as { text: string }).text)
        .sort(),
    ).toEqual(['one0', 'one1', 'one3', 'one4', 'one5'].map((n) => `${n}@example.org`));
    const failed = (await w.json(['outbox', 'list'])).messages.filter((m: { to: string }) => m.to.startsWith('one'));
    expect(failed).toEqual([expect.objectContaining({ to: 'one2@example.org', state: 'failed', lastError: '550 No such user here' })]);
    expect((await link('one4@example.org', 'one4')).exitCode).toBe(0);
  });

  it('a relay that refuses for now: every email queued (exit 75), then `outbox send` delivers each once', async () => {
    const before = smtp.messages.length;
    smtp.fault = { kind: 'rcpt', code: 451, message: 'Temporary local problem' };
    try {
      const r = await w.run(['users', 'invite', '--from-csv', people(3, 'later'), '--yes'], { env: { PORTALCTL_SMTP_URL: smtp.url } });
      expect(r.exitCode, r.stderr).toBe(75);
    } finally {
      smtp.fault = { kind: 'none' };
    }
    expect(smtp.messages.length).toBe(before);
    const queued = (await w.json(['outbox', 'list'])).messages.filter((m: { to: string }) => m.to.startsWith('later'));
    expect(queued.map((m: { state: string; lastError: string }) => [m.state, m.lastError])).toEqual(Array(3).fill(['queued', '451 Temporary local problem']));
    const sent = await w.json(['outbox', 'send'], { env: { PORTALCTL_SMTP_URL: smtp.url } });
    expect(sent.messages.filter((m: { to: string }) => m.to.startsWith('later')).map((m: { state: string }) => m.state)).toEqual(['sent', 'sent', 'sent']);
    const later = smtp.messages
      .slice(before)
      .map((m) => (m.to as { text: string }).text)
      .filter((to) => to.startsWith('later'));
    expect(later.sort()).toEqual(['later0@example.org', 'later1@example.org', 'later2@example.org']);
    expect((await link('later1@example.org', 'later1')).exitCode).toBe(0);
  });

  it('a relay that cannot be reached: the run gives up, what it claimed ahead goes back untried, and `outbox send` delivers each once', async () => {
    const r = await w.run(['users', 'invite', '--from-csv', people(20, 'gone'), '--yes'], { env: { PORTALCTL_SMTP_URL: down } });
    expect(r.exitCode, r.stderr).toBe(75);
    type Listed = { to: string; state: string; attempts: number };
    const listed: Listed[] = (await w.json(['outbox', 'list'])).messages.filter((m: Listed) => m.to.startsWith('gone'));
    expect(listed.map((m) => m.state)).toEqual(Array(20).fill('queued'));
    // Five connections failed in a row (the default pool): only a message handed to a connection counts an attempt.
    const tried = listed.filter((m) => m.attempts > 0).length;
    expect(tried).toBeGreaterThanOrEqual(5);
    expect(tried).toBeLessThanOrEqual(9);
    expect(inspect(w.db).claimed).toBe(0);
    const before = smtp.messages.length;
    const sent = await w.run(['outbox', 'send'], { env: { PORTALCTL_SMTP_URL: smtp.url } });
    expect(sent.exitCode, sent.stderr).toBe(0);
    const gone = smtp.messages.slice(before).map((m) => (m.to as { text: string }).text);
    expect(gone.filter((to) => to.startsWith('gone')).sort()).toEqual(Array.from({ length: 20 }, (_, i) => `gone${i}@example.org`).sort());
  });
});
