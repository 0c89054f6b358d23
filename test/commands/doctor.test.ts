// `portalctl doctor` against real setups: an SMTP server with a login, a
// closed port, a store readable by others, a queue with undelivered emails.
// Doctor looks and changes nothing.

import { afterEach, describe, expect, it } from 'vitest';
import { chmodSync, existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { closedPort } from '../helpers/ports.js';
import { dirname, join } from 'node:path';
import { parse } from '../../src/commands/doctor.js';
import { LATEST_POSTGRES_VERSION } from '../../src/store/postgres/migrate.js';
import { LATEST_SQLITE_VERSION } from '../../src/store/sqlite/facts.js';
import { GRANTS, onPostgres, rawInput, strip, world, type RunResult, type World } from '../helpers/run.js';
import { startSmtp, type TestSmtp } from '../helpers/smtp.js';

const PASSWORD = 's3cretpw';
const PORTAL = [...GRANTS, '--register-url', 'https://login.example.org/register'];
/** Doctor warns when PORTALCTL_NOW overrides the clock; a real setup has none. */
const REAL_CLOCK = { PORTALCTL_NOW: undefined };

let w: World | undefined;
let smtp: TestSmtp | undefined;
afterEach(async () => {
  w?.close();
  w = undefined;
  await smtp?.close();
  smtp = undefined;
});

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

type Line = { status: string; name: string; detail: string };
function lines(r: RunResult): Line[] {
  return r.stdout
    .trimEnd()
    .split('\n')
    .map((l) => {
      const [status, name, detail] = l.split('\t');
      if (!['ok', 'warn', 'fail'].includes(status!) || detail === undefined) throw new Error(`not a check line: ${JSON.stringify(l)}`);
      return { status: status!, name: name!, detail };
    });
}
const check = (r: RunResult, name: string) => lines(r).find((l) => l.name === name);
const noPassword = (...runs: RunResult[]) => {
  for (const r of runs) expect(r.stdout + r.stderr).not.toContain(PASSWORD);
};

describe('parse', () => {
  it('takes no options', () => {
    expect(parse(rawInput())).toEqual({});
  });
});

describe('portalctl doctor', () => {
  it('passes every check on a working setup: the store, a portal, a real SMTP server with a login; sends nothing, changes nothing', async () => {
    smtp = await smtpWithLogin();
    // ?tls=off: the test server has no certificate, and a login otherwise waits for STARTTLS.
    w = world({ PORTALCTL_SMTP_URL: `smtp://u:${PASSWORD}@127.0.0.1:${smtp.port}?tls=off`, PORTALCTL_MAIL_FROM: 'Grants Portal <portal@example.org>' });
    expect((await w.run(PORTAL)).exitCode).toBe(0);
    expect((await w.run(['users', 'invite', '--email', 'jane@example.org', '--first-name', 'Jane', '--last-name', 'Doe'])).exitCode).toBe(0);
    expect(smtp.messages).toHaveLength(1);
    const before = w.kind === 'sqlite' ? statSync(w.db) : undefined;

    const r = await w.run(['doctor'], { env: REAL_CLOCK });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(lines(r).filter((l) => l.status !== 'ok')).toEqual([]);
    // What each store has to be checked for: SQLite's file; PostgreSQL's server, connection and role.
    const storeChecks =
      w.kind === 'sqlite'
        ? ['store', 'store schema', 'store permissions', 'store integrity', 'store journal']
        : ['store', 'store schema', 'store latency', 'store connection', 'store role'];
    expect(lines(r).map((l) => l.name)).toEqual([...storeChecks, 'mail from', 'mail', 'portals', 'portal grants', 'mail queue']);
    const engine = w.kind === 'sqlite' ? 'SQLite [\\d.]+' : 'PostgreSQL [\\d.]+ \\(.*\\)';
    expect(check(r, 'store')!.detail).toMatch(new RegExp(`^${w.db} \\(${engine}; round trip [\\d.]+ ms\\)$`));
    const migration = w.kind === 'sqlite' ? LATEST_SQLITE_VERSION : LATEST_POSTGRES_VERSION;
    expect(check(r, 'store schema')!.detail).toBe(`migration ${migration} (current)`);
    expect(check(r, 'mail from')!.detail).toBe('emails come from Grants Portal <portal@example.org>');
    expect(check(r, 'mail')!.detail).toBe(`smtp://u:***@127.0.0.1:${smtp.port}: reachable, login accepted as u, TLS only if the server offers STARTTLS`);
    expect(check(r, 'portal grants')!.detail).toBe(
      'https://grants.example.org, Site Administrator admin@example.org, Step 1 form https://login.example.org/register, reminders on days 2, 5, removal warning 7 days before',
    );
    expect(check(r, 'mail queue')!.detail).toBe('every email has been delivered');
    expect(r.stderr).toBe('Everything looks fine.\n');
    expect(smtp.messages).toHaveLength(1);
    if (before) {
      const after = statSync(w.db);
      expect([after.mode & 0o777, after.mtimeMs]).toEqual([0o600, before.mtimeMs]);
    }
    noPassword(r);

    const tty = await w.run(['doctor'], { env: REAL_CLOCK, tty: true });
    // The name column is as wide as the longest check name, which differs between the stores.
    expect(strip(tty.stdout)).toMatch(
      new RegExp(`^ok {4}store +${w.kind === 'sqlite' ? '/' : 'postgres://'}[^]*?\nok {4}store schema +migration ${migration}`),
    );
    expect(tty.stdout).toContain('\u001b[32mok  ');
  });

  it('fails on a closed SMTP port, warns about a store readable by others and queued email, never shows the password', async () => {
    const port = await closedPort();
    w = world({ PORTALCTL_SMTP_URL: `smtp://u:${PASSWORD}@127.0.0.1:${port}?tls=off` });
    expect((await w.run(PORTAL)).exitCode).toBe(0);
    const invited = await w.run(['users', 'invite', '--email', 'jane@example.org', '--first-name', 'Jane', '--last-name', 'Doe']);
    expect(invited.exitCode).toBe(75);
    // A SQLite file others can read (a PostgreSQL store has no file of ours to check).
    const file = w.kind === 'sqlite';
    if (file) chmodSync(w.db, 0o644);

    const r = await w.run(['doctor'], { env: REAL_CLOCK });
    expect(r.exitCode).toBe(1);
    expect(check(r, 'mail')).toEqual({
      status: 'fail',
      name: 'mail',
      detail: expect.stringMatching(new RegExp(`^smtp://u:\\*\\*\\*@127\\.0\\.0\\.1:${port}: .*ECONNREFUSED.*; check the host and port in PORTALCTL_SMTP_URL`)),
    });
    if (file)
      expect(check(r, 'store permissions')).toEqual({
        status: 'warn',
        name: 'store permissions',
        detail: expect.stringMatching(new RegExp(`^${w.db} has mode 0644(, .*)?: other users can read names and addresses; run \`chmod 600\` on (it|them)$`)),
      });
    expect(check(r, 'mail queue')).toEqual({ status: 'warn', name: 'mail queue', detail: '1 email queued for a retry; run `portalctl outbox send`' });
    expect(check(r, 'store')!.status).toBe('ok');
    expect(check(r, 'portal grants')!.status).toBe('ok');
    expect(r.stderr).toBe('error: 1 check failed: mail.\n');
    // Doctor reports the mode; it does not quietly change it.
    if (file) expect(statSync(w.db).mode & 0o777).toBe(0o644);

    const quiet = await w.run(['doctor', '-q'], { env: REAL_CLOCK });
    expect(quiet.exitCode).toBe(1);
    expect(lines(quiet).map((l) => `${l.status} ${l.name}`)).toEqual([...(file ? ['warn store permissions'] : []), 'fail mail', 'warn mail queue']);

    const json = await w.run(['--json', 'doctor'], { env: REAL_CLOCK });
    expect(json.exitCode).toBe(1);
    expect(JSON.parse(json.stderr)).toEqual({ error: { code: 'doctor_failed', message: '1 check failed: mail.', details: { failed: ['mail'] } } });
    expect(JSON.parse(json.stdout).ok).toBe(false);
    noPassword(invited, r, quiet, json);
  });

  it("--json prints one document of checks; a wrong password gives the server's reason, never the password", async () => {
    smtp = await smtpWithLogin();
    w = world({ PORTALCTL_SMTP_URL: `smtp://u:${PASSWORD}@127.0.0.1:${smtp.port}?tls=off` });
    expect((await w.run(PORTAL)).exitCode).toBe(0);
    const r = await w.run(['--json', 'doctor'], { env: REAL_CLOCK });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const doc = JSON.parse(r.stdout) as { checks: Line[]; ok: boolean };
    expect(Object.keys(doc).sort()).toEqual(['checks', 'ok']);
    expect(doc.ok).toBe(true);
    for (const c of doc.checks) expect(Object.keys(c).sort()).toEqual(['detail', 'name', 'status']);
    expect(doc.checks.find((c) => c.name === 'mail')!.detail).toContain('smtp://u:***@');

    const wrong = await w.run(['--json', 'doctor'], {
      env: { ...REAL_CLOCK, PORTALCTL_SMTP_URL: `smtp://u:wrong-${PASSWORD}@127.0.0.1:${smtp.port}?tls=off` },
    });
    expect(wrong.exitCode).toBe(1);
    const bad = JSON.parse(wrong.stdout) as typeof doc;
    expect(bad.ok).toBe(false);
    expect(bad.checks.find((c) => c.name === 'mail')).toMatchObject({
      status: 'fail',
      detail: expect.stringMatching(/535.*Invalid username or password.*check the user name and password/),
    });
    noPassword(r, wrong);
    expect(wrong.stdout + wrong.stderr).not.toContain('wrong-');
  });

  it('without SMTP: warns that emails only go to .eml files, and where', async () => {
    w = world();
    await w.run(PORTAL);
    const r = await w.run(['doctor'], { env: REAL_CLOCK });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(check(r, 'mail')).toMatchObject({ status: 'warn', detail: expect.stringContaining(`emails are only written as .eml files to ${w.mailDir}`) });
    expect(r.stderr).toBe('No check failed; 1 warning to look at.\n');
  });

  it('a missing store: the default one is a warning (the first command creates it), a named one fails; doctor creates neither', async () => {
    w = world({ PORTALCTL_DB: '' });
    const d = await w.run(['doctor'], { env: REAL_CLOCK });
    expect(d.exitCode).toBe(0);
    expect(check(d, 'store')).toMatchObject({
      status: 'warn',
      detail: expect.stringContaining('does not exist yet; the first portalctl command creates it (mode 0600)'),
    });
    const named = await w.run(['doctor'], { env: { ...REAL_CLOCK, PORTALCTL_DB: w.db } });
    expect(named.exitCode).toBe(1);
    expect(check(named, 'store')).toMatchObject({ status: 'fail', detail: expect.stringContaining('There is no store at') });
    expect(existsSync(w.db)).toBe(false);
  });

  it('warns when there is no portal, and when PORTALCTL_NOW overrides the clock', async () => {
    w = world();
    await w.run(PORTAL);
    const r = await w.run(['doctor']);
    expect(check(r, 'clock')).toMatchObject({ status: 'warn', detail: expect.stringContaining('PORTALCTL_NOW=2026-11-28T14:00:00Z overrides the clock') });
  });

  // A file: what only a SQLite store can be mistaken for.
  it.skipIf(onPostgres())('fails on a file that is not a store', async () => {
    w = world();
    mkdirSync(dirname(w.db), { recursive: true });
    writeFileSync(w.db, 'this is not a database, just some text that is long enough to have a header', { mode: 0o600 });
    const r = await w.run(['doctor'], { env: REAL_CLOCK });
    expect(r.exitCode).toBe(1);
    expect(check(r, 'store')).toMatchObject({ status: 'fail', detail: expect.stringContaining('is not a SQLite database') });
  });

  it('an http portal warns; a bad PORTALCTL_MAIL_FROM fails', async () => {
    w = world();
    expect((await w.run(['portals', 'add', 'old', '--name', 'Old', '--url', 'http://old.example.org', '--admin-email', 'admin@example.org'])).exitCode).toBe(0);
    const d = await w.run(['doctor'], { env: { ...REAL_CLOCK, PORTALCTL_MAIL_FROM: 'not an address' } });
    expect(d.exitCode).toBe(1);
    expect(check(d, 'portal old')).toMatchObject({ status: 'warn', detail: expect.stringContaining('the base URL http://old.example.org is not https') });
    expect(check(d, 'mail')).toMatchObject({ status: 'fail', detail: expect.stringContaining('PORTALCTL_MAIL_FROM') });
  });

  // Issue 9: doctor read the mail settings from the environment only, and said everything looked fine.
  it('a bad mailFrom in the config file fails, named with the file; the SMTP server is not tried', async () => {
    w = world();
    await w.run(PORTAL);
    const file = join(w.dir, 'config.json');
    writeFileSync(file, JSON.stringify({ mailFrom: 'not-an-address', smtpUrl: 'smtp://127.0.0.1:1' }), { mode: 0o600 });
    const d = await w.run(['--json', 'doctor'], { env: { ...REAL_CLOCK, PORTALCTL_CONFIG: file } });
    expect(d.exitCode).toBe(1);
    const doc = JSON.parse(d.stdout) as { ok: boolean; checks: Line[] };
    expect(doc.ok).toBe(false);
    const mail = doc.checks.filter((c) => c.name.startsWith('mail') && c.name !== 'mail queue');
    expect(mail).toEqual([{ name: 'mail', status: 'fail', detail: expect.stringMatching(/^Invalid sender address \(.*config\.json\) "not-an-address"/) }]);
    expect(JSON.parse(d.stderr).error.details).toEqual({ failed: ['mail'] });
  });

  it('an unreachable smtpUrl from the config file is named as that setting, not as PORTALCTL_SMTP_URL', async () => {
    w = world();
    await w.run(PORTAL);
    const file = join(w.dir, 'config.json');
    const port = await closedPort();
    writeFileSync(file, JSON.stringify({ smtpUrl: `smtp://127.0.0.1:${port}?tls=off` }), { mode: 0o600 });
    const d = await w.run(['--json', 'doctor'], { env: { ...REAL_CLOCK, PORTALCTL_CONFIG: file, PORTALCTL_SMTP_URL: undefined } });
    const mail = (JSON.parse(d.stdout) as { checks: Line[] }).checks.find((c) => c.name === 'mail')!;
    expect(mail).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining(`; check the host and port in smtpUrl in ${file} and that the mail server is running`),
    });
  });

  it('fails when the mail server refused emails, with the count and what to do', async () => {
    smtp = await startSmtp();
    w = world({ PORTALCTL_SMTP_URL: smtp.url });
    await w.run(PORTAL);
    smtp.fault = { kind: 'rcpt', code: 550, message: 'No such user here' };
    for (const who of ['jane', 'john']) {
      expect((await w.run(['users', 'invite', '--email', `${who}@example.org`, '--first-name', who, '--last-name', 'Doe'])).exitCode).toBe(1);
    }
    smtp.fault = { kind: 'none' };
    const r = await w.run(['doctor'], { env: REAL_CLOCK });
    expect(r.exitCode).toBe(1);
    expect(check(r, 'mail queue')).toEqual({
      status: 'fail',
      name: 'mail queue',
      detail: '2 emails REFUSED by the mail server and not retried; see `portalctl outbox list`, fix the cause, then `portalctl outbox send --include-failed`',
    });
  });
});
