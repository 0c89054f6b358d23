// The FAQ's registration email and Step 2 link, end to end: the built
// bin/portalctl, a real SMTP server on 127.0.0.1, a real SQLite file, and the
// clock moved with PORTALCTL_NOW.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, statSync } from 'node:fs';
import Database from 'better-sqlite3';
import { at, GRANTS, sandbox, T0, type Sandbox } from '../helpers/cli.js';
import { startSmtp, type TestSmtp } from '../helpers/smtp.js';
import { mintToken } from '../../src/domain/tokens.js';

let smtp: TestSmtp;
let sb: Sandbox;

beforeAll(async () => {
  smtp = await startSmtp();
  sb = sandbox({ PORTALCTL_SMTP_URL: '' });
  sb.env.PORTALCTL_SMTP_URL = smtp.url;
  sb.env.PORTALCTL_MAIL_FROM = 'portal@grants.example.org';
  expect((await sb.run(GRANTS)).exitCode).toBe(0);
});
afterAll(async () => {
  await smtp.close();
  sb.cleanup();
});

const invite = (email: string, first = 'Jane', last = 'Doe', now = T0) =>
  sb.run(['users', 'invite', '--email', email, '--first-name', first, '--last-name', last], { now });

describe('users invite sends the registration email', () => {
  it('with Step 1, Step 2, the exact expiry and zone, and the Site Administrator', async () => {
    const r = await invite('jane.doe@example.org');
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toContain(`sent via smtp://127.0.0.1:${smtp.port}`);
    const m = smtp.messages.at(-1)!;
    expect((m.to as { text: string }).text).toBe('jane.doe@example.org');
    expect((m.replyTo as { text: string }).text).toBe('admin@example.org');
    expect((m.from as { text: string }).text).toBe('portal@grants.example.org');
    expect(m.subject).toBe('Your registration for Grants Portal');
    expect(m.date?.toISOString()).toBe('2026-11-28T14:00:00.000Z'); // the Date header follows PORTALCTL_NOW
    const text = m.text!;
    expect(text).toMatch(/STEP 1[\s\S]*register for an IMS Login Service account[\s\S]*https:\/\/grants\.example\.org\/register\b/);
    expect(text).toMatch(/STEP 2[\s\S]*https:\/\/grants\.example\.org\/register\/link\?token=[A-Za-z0-9_-]{27}/);
    // 7 days after 2026-11-28 14:00 UTC, in the machine's zone (TZ=America/New_York here).
    expect(text).toContain('expires on Saturday, December 5, 2026 at 09:00 Eastern Standard Time (December 5, 14:00 UTC)');
    expect(text).toContain('Site Administrator: admin@example.org');
    expect(m.html).toContain(smtp.linkFor('jane.doe@example.org').replace(/&/g, '&amp;'));
    expect(m.html).not.toMatch(/<img/i);
  });

  it('refuses an address that already has a profile, pointing to resend-registration', async () => {
    const before = smtp.messages.length;
    const r = await invite('JANE.DOE@example.org');
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('users resend-registration 1');
    expect(smtp.messages.length).toBe(before);
  });

  it('the Users overview: piped TSV with one header line, and JSON', async () => {
    const tsv = await sb.run(['users', 'list']);
    expect(tsv.exitCode).toBe(0);
    const lines = tsv.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('ID\tName\tEmail\tUsername/ID (Login Service)\tStatus\tLink expires\tRemoval in');
    expect(lines[1]).toBe('1\tJane Doe (This account is not linked)...\tjane.doe@example.org\t\tpending\t2026-12-05T14:00:00.000Z\t30 days');
    const doc = await sb.json(['users', 'list']);
    expect(doc.users[0]).toEqual({
      id: 1,
      portal: 'grants',
      firstName: 'Jane',
      lastName: 'Doe',
      email: 'jane.doe@example.org',
      status: 'pending',
      loginService: null,
      loginServiceName: null,
      username: null,
      registrationExpiresAt: '2026-12-05T14:00:00.000Z',
      removalDueAt: '2026-12-28T14:00:00.000Z',
      linkedAt: null,
      createdAt: '2026-11-28T14:00:00.000Z',
    });
  });
});

describe('Step 2: every way a link can fail, and linking', () => {
  it('link_expired after 7 days, saying when and what to do (exit 1)', async () => {
    await invite('exp@example.org', 'Ex', 'Pired');
    const link = smtp.linkFor('exp@example.org');
    const r = await sb.run(['link', link, '--service', 'nih', '--account', 'expd'], { now: at(7) });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('this link expired 2026-12-05 09:00 EST');
    expect(r.stderr).toContain('Ask the Site Administrator (admin@example.org) to send you a new registration email');
    const j = await sb.run(['--json', 'link', link, '--service', 'nih', '--account', 'expd'], { now: at(8) });
    expect(JSON.parse(j.stderr).error.code).toBe('link_expired');
    expect(j.stdout).toBe('');
    const list = await sb.json(['users', 'list', '--status', 'expired'], { now: at(8) });
    expect(list.users.map((u: { email: string }) => u.email)).toEqual(['jane.doe@example.org', 'exp@example.org']);
  });

  it('link_superseded after Send New Registration; the new link works; re-use is idempotent; link_used for another account', async () => {
    await invite('sup@example.org', 'Su', 'Perseded');
    const old = smtp.linkFor('sup@example.org');
    const rs = await sb.run(['users', 'resend-registration', 'sup@example.org'], { now: at(2) });
    expect(rs.exitCode).toBe(0);
    const fresh = smtp.linkFor('sup@example.org');
    expect(fresh).not.toBe(old);
    const s = await sb.run(['--json', 'link', old, '--service', 'nih', '--account', 'sup'], { now: at(3) });
    expect(s.exitCode).toBe(1);
    expect(JSON.parse(s.stderr).error).toMatchObject({ code: 'link_superseded' });
    expect(JSON.parse(s.stderr).error.message).toContain('newest registration email');

    const ok = await sb.json(['link', fresh, '--service', 'nih', '--account', 'sup'], { now: at(3) });
    expect(ok.users[0]).toMatchObject({
      email: 'sup@example.org',
      status: 'linked',
      loginService: 'nih',
      loginServiceName: 'NIH Network Login',
      username: 'sup',
      removalDueAt: null,
    });
    const again = await sb.run(['link', fresh, '--service', 'nih', '--account', 'sup'], { now: at(4) });
    expect(again.exitCode).toBe(0);
    expect(again.stderr).toContain('nothing changed');
    const used = await sb.run(['--json', 'link', fresh, '--service', 'ims', '--account', 'mallory'], { now: at(4) });
    expect(used.exitCode).toBe(1);
    expect(JSON.parse(used.stderr).error.code).toBe('link_used');
    expect(JSON.parse(used.stderr).error.message).toContain('unique to the person receiving it');
    const tsv = await sb.run(['users', 'list', '--search', 'sup@'], { now: at(4) });
    expect(tsv.stdout.split('\n')[1]).toMatch(/^\d+\tSu Perseded\tsup@example\.org\tsup \(NIH Network Login\)\tlinked\t\t$/);
  });

  it('link_malformed for a mis-copied link, link_unknown for a well-formed one that does not exist', async () => {
    await invite('mal@example.org', 'Mal', 'Formed');
    const link = smtp.linkFor('mal@example.org');
    for (const bad of [link.slice(0, -4), `${link.slice(0, -1)}${link.endsWith('A') ? 'B' : 'A'}`, link.replace('token=', 'token=x')]) {
      const r = await sb.run(['--json', 'link', bad, '--service', 'nih', '--account', 'mal']);
      expect(r.exitCode).toBe(1);
      expect(JSON.parse(r.stderr).error.code).toBe('link_malformed');
    }
    const unknown = await sb.run(['--json', 'link', mintToken(), '--service', 'nih', '--account', 'mal']);
    expect(unknown.exitCode).toBe(1);
    expect(JSON.parse(unknown.stderr).error.code).toBe('link_unknown');
    // The real link still works afterwards.
    expect((await sb.run(['link', link, '--service', 'ims', '--account', 'mal'])).exitCode).toBe(0);
  });

  it('account_in_use when the account is already linked to another user of the portal', async () => {
    await invite('dup@example.org', 'Dup', 'Licate');
    const r = await sb.run(['--json', 'link', smtp.linkFor('dup@example.org'), '--service', 'nih', '--account', 'SUP']);
    expect(r.exitCode).toBe(1);
    expect(JSON.parse(r.stderr).error.code).toBe('account_in_use');
  });

  it('two processes racing on one link: exactly one wins', async () => {
    await invite('race@example.org', 'Ra', 'Ce');
    const link = smtp.linkFor('race@example.org');
    const results = await Promise.all(['racer1', 'racer2', 'racer3'].map((a) => sb.run(['--json', 'link', link, '--service', 'nih', '--account', a])));
    expect(results.filter((r) => r.exitCode === 0)).toHaveLength(1);
    const losers = results.filter((r) => r.exitCode !== 0).map((r) => JSON.parse(r.stderr).error.code);
    expect(losers).toEqual(['link_used', 'link_used']);
  });
});

describe('the store', () => {
  it('is mode 0600, passes integrity_check, and holds no usable link', async () => {
    expect(statSync(sb.db).mode & 0o777).toBe(0o600);
    const db = new Database(sb.db, { readonly: true });
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
    const bytes =
      readFileSync(sb.db).toString('latin1') +
      (() => {
        try {
          return readFileSync(`${sb.db}-wal`).toString('latin1');
        } catch {
          return '';
        }
      })();
    for (const m of smtp.messages) {
      const token = /token=([A-Za-z0-9_-]{27})/.exec(m.text ?? '')![1]!;
      expect(bytes).not.toContain(token);
    }
  });

  it('refuses a store written by a newer portalctl', async () => {
    const other = sandbox();
    try {
      expect((await other.run(GRANTS)).exitCode).toBe(0);
      const db = new Database(other.db);
      db.pragma('user_version = 999');
      db.close();
      const r = await other.run(['users', 'list']);
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toMatch(/schema version 999, newer than this portalctl knows .*upgrade portalctl/);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    } finally {
      other.cleanup();
    }
  });
});

describe('bad input: a one-line error naming the value, exit 2, nothing changed', () => {
  const count = () => {
    const db = new Database(sb.db, { readonly: true });
    const n = db.prepare('SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM registrations) + (SELECT count(*) FROM audit) AS n').get() as {
      n: number;
    };
    db.close();
    return n.n;
  };
  const cases: [string, string[], Record<string, string>?][] = [
    ['two recipients', ['users', 'invite', '--email', 'a@example.org, b@example.org', '--first-name', 'A', '--last-name', 'B']],
    ['display name', ['users', 'invite', '--email', 'Eve <eve@example.org>', '--first-name', 'A', '--last-name', 'B']],
    ['CRLF in address', ['users', 'invite', '--email', 'eve@example.org\r\nBcc: x@example.org', '--first-name', 'A', '--last-name', 'B']],
    ['escape in name', ['users', 'invite', '--email', 'eve@example.org', '--first-name', 'Eve\u001b[31m', '--last-name', 'B']],
    ['missing flag without a terminal', ['users', 'invite', '--email', 'eve@example.org', '--first-name', 'Eve']],
    ['NUL in link', ['link', `${mintToken()}\u0001`, '--service', 'nih', '--account', 'x']],
    ['10 kB link', ['link', 'A'.repeat(10_000), '--service', 'nih', '--account', 'x']],
    ['unknown service', ['link', mintToken(), '--service', 'google', '--account', 'x']],
    ['account with control', ['link', mintToken(), '--service', 'nih', '--account', 'x\u0007y']],
    ['unknown status', ['users', 'list', '--status', 'gone']],
    ['negative limit', ['users', 'list', '--limit', '-5']],
    ['fractional limit', ['users', 'list', '--limit', '2.5']],
    ['unknown portal', ['--portal', 'nope', 'users', 'list']],
    ['unknown option', ['users', 'list', '--colour']],
    ['unknown command', ['users', 'lst']],
    ['bad PORTALCTL_NOW', ['users', 'list'], { PORTALCTL_NOW: 'yesterday' }],
  ];
  it.each(cases)('%s', async (_name, args, env) => {
    const before = count();
    const r = await sb.run(args, { env });
    expect(r.exitCode).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^error: /);

    expect(r.stderr).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
    expect(r.stdout).toBe('');
    expect(count()).toBe(before);
  });

  it('a typo in a subcommand suggests the right one', async () => {
    const r = await sb.run(['users', 'lst']);
    expect(r.stderr).toContain('list');
  });
});
