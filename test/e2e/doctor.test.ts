// `portalctl doctor` against real setups: a real SMTP server with a login, a
// closed port, a store readable by others, a queue with undelivered emails.

import { afterEach, describe, expect, it } from 'vitest';
import { chmodSync, existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { dirname } from 'node:path';
import { GRANTS, sandbox, type RunResult, type Sandbox } from '../helpers/cli.js';
import { startSmtp, type TestSmtp } from '../helpers/smtp.js';

const PASSWORD = 's3cretpw';
const PORTAL = [...GRANTS, '--register-url', 'https://login.example.org/register'];
const LINE = /^(ok|warn|fail) {2}([^:]+): (.+)$/;

let sb: Sandbox | undefined;
let smtp: TestSmtp | undefined;
afterEach(async () => {
  sb?.cleanup();
  sb = undefined;
  await smtp?.close();
  smtp = undefined;
});

/** An SMTP server that accepts only u / s3cretpw. */
async function smtpWithLogin(): Promise<TestSmtp> {
  return startSmtp({
    authOptional: false,
    allowInsecureAuth: true,
    authMethods: ['PLAIN', 'LOGIN'],
    onAuth(auth, _session, cb) {
      if (auth.username === 'u' && auth.password === PASSWORD) return cb(null, { user: 'u' });
      cb(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }));
    },
  });
}

/** A port on 127.0.0.1 that nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function lines(r: RunResult): { status: string; name: string; detail: string }[] {
  return r.stdout
    .trimEnd()
    .split('\n')
    .map((l) => {
      const m = LINE.exec(l);
      if (!m) throw new Error(`not a check line: ${JSON.stringify(l)}\n${r.stdout}`);
      return { status: m[1]!, name: m[2]!, detail: m[3]! };
    });
}

const check = (r: RunResult, name: string) => lines(r).find((l) => l.name === name);

function expectNoPassword(...runs: RunResult[]): void {
  for (const r of runs) {
    expect(r.stdout).not.toContain(PASSWORD);
    expect(r.stderr).not.toContain(PASSWORD);
  }
}

describe('portalctl doctor', () => {
  it('passes every check on a working setup: store, portal, a real SMTP server with a login', async () => {
    smtp = await smtpWithLogin();
    const url = `smtp://u:${PASSWORD}@127.0.0.1:${smtp.port}`;
    sb = sandbox({ PORTALCTL_SMTP_URL: url, PORTALCTL_MAIL_FROM: 'portal@example.org' });
    expect((await sb.run(PORTAL)).exitCode).toBe(0);
    expect((await sb.run(['users', 'invite', '--email', 'jane@example.org', '--first-name', 'Jane', '--last-name', 'Doe'])).exitCode).toBe(0);
    expect(smtp.messages).toHaveLength(1);

    const r = await sb.run(['doctor']);
    expect(r.exitCode, r.stderr).toBe(0);
    const all = lines(r);
    expect(
      all.filter((l) => l.status !== 'ok'),
      r.stdout,
    ).toEqual([]);
    expect(all.map((l) => l.name)).toEqual([
      'store',
      'store permissions',
      'store schema',
      'store integrity',
      'store journal',
      'mail',
      'mail from',
      'portals',
      'portal grants',
      'queue',
    ]);
    expect(check(r, 'store')!.detail).toContain(sb.db);
    expect(check(r, 'store permissions')!.detail).toContain('0600');
    expect(check(r, 'store journal')!.detail).toMatch(/WAL/);
    expect(check(r, 'mail')!.detail).toBe(`smtp://u:***@127.0.0.1:${smtp.port}: reachable, login accepted as u, TLS only if the server offers STARTTLS`);
    expect(check(r, 'portal grants')!.detail).toContain('https://grants.example.org');
    expect(r.stderr).toContain('Everything looks fine.');
    // Doctor sent nothing and left the store as it was.
    expect(smtp.messages).toHaveLength(1);
    expect(statSync(sb.db).mode & 0o777).toBe(0o600);
    expect(existsSync(`${sb.db}-wal`)).toBe(false);
    expectNoPassword(r);
  });

  it('fails on a closed SMTP port, warns about a store readable by others and queued email, and never shows the password', async () => {
    const port = await closedPort();
    const url = `smtp://u:${PASSWORD}@127.0.0.1:${port}`;
    sb = sandbox({ PORTALCTL_SMTP_URL: url });
    expect((await sb.run(PORTAL)).exitCode).toBe(0);
    const invited = await sb.run(['users', 'invite', '--email', 'jane@example.org', '--first-name', 'Jane', '--last-name', 'Doe']);
    expect(invited.exitCode).toBe(75);
    chmodSync(sb.db, 0o644);

    const r = await sb.run(['doctor']);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toMatch(new RegExp(`^fail {2}mail: smtp://u:\\*\\*\\*@127\\.0\\.0\\.1:${port}: .*ECONNREFUSED.*check the host and port`, 'm'));
    expect(check(r, 'store permissions')).toEqual({
      status: 'warn',
      name: 'store permissions',
      detail: `${sb.db} has mode 0644: other users can read names and addresses; run \`chmod 600 ${sb.db}\``,
    });
    expect(check(r, 'queue')).toMatchObject({ status: 'warn', detail: expect.stringContaining('1 email queued for a retry; run `portalctl outbox send`') });
    expect(check(r, 'store')!.status).toBe('ok');
    expect(check(r, 'portal grants')!.status).toBe('ok');
    expect(r.stderr).toMatch(/^error: 1 check failed: mail\.$/m);
    // Doctor reports the mode; it does not quietly change it.
    expect(statSync(sb.db).mode & 0o777).toBe(0o644);

    const quiet = await sb.run(['doctor', '-q']);
    expect(quiet.exitCode).toBe(1);
    expect(
      lines(quiet)
        .map((l) => l.status)
        .sort(),
    ).toEqual(['fail', 'warn', 'warn']);

    const json = await sb.run(['--json', 'doctor']);
    expect(json.exitCode).toBe(1);
    expect(JSON.parse(json.stderr)).toEqual({ error: { code: 'doctor_failed', message: '1 check failed: mail.', details: { failed: ['mail'] } } });
    expectNoPassword(invited, r, quiet, json);
  });

  it('--json prints one document of checks and ok', async () => {
    smtp = await smtpWithLogin();
    sb = sandbox({ PORTALCTL_SMTP_URL: `smtp://u:${PASSWORD}@127.0.0.1:${smtp.port}` });
    expect((await sb.run(PORTAL)).exitCode).toBe(0);
    const r = await sb.run(['--json', 'doctor']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const doc = JSON.parse(r.stdout) as { checks: { name: string; status: string; detail: string }[]; ok: boolean };
    expect(Object.keys(doc).sort()).toEqual(['checks', 'ok']);
    expect(doc.ok).toBe(true);
    for (const c of doc.checks) {
      expect(Object.keys(c).sort()).toEqual(['detail', 'name', 'status']);
      expect(c.status).toBe('ok');
      expect(typeof c.detail).toBe('string');
    }
    expect(doc.checks.find((c) => c.name === 'mail')!.detail).toContain('smtp://u:***@');

    // A wrong password: the server's reason, never the password.
    const wrong = await sb.run(['--json', 'doctor'], { env: { PORTALCTL_SMTP_URL: `smtp://u:wrong-${PASSWORD}@127.0.0.1:${smtp.port}` } });
    expect(wrong.exitCode).toBe(1);
    const bad = JSON.parse(wrong.stdout) as typeof doc;
    expect(bad.ok).toBe(false);
    expect(bad.checks.find((c) => c.name === 'mail')).toMatchObject({
      status: 'fail',
      detail: expect.stringMatching(/535.*Invalid username or password.*check the user name and password/),
    });
    expectNoPassword(r, wrong);
    expect(wrong.stdout + wrong.stderr).not.toContain(`wrong-`);
  });

  it('without SMTP: says where the .eml files go, creates a missing store and says where, warns when there is no portal', async () => {
    sb = sandbox();
    expect(existsSync(sb.db)).toBe(false);
    const r = await sb.run(['doctor']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(check(r, 'store')).toMatchObject({ status: 'ok', detail: expect.stringContaining(`${sb.db} (did not exist; created it now`) });
    expect(existsSync(sb.db)).toBe(true);
    expect(check(r, 'mail')).toMatchObject({ status: 'ok', detail: expect.stringContaining(`emails are written as .eml files to ${sb.mailDir}`) });
    expect(check(r, 'portals')).toMatchObject({ status: 'warn', detail: expect.stringContaining('portalctl portals add') });
    expect(check(r, 'queue')!.status).toBe('ok');
  });

  it('fails on a file that is not a store, an http portal warns, a bad PORTALCTL_MAIL_FROM fails', async () => {
    sb = sandbox();
    mkdirSync(dirname(sb.db), { recursive: true });
    writeFileSync(sb.db, 'this is not a database, just some text that is long enough to have a header', { mode: 0o600 });
    const r = await sb.run(['doctor']);
    expect(r.exitCode).toBe(1);
    expect(check(r, 'store')).toMatchObject({ status: 'fail', detail: expect.stringContaining('not a SQLite database') });
    expect(check(r, 'portals')).toMatchObject({ status: 'warn', detail: expect.stringContaining('not checked') });

    const other = sandbox();
    try {
      expect(
        (await other.run(['portals', 'add', 'old', '--name', 'Old', '--url', 'http://old.example.org', '--admin-email', 'admin@example.org'])).exitCode,
      ).toBe(0);
      const d = await other.run(['doctor'], { env: { PORTALCTL_MAIL_FROM: 'not an address' } });
      expect(d.exitCode).toBe(1);
      expect(check(d, 'portal old')).toMatchObject({ status: 'warn', detail: expect.stringContaining('http://old.example.org is not https') });
      expect(check(d, 'mail from')).toMatchObject({ status: 'fail', detail: expect.stringContaining('PORTALCTL_MAIL_FROM') });
      expect(check(d, 'mail')!.status).toBe('ok');
    } finally {
      other.cleanup();
    }
  });
});

describe('portalctl doctor and the outbox', () => {
  it('warns with the count of emails the mail server refused', async () => {
    smtp = await startSmtp();
    sb = sandbox({ PORTALCTL_SMTP_URL: smtp.url });
    expect((await sb.run(PORTAL)).exitCode).toBe(0);
    smtp.fault = { kind: 'rcpt', code: 550, message: 'No such user here' };
    for (const who of ['jane', 'john']) {
      expect((await sb.run(['users', 'invite', '--email', `${who}@example.org`, '--first-name', who, '--last-name', 'Doe'])).exitCode).toBe(1);
    }
    smtp.fault = { kind: 'none' };
    const r = await sb.run(['doctor']);
    expect(r.exitCode, r.stdout).toBe(0);
    expect(check(r, 'queue')).toEqual({
      status: 'warn',
      name: 'queue',
      detail: '2 emails refused by the mail server; see `portalctl outbox list` and send new registrations with `portalctl users resend-registration`',
    });
    expect(r.stderr).toContain('1 warning');
  });
});
