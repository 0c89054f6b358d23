// Issue 14: secrets must appear nowhere we print or keep. `config` masking
// by parsing (Medium); a relay that echoes AUTH PLAIN/LOGIN in its 535 reply
// (Low); AUTH only after STARTTLS unless ?tls=off (Low). Every place is
// searched for the password and its encoded forms: stdout, stderr, --json,
// --debug, outbox list, doctor, config, events, and the store's own bytes.

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GRANTS, world, type World } from '../helpers/run.js';
import { startLyingSmtp, type LyingSmtp } from '../helpers/smtp.js';
import { expectNoSecret, leakForms } from './fixtures.js';
import { storeSql } from '../helpers/sql.js';

const USER = 'mailer@grants.example.org';
const PASSWORDS = ['ss@S3cr3t-PW', 'pa/ss-S3cr3t', 'p#w?S3cr3t%', 'plain-S3cr3t'];

let w: World;
beforeEach(async () => {
  w = world();
  expect((await w.run(GRANTS)).exitCode).toBe(0);
});
afterEach(() => w.close());

/** Everything portalctl shows or keeps after a run, to be searched for secrets. */
async function everything(w: World, env: Record<string, string>): Promise<[string, string][]> {
  const out: [string, string][] = [];
  for (const argv of [
    ['outbox', 'list'],
    ['--json', 'outbox', 'list'],
    ['outbox', 'send'],
    ['--json', 'outbox', 'send'],
    ['--debug', 'outbox', 'send'],
    ['doctor'],
    ['--json', 'doctor'],
    ['--debug', 'doctor'],
    ['config'],
    ['--json', 'config'],
    ['--json', 'events'],
    ['--json', 'users', 'show', '1'],
    ['--json', 'audit'],
  ]) {
    const r = await w.run(argv, { env });
    out.push([`${argv.join(' ')} stdout`, r.stdout], [`${argv.join(' ')} stderr`, r.stderr]);
  }
  out.push(['outbox.last_error', JSON.stringify(await storeSql(w, 'SELECT last_error FROM outbox'))]);
  out.push(['events', JSON.stringify(await storeSql(w, 'SELECT data FROM events'))]);
  // The store's bytes themselves (SQLite): main file and write-ahead log, as latin1 so base64 and ASCII forms are found.
  for (const f of [w.db, `${w.db}-wal`]) if (existsSync(f)) out.push([f, readFileSync(f).toString('latin1')]);
  return out;
}

describe('config masks the SMTP password by parsing the URL', () => {
  it.each(PASSWORDS)('password %j, raw in the URL, in the environment and in a 0600 config file: never printed, text or --json', async (password) => {
    const urls = [`smtp://${USER}:${password}@127.0.0.1:1`, `smtp://${USER}:${encodeURIComponent(password)}@127.0.0.1:1`, `SMTPS://u:${password}@relay`];
    for (const url of urls) {
      const file = join(w.dir, 'config.json');
      writeFileSync(file, JSON.stringify({ smtpUrl: url, db: `postgres://pg:${password}@db.example.org/portalctl` }));
      chmodSync(file, 0o600);
      for (const env of [{ PORTALCTL_SMTP_URL: url }, { PORTALCTL_CONFIG: file }]) {
        for (const argv of [['config'], ['--json', 'config'], ['--debug', 'config']]) {
          const r = await w.run(argv, { env });
          expect(r.exitCode, r.stderr).toBe(0);
          expect(r.stdout + r.stderr).not.toContain('S3cr3t');
        }
      }
    }
  });

  it('a PostgreSQL URL carrying the password as ?password=…: masked by config, and a config file holding it must be 0600', async () => {
    const urls = ['postgres://pg@127.0.0.1:1/portalctl?password=S3cr3t', 'postgresql://pg@127.0.0.1:1/portalctl?sslmode=disable&password=S3cr3t%2F1'];
    for (const db of urls) {
      for (const argv of [['config'], ['--json', 'config'], ['--debug', 'config']]) {
        const r = await w.run(['--db', db, ...argv]);
        expect(r.exitCode, r.stderr).toBe(0);
        expect(r.stdout + r.stderr).not.toContain('S3cr3t');
        expect(r.stdout).toMatch(/password=(\*\*\*|%2A%2A%2A)/);
      }
      const file = join(w.dir, 'config.json');
      writeFileSync(file, JSON.stringify({ db }));
      chmodSync(file, 0o644);
      const r = await w.run(['--json', 'config'], { env: { PORTALCTL_CONFIG: file } });
      expect(r.exitCode, r.stderr).toBe(2);
      expect(JSON.parse(r.stderr).error).toMatchObject({
        code: 'invalid_config',
        message: expect.stringMatching(/holds a password but can be read by others/),
      });
      expect(r.stdout + r.stderr).not.toContain('S3cr3t');
    }
  });

  it('a URL refused for carrying a password is quoted without it: a webhook in the config file, a portal URL', async () => {
    const secret = join(w.dir, 'hook-secret');
    writeFileSync(secret, 'k', { mode: 0o600 });
    const file = join(w.dir, 'config.json');
    writeFileSync(file, JSON.stringify({ webhooks: [{ url: 'https://hook:S3cr3t@hooks.example.org/in', secretFile: secret }] }), { mode: 0o600 });
    for (const argv of [['config'], ['--json', 'users', 'list'], ['--debug', 'doctor']]) {
      const r = await w.run(argv, { env: { PORTALCTL_CONFIG: file } });
      expect(r.exitCode, r.stderr).toBe(2);
      expect(r.stderr).toMatch(/a URL with a user name or password is not allowed/);
      expect(r.stdout + r.stderr).not.toContain('S3cr3t');
    }
    for (const url of ['https://admin:S3cr3t@q.example.org', 'https://admin:S3 cr3t@q.example.org', 'https://admin:S3cr3t@q.example.org:99999']) {
      const r = await w.run(['--json', 'portals', 'add', 'q', '--name', 'Q', '--url', url, '--admin-email', 'admin@example.org']);
      expect(r.exitCode, r.stderr).toBe(2);
      expect(JSON.parse(r.stderr).error.code).toBe('invalid_url');
      expect(r.stdout + r.stderr).not.toMatch(/S3(%20| )?cr3t/);
    }
  });

  it('config shows a webhook URL without its query (it may carry a key), as every other message does', async () => {
    const secret = join(w.dir, 'hook-secret');
    writeFileSync(secret, 'k', { mode: 0o600 });
    const file = join(w.dir, 'config.json');
    writeFileSync(file, JSON.stringify({ webhooks: [{ url: 'https://hooks.example.org/in?key=S3cr3t', secretFile: secret }] }), { mode: 0o600 });
    for (const argv of [['config'], ['--json', 'config']]) {
      const r = await w.run(argv, { env: { PORTALCTL_CONFIG: file } });
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stdout).toContain('https://hooks.example.org/in?…');
      expect(r.stdout + r.stderr).not.toContain('S3cr3t');
    }
  });

  it('a URL that does not parse is not printed at all (it may hold a password)', async () => {
    for (const url of ['smtp:mailer:S3cr3t@relay', 'smtp://mailer:S3cr3t@relay:99999', 'smtp://mailer:S3cr3t@[::1']) {
      const r = await w.run(['--json', 'config'], { env: { PORTALCTL_SMTP_URL: url } });
      expect(r.stdout + r.stderr, url).not.toContain('S3cr3t');
    }
  });
});

describe('a relay that echoes the credentials in its 535 reply', () => {
  let relay: LyingSmtp;
  const password = 'ss@S3cr3t-PW/x';
  afterAll(() => relay?.close());

  for (const mechanism of ['PLAIN', 'LOGIN'] as const) {
    it(`AUTH ${mechanism}: the password and its base64 forms appear nowhere — output, --json, --debug, outbox list, doctor, events, the store`, async () => {
      relay = await startLyingSmtp({
        extensions: [`AUTH ${mechanism}`],
        auth: (line) => {
          if (mechanism === 'LOGIN' && /^AUTH LOGIN$/i.test(line)) return '334 VXNlcm5hbWU6';
          if (mechanism === 'LOGIN' && line === Buffer.from(USER).toString('base64')) return '334 UGFzc3dvcmQ6';
          return `535 5.7.8 Authentication failed for ${line} (password ${password}, ${encodeURIComponent(password)})`;
        },
      });
      const env = { PORTALCTL_SMTP_URL: `smtp://${encodeURIComponent(USER)}:${encodeURIComponent(password)}@127.0.0.1:${relay.port}?tls=off` };
      const forms = leakForms(USER, password);
      const runs: [string, string][] = [];
      for (const extra of [[], ['--json'], ['--debug']]) {
        const r = await w.run(
          [
            ...extra,
            'users',
            'invite',
            '--email',
            `jane${extra.length}${extra[0] ?? ''}@example.org`.replace('--', ''),
            '--first-name',
            'Jane',
            '--last-name',
            'Doe',
          ],
          {
            env,
          },
        );
        expect(r.exitCode, r.stderr).toBe(75);
        runs.push([`invite ${extra} stdout`, r.stdout], [`invite ${extra} stderr`, r.stderr]);
      }
      // The relay really got the secret (and echoed it): the test attacks what it means to.
      expect(forms.some((f) => relay.commands.join('\n').includes(f))).toBe(true);
      for (const [where, text] of [...runs, ...(await everything(w, env))]) expectNoSecret(where, text, forms);
      // The reason is still there, masked, for the administrator.
      const list = await w.json(['outbox', 'list'], { env });
      expect(list.messages[0].lastError).toMatch(/535 5\.7\.8 Authentication failed for .*\*\*\*/);
      expect(list.messages[0].state).toBe('queued');
      await relay.close();
    });
  }
});

describe('AUTH is never sent in clear', () => {
  let relay: LyingSmtp;
  beforeAll(async () => {
    relay = await startLyingSmtp({ extensions: ['AUTH PLAIN LOGIN'] }); // no STARTTLS
  });
  afterAll(() => relay.close());

  it('to a relay that offers no STARTTLS: no AUTH command reaches it, the email stays queued (exit 75) and the reason names TLS', async () => {
    const url = `smtp://${encodeURIComponent(USER)}:S3cr3t@127.0.0.1:${relay.port}`;
    const r = await w.run(['users', 'invite', '--email', 'jane@example.org', '--first-name', 'Jane', '--last-name', 'Doe'], {
      env: { PORTALCTL_SMTP_URL: url },
    });
    expect(r.exitCode, r.stderr).toBe(75);
    expect(relay.commands.filter((c) => /^AUTH/i.test(c))).toEqual([]);
    expect(relay.commands).toContain('STARTTLS');
    expect(relay.accepted).toBe(0);
    expect(r.stderr, r.stderr).toMatch(/STARTTLS|TLS/);
    const doctor = await w.run(['doctor'], { env: { PORTALCTL_SMTP_URL: url } });
    expect(doctor.stdout).toMatch(/fail\s+mail\s.*TLS/);
    expect(relay.commands.filter((c) => /^AUTH/i.test(c))).toEqual([]);
  });

  it('unless the URL says ?tls=off (a local relay): then AUTH is sent and the email goes out', async () => {
    const url = `smtp://${encodeURIComponent(USER)}:S3cr3t@127.0.0.1:${relay.port}?tls=off`;
    const r = await w.run(['users', 'invite', '--email', 'joe@example.org', '--first-name', 'Joe', '--last-name', 'Doe'], { env: { PORTALCTL_SMTP_URL: url } });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(relay.commands.some((c) => /^AUTH/i.test(c))).toBe(true);
    expect(relay.accepted).toBe(1);
  });
});
