// `outbox list`: emails not yet delivered.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from '../../../src/commands/outbox/list.js';
import { boxLines, GRANTS, rawInput, strip, tsv, world, type World } from '../../helpers/run.js';
import { startSmtp, type TestSmtp } from '../../helpers/smtp.js';

describe('parse', () => {
  it('takes no options', () => {
    expect(parse(rawInput())).toEqual({});
  });
});

describe('outbox list', () => {
  let w: World;
  let smtp: TestSmtp;
  beforeAll(async () => {
    smtp = await startSmtp();
    w = world();
    await w.run(GRANTS);
    await w.run(['portals', 'add', 'loans', '--name', 'Loans', '--url', 'https://loans.example.org', '--admin-email', 'a@example.org']);
    const invite = (portal: string, email: string, env: Record<string, string>) =>
      w.run(['--portal', portal, 'users', 'invite', '--email', email, '--first-name', 'Q', '--last-name', 'Q'], { env });
    await invite('grants', 'queued@example.org', { PORTALCTL_SMTP_URL: 'smtp://127.0.0.1:1' });
    smtp.fault = { kind: 'rcpt', code: 550, message: 'No such user here' };
    await invite('grants', 'refused@example.org', { PORTALCTL_SMTP_URL: smtp.url });
    smtp.fault = { kind: 'none' };
    await invite('loans', 'loans@example.org', { PORTALCTL_SMTP_URL: 'smtp://127.0.0.1:1' });
    await invite('grants', 'sent@example.org', { PORTALCTL_SMTP_URL: smtp.url });
  });
  afterAll(async () => {
    w.close();
    await smtp.close();
  });

  it('--json: queued first (oldest first), then failed, with the last error; every portal unless --portal', async () => {
    const doc = await w.json(['outbox', 'list']);
    expect(doc.messages.map((m: { to: string; state: string; portal: string }) => [m.to, m.state, m.portal])).toEqual([
      ['queued@example.org', 'queued', 'grants'],
      ['loans@example.org', 'queued', 'loans'],
      ['refused@example.org', 'failed', 'grants'],
    ]);
    expect(doc.messages[0]).toMatchObject({
      kind: 'registration',
      attempts: 1,
      lastError: expect.stringMatching(/ECONNREFUSED/),
      nextAttemptAt: '2026-11-28T14:01:00.000Z',
    });
    expect(doc.messages[2].lastError).toBe('550 No such user here');
    expect((await w.json(['--portal', 'loans', 'outbox', 'list'])).messages.map((m: { to: string }) => m.to)).toEqual(['loans@example.org']);
  });

  it('piped and on a terminal', async () => {
    const rows = tsv((await w.run(['outbox', 'list'])).stdout);
    expect(Object.keys(rows[0]!)).toEqual(['ID', 'Portal', 'User', 'To', 'Email', 'State', 'Attempts', 'Last attempt', 'Last error']);
    expect(rows[2]).toMatchObject({
      To: 'refused@example.org',
      State: 'failed',
      Attempts: '1',
      'Last attempt': '2026-11-28T14:00:00.000Z',
      'Last error': '550 No such user here',
    });
    for (const columns of [200, 80]) {
      const tty = await w.run(['outbox', 'list'], { tty: true, columns });
      for (const l of boxLines(tty.stdout)) expect([...l].length).toBeLessThanOrEqual(columns);
      expect(strip(tty.stdout)).toContain('refused@example.org');
    }
  });
});
