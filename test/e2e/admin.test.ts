// The Site Administrator's and the helpdesk's commands, FAQ question by
// question, against a real SMTP server with the clock moved by PORTALCTL_NOW.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { at, GRANTS, sandbox, T0, type Sandbox } from '../helpers/cli.js';
import { startSmtp, type TestSmtp } from '../helpers/smtp.js';

let smtp: TestSmtp;
let sb: Sandbox;

beforeAll(async () => {
  smtp = await startSmtp();
  sb = sandbox();
  sb.env.PORTALCTL_SMTP_URL = smtp.url;
  expect((await sb.run(GRANTS)).exitCode).toBe(0);
});
afterAll(async () => {
  await smtp.close();
  sb.cleanup();
});

async function invite(email: string, first: string, last: string, now = T0) {
  const r = await sb.run(['users', 'invite', '--email', email, '--first-name', first, '--last-name', last], { now });
  expect(r.exitCode, r.stderr).toBe(0);
}
async function link(email: string, service: string, account: string, now = T0) {
  const r = await sb.run(['link', smtp.linkFor(email), '--service', service, '--account', account], { now });
  expect(r.exitCode, r.stderr).toBe(0);
}
const sentTo = (addr: string) => smtp.messages.filter((m) => (m.to as { text: string }).text === addr).length;

describe('Send New Registration', () => {
  it("to a different address: the email goes there, the address becomes the user's, old links stop working", async () => {
    await invite('amy@old.example.org', 'Amy', 'Adams');
    const oldLink = smtp.linkFor('amy@old.example.org');
    const r = await sb.json(['users', 'resend-registration', 'AMY@old.example.org', '--email', 'amy@new.example.org'], { now: at(8) });
    expect(r.users[0]).toMatchObject({ email: 'amy@new.example.org', status: 'pending', registrationExpiresAt: at(15) });
    expect(sentTo('amy@new.example.org')).toBe(1);
    const old = await sb.run(['--json', 'link', oldLink, '--service', 'nih', '--account', 'amy'], { now: at(8) });
    expect(JSON.parse(old.stderr).error.code).toBe('link_superseded');
    await link('amy@new.example.org', 'nih', 'amy', at(9));
  });

  it('switching login service: stays linked until the new link is used, then the same user carries the new account', async () => {
    await invite('bo@example.org', 'Bo', 'Brown');
    await link('bo@example.org', 'nih', 'bbrown');
    const before = await sb.json(['users', 'whoami-login', 'bo@example.org']);
    await sb.run(['users', 'resend-registration', String(before.users[0].id)], { now: at(1) });
    const mid = await sb.json(['users', 'whoami-login', 'bo@example.org'], { now: at(1) });
    expect(mid.users[0]).toMatchObject({ status: 'linked', loginService: 'nih', username: 'bbrown' });
    await link('bo@example.org', 'ims', 'bo.brown', at(2));
    const after = await sb.run(['users', 'whoami-login', 'bo@example.org'], { now: at(2) });
    expect(after.stdout.split('\n')[1]).toContain('bo.brown (IMS Login Service)');
    expect(after.stderr).toContain('Bo Brown: bo.brown (IMS Login Service)');
    const show = await sb.json(['users', 'show', 'bo@example.org'], { now: at(2) });
    const u = show.users[0];
    expect(u.id).toBe(before.users[0].id);
    expect(u.accountChanges).toEqual([
      expect.objectContaining({ from: null, to: { loginService: 'nih', username: 'bbrown' } }),
      expect.objectContaining({ from: { loginService: 'nih', username: 'bbrown' }, to: { loginService: 'ims', username: 'bo.brown' } }),
    ]);
    expect(u.registrations.map((x: { state: string }) => x.state)).toEqual(['used', 'used']);
  });

  it('--all-expired re-sends to every unlinked user whose link expired, and to nobody else', async () => {
    const other = sandbox();
    other.env.PORTALCTL_SMTP_URL = smtp.url;
    try {
      await other.run(GRANTS);
      const mk = (e: string, now: string) => other.run(['users', 'invite', '--email', e, '--first-name', 'X', '--last-name', 'Y'], { now });
      await mk('e1@exp.example.org', T0);
      await mk('e2@exp.example.org', T0);
      await mk('p1@exp.example.org', at(5));
      await mk('l1@exp.example.org', T0);
      expect((await other.run(['link', smtp.linkFor('l1@exp.example.org'), '--service', 'nih', '--account', 'l1'], { now: at(1) })).exitCode).toBe(0);
      const before = smtp.messages.length;
      const r = await other.json(['users', 'resend-registration', '--all-expired'], { now: at(8) });
      expect(r.users.map((u: { email: string }) => u.email).sort()).toEqual(['e1@exp.example.org', 'e2@exp.example.org']);
      expect(smtp.messages.length - before).toBe(2);
      const again = await other.json(['users', 'resend-registration', '--all-expired'], { now: at(8) });
      expect(again.users).toEqual([]);
    } finally {
      other.cleanup();
    }
  });
});

describe('removal days', () => {
  it('set-removal-days restarts the countdown; bad numbers are exit 2; a linked user is refused', async () => {
    await invite('cy@example.org', 'Cy', 'Clark');
    const r = await sb.run(['users', 'set-removal-days', 'cy@example.org', '45'], { now: at(20) });
    expect(r.exitCode).toBe(0);
    expect(r.stdout.split('\n')[1]).toMatch(/\t45 days$/);
    for (const bad of ['-1', '2.5', 'ten', '']) {
      const b = await sb.run(['users', 'set-removal-days', 'cy@example.org', bad]);
      expect(b.exitCode, bad).toBe(2);
    }
    const linked = await sb.run(['--json', 'users', 'set-removal-days', 'bo@example.org', '5']);
    expect(linked.exitCode).toBe(1);
    expect(JSON.parse(linked.stderr).error.code).toBe('user_linked');
    const none = await sb.run(['users', 'set-removal-days', 'nobody@example.org', '5']);
    expect(none.exitCode).toBe(1);
  });

  it("a portal's default removal period and link lifetime can be changed", async () => {
    const r = await sb.json(['portals', 'set', 'grants', '--removal-days', '60', '--link-days', '14']);
    expect(r.portals[0]).toMatchObject({ removalDays: 60, linkDays: 14 });
    await invite('dee@example.org', 'Dee', 'Dale');
    const u = (await sb.json(['users', 'list', '--search', 'dee@'])).users[0];
    expect(u.removalDueAt).toBe(at(60));
    expect(u.registrationExpiresAt).toBe(at(14));
    await sb.run(['portals', 'set', 'grants', '--removal-days', '30', '--link-days', '7']);
  });
});

describe('helpdesk look-ups', () => {
  it('whoami-login: an unlinked user reads "(This account is not linked)..." with the FAQ\'s advice', async () => {
    await invite('eve@example.org', 'Eve', 'Evans');
    const r = await sb.run(['users', 'whoami-login', 'eve@example.org']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout.split('\n')[1]).toContain('Eve Evans (This account is not linked)...');
    expect(r.stderr).toContain('contact the IMS Login Service Administrator for the username');
  });

  it('whoami-login by name shows every match; no match is exit 1', async () => {
    await invite('eve2@example.org', 'Eve', 'Evanston');
    const r = await sb.json(['users', 'whoami-login', 'Eve Evan']);
    expect(r.users.map((u: { email: string }) => u.email)).toEqual(['eve@example.org', 'eve2@example.org']);
    expect((await sb.run(['users', 'whoami-login', 'Zebedee'])).exitCode).toBe(1);
  });

  it('access-check: a linked account, an unlinked one with a pending and an expired candidate', async () => {
    const linked = await sb.json(['users', 'access-check', '--service', 'nih', '--account', 'BBROWN']);
    expect(linked.linked).toBe(false); // Bo switched to IMS Login Service
    const ims = await sb.json(['users', 'access-check', '--service', 'ims', '--account', 'bo.brown'], { now: at(2) });
    expect(ims.linked).toBe(true);
    expect(ims.nextSteps[0]).toContain('bookmark');

    const pending = await sb.json(['users', 'access-check', '--service', 'nih', '--account', 'eve', '--email', 'eve@example.org']);
    expect(pending.linked).toBe(false);
    expect(pending.users[0].email).toBe('eve@example.org');
    expect(pending.nextSteps[0]).toContain('original registration email');

    const expired = await sb.run(['users', 'access-check', '--service', 'nih', '--account', 'eve', '--email', 'eve@example.org'], { now: at(10) });
    expect(expired.stdout).toContain('not linked to any user of portal grants');
    expect(expired.stdout).toContain(`portalctl users resend-registration`);
  });

  it('users show tells why "Error linking your account" happened', async () => {
    await invite('fay@example.org', 'Fay', 'Fox');
    const l = smtp.linkFor('fay@example.org');
    await sb.run(['link', l, '--service', 'nih', '--account', 'fay'], { now: at(9) });
    const show = await sb.json(['users', 'show', 'fay@example.org'], { now: at(9) });
    expect(show.users[0].linkAttempts).toEqual([expect.objectContaining({ loginService: 'nih', username: 'fay', outcome: 'link_expired' })]);
    expect(show.users[0].registrations[0]).toMatchObject({ email: 'fay@example.org', state: 'expired', sentAt: '2026-11-28T14:00:00.000Z' });
    const text = await sb.run(['users', 'show', 'fay@example.org'], { now: at(9) });
    expect(text.stdout).toContain('# Link attempts');
    expect(text.stdout).toContain('link_expired');
  });
});

describe('prune under cron conditions', () => {
  it('needs --yes without a terminal; --yes --quiet prints nothing; linked users and live links are spared; the audit keeps the removed', async () => {
    const c = sandbox();
    try {
      await c.run(GRANTS);
      // A crontab line without --yes fails at once, even on a night with nothing to remove.
      const empty = await c.run(['prune']);
      expect(empty.exitCode).toBe(2);
      expect(empty.stderr).toContain('--yes');
      const mk = (e: string, now: string) => c.run(['users', 'invite', '--email', e, '--first-name', 'P', '--last-name', 'Q'], { now });
      await mk('gone@example.org', T0);
      await mk('kept-linked@example.org', T0);
      await mk('kept-live@example.org', T0);
      const eml = (await c.json(['users', 'list'])).users;
      expect(eml).toHaveLength(3);
      // Link one with the token from its .eml file.
      const { readdirSync, readFileSync } = await import('node:fs');
      const file = readdirSync(c.mailDir).find((f) => f.includes('user2'))!;
      const token = /token=([A-Za-z0-9_-]{27})/.exec(
        readFileSync(`${c.mailDir}/${file}`, 'utf8')
          .replace(/=\r?\n/g, '')
          .replace(/=3D/g, '='),
      )![1]!;
      expect((await c.run(['link', token, '--service', 'nih', '--account', 'kl'], { now: at(1) })).exitCode).toBe(0);
      await c.run(['users', 'resend-registration', 'kept-live@example.org'], { now: at(28) });

      const noYes = await c.run(['prune'], { now: at(31) });
      expect(noYes.exitCode).toBe(2);
      expect(noYes.stderr).toContain('--yes');
      expect((await c.json(['users', 'list'], { now: at(31) })).users).toHaveLength(3);

      const dry = await c.json(['prune', '--dry-run'], { now: at(31) });
      expect(dry.dryRun).toBe(true);
      expect(dry.removed.map((u: { email: string }) => u.email)).toEqual(['gone@example.org']);

      const cron = await c.run(['prune', '--yes', '--quiet'], { now: at(31), env: { PORTALCTL_ACTOR: undefined } });
      expect(cron).toMatchObject({ exitCode: 0, stdout: '', stderr: '' });
      const left = (await c.json(['users', 'list'], { now: at(31) })).users.map((u: { email: string }) => u.email);
      expect(left).toEqual(['kept-linked@example.org', 'kept-live@example.org']);

      const later = await c.json(['prune', '--yes', '--actor', 'nightly-prune'], { now: at(36) });
      expect(later).toMatchObject({ dryRun: false, removed: [expect.objectContaining({ email: 'kept-live@example.org' })] });

      const audit = await c.json(['audit', '--user', 'gone@example.org']);
      expect(audit.audit.map((a: { action: string }) => a.action)).toEqual(['prune', 'invite']);
      const all = await c.json(['audit']);
      expect(all.audit[0]).toMatchObject({ action: 'prune', actor: 'nightly-prune', userEmail: 'kept-live@example.org' });
      expect(all.audit[0].before).toMatchObject({ email: 'kept-live@example.org', loginService: null });
      const since = await c.json(['audit', '--since', at(30)]);
      expect(since.audit.map((a: { action: string }) => a.action)).toEqual(['prune', 'prune']);
    } finally {
      c.cleanup();
    }
  });
});
