// Issue 14, Medium "Exit 2 after a commit" (and Low: an upper-case SMTP://
// in a readable config file): every mail setting is resolved and checked
// before the first write. A bad setting is exit 2 and nothing is recorded —
// no user, no queued email, no audit record, no dead link.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chmodSync, existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { storeCount } from '../helpers/sql.js';
import { GRANTS, world, type World } from '../helpers/run.js';
import { peopleCsv, tokenInMail } from './fixtures.js';

let w: World;
beforeEach(async () => {
  w = world();
  expect((await w.run(GRANTS)).exitCode).toBe(0);
});
afterEach(() => w.close());

async function counts(w: World) {
  return {
    users: await storeCount(w, 'FROM users'),
    registrations: await storeCount(w, 'FROM registrations'),
    outbox: await storeCount(w, 'FROM outbox'),
    audit: await storeCount(w, "FROM audit WHERE action <> 'portal-add'"),
    events: await storeCount(w, 'FROM events'),
    activeRegistrations: await storeCount(w, "FROM registrations WHERE state = 'active'"),
  };
}

interface BadSetting {
  name: string;
  code: string;
  setup(w: World): Record<string, string>;
  /** Puts things right where the environment alone does not. */
  fix?(w: World): void;
}

const BAD: BadSetting[] = [
  { name: 'PORTALCTL_SMTP_URL=http://…', code: 'invalid_smtp_url', setup: () => ({ PORTALCTL_SMTP_URL: 'http://relay.example.org:25' }) },
  {
    name: 'a group-readable SMTP password file',
    code: 'invalid_secret_file',
    setup: (w) => {
      const file = join(w.dir, 'smtp-password');
      writeFileSync(file, 'S3cr3t\n');
      chmodSync(file, 0o640);
      return { PORTALCTL_SMTP_URL: 'smtp://mailer@127.0.0.1:1', PORTALCTL_SMTP_PASSWORD_FILE: file };
    },
  },
  { name: 'PORTALCTL_MAIL_FROM with two addresses', code: 'invalid_sender', setup: () => ({ PORTALCTL_MAIL_FROM: 'a@example.org, b@example.org' }) },
  {
    name: 'PORTALCTL_MAIL_FROM with a header break',
    code: 'invalid_sender',
    setup: () => ({ PORTALCTL_MAIL_FROM: 'Grants <a@example.org>\r\nBcc: x@evil.example' }),
  },
  {
    name: 'a mail folder others can write to (with a planted symlink)',
    code: 'invalid_mail_dir',
    setup: (w) => {
      mkdirSync(w.mailDir, { recursive: true });
      chmodSync(w.mailDir, 0o1777);
      symlinkSync(join(w.dir, 'stolen'), join(w.mailDir, 'planted.eml'));
      return {};
    },
    fix: (w) => chmodSync(w.mailDir, 0o700),
  },
  {
    name: 'an upper-case SMTP:// URL with a password in a config file others can read',
    code: 'invalid_config',
    setup: (w) => {
      const file = join(w.dir, 'config.json');
      writeFileSync(file, JSON.stringify({ smtpUrl: 'SMTP://mailer:S3cr3t@127.0.0.1:1' }));
      chmodSync(file, 0o644);
      return { PORTALCTL_CONFIG: file };
    },
  },
  {
    // Issue 9: this sender in the config file was first resolved after the write (exit 2 with the user and the email committed).
    name: 'a bad mailFrom in the config file (with an smtpUrl that nothing would answer)',
    code: 'invalid_sender',
    setup: (w) => {
      const file = join(w.dir, 'config.json');
      writeFileSync(file, JSON.stringify({ mailFrom: 'not-an-address', smtpUrl: 'smtp://127.0.0.1:1' }), { mode: 0o600 });
      return { PORTALCTL_CONFIG: file };
    },
  },
];

describe.each(BAD)('$name', (bad) => {
  it('users invite --from-csv (20 people): exit 2, nobody invited, nothing queued; the same file works once fixed', async () => {
    const env = bad.setup(w);
    const csv = peopleCsv(w.dir, 20);
    const before = await counts(w);
    const r = await w.run(['--json', 'users', 'invite', '--from-csv', csv, '--yes'], { env });
    expect(r.exitCode, r.stderr).toBe(2);
    expect(JSON.parse(r.stderr).error.code).toBe(bad.code);
    expect(await counts(w)).toEqual(before);
    // Fixed (default settings): everyone is invited, nobody is "already registered".
    bad.fix?.(w);
    const ok = await w.run(['--json', 'users', 'invite', '--from-csv', csv, '--yes'], { env: { PORTALCTL_CONFIG: undefined } });
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout).skipped).toEqual([]);
    expect(JSON.parse(ok.stdout).users).toHaveLength(20);
    expect(existsSync(join(w.dir, 'stolen'))).toBe(false);
  });

  it('users invite (one person): exit 2, nothing recorded', async () => {
    const env = bad.setup(w);
    const before = await counts(w);
    const r = await w.run(['--json', 'users', 'invite', '--email', 'jane@example.org', '--first-name', 'Jane', '--last-name', 'Doe'], { env });
    expect(r.exitCode, r.stderr).toBe(2);
    expect(JSON.parse(r.stderr).error.code).toBe(bad.code);
    expect(await counts(w)).toEqual(before);
  });

  it("users resend-registration: exit 2, and the user's live link keeps working", async () => {
    expect((await w.run(['users', 'invite', '--email', 'jane@example.org', '--first-name', 'Jane', '--last-name', 'Doe'])).exitCode).toBe(0);
    const token = await tokenInMail(w.mailDir, 1);
    const mails = readdirSync(w.mailDir).length;
    const env = bad.setup(w);
    const before = await counts(w);
    for (const argv of [
      ['users', 'resend-registration', '1'],
      ['users', 'resend-registration', '--all-expired', '--yes'],
    ]) {
      const r = await w.run(['--json', ...argv], { env, now: '2026-12-30T00:00:00Z' });
      expect(r.exitCode, r.stderr).toBe(2);
      expect(JSON.parse(r.stderr).error.code).toBe(bad.code);
    }
    expect(await counts(w)).toEqual(before);
    expect(readdirSync(w.mailDir)).toHaveLength(mails + (bad.code === 'invalid_mail_dir' ? 1 : 0)); // + the planted link
    bad.fix?.(w);
    const link = await w.run(['--json', 'link', '--service', 'nih', '--account', 'jdoe', '--', token], { env: { PORTALCTL_CONFIG: undefined } });
    expect(link.exitCode, link.stderr).toBe(0);
  });

  it('outbox send: exit 2 before any message is claimed', async () => {
    const env = bad.setup(w);
    const r = await w.run(['--json', 'outbox', 'send'], { env });
    expect(r.exitCode, r.stderr).toBe(2);
    expect(JSON.parse(r.stderr).error.code).toBe(bad.code);
  });
});
