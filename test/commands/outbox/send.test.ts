// `outbox send`: retry the queued emails (and, when told, the refused ones).

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse } from '../../../src/commands/outbox/send.js';
import { boxLines, GRANTS, rawInput, strip, tsv, world, type World } from '../../helpers/run.js';
import { startSmtp, type TestSmtp } from '../../helpers/smtp.js';

describe('parse', () => {
  it('reads --include-failed and --eml', () => {
    expect(parse(rawInput([], { includeFailed: true }))).toEqual({ includeFailed: true, eml: false });
    expect(parse(rawInput([], { eml: true }))).toEqual({ includeFailed: false, eml: true });
    expect(parse(rawInput())).toEqual({ includeFailed: false, eml: false });
  });
});

describe('outbox send', () => {
  let w: World;
  let smtp: TestSmtp;
  beforeEach(async () => {
    smtp = await startSmtp();
    w = world();
    await w.run(GRANTS);
    await w.run(['users', 'invite', '--email', 'q1@example.org', '--first-name', 'Q', '--last-name', 'One'], {
      env: { PORTALCTL_SMTP_URL: 'smtp://127.0.0.1:1' },
    });
    smtp.fault = { kind: 'rcpt', code: 550, message: 'No such user here' };
    await w.run(['users', 'invite', '--email', 'f1@example.org', '--first-name', 'F', '--last-name', 'One'], { env: { PORTALCTL_SMTP_URL: smtp.url } });
    smtp.fault = { kind: 'none' };
  });
  afterEach(async () => {
    w.close();
    await smtp.close();
  });
  const send = (args: string[] = [], o: { tty?: boolean } = {}) => w.run(['outbox', 'send', ...args], { env: { PORTALCTL_SMTP_URL: smtp.url }, ...o });

  it('sends the queued emails, leaves the refused ones; piped, the results', async () => {
    const r = await send();
    expect(r.exitCode, r.stderr).toBe(0);
    expect(tsv(r.stdout)).toEqual([{ ID: '1', User: '1', To: 'q1@example.org', Email: 'registration', Result: 'sent', Error: '' }]);
    expect(r.stderr).toBe(
      `Email to q1@example.org sent via smtp://127.0.0.1:${smtp.port}\n` +
        'warning: 1 email was refused by the mail server and is not retried by `portalctl outbox send`; fix the cause (see `portalctl outbox list`), then run `portalctl outbox send --include-failed`.\n',
    );
    expect(smtp.messages.map((m) => (m.to as { text: string }).text)).toEqual(['q1@example.org']);
    expect((await w.json(['outbox', 'list'])).messages.map((m: { to: string }) => m.to)).toEqual(['f1@example.org']);
  });

  it('--include-failed retries the refused ones too (after fixing the cause); --json', async () => {
    const doc = await w.json(['outbox', 'send', '--include-failed'], { env: { PORTALCTL_SMTP_URL: smtp.url } });
    expect(doc.messages).toEqual([
      { id: 1, userId: 1, to: 'q1@example.org', kind: 'registration', state: 'sent', error: null },
      { id: 2, userId: 2, to: 'f1@example.org', kind: 'registration', state: 'sent', error: null },
    ]);
    expect((await w.json(['outbox', 'list'])).messages).toEqual([]);
  });

  it('on a terminal, counts as it goes and says how many went out', async () => {
    const r = await w.run(['outbox', 'send', '--include-failed'], { env: { PORTALCTL_SMTP_URL: smtp.url }, tty: true, columns: 200 });
    expect(r.exitCode).toBe(0);
    expect(r.progress[0]).toBe('Sending queued emails 0/2');
    expect(r.stderr).toBe(`2 emails sent via smtp://127.0.0.1:${smtp.port}\n`);
    expect(strip(r.stdout)).toContain('f1@example.org');
    const none = await w.run(['outbox', 'send'], { env: { PORTALCTL_SMTP_URL: smtp.url }, tty: true, columns: 80 });
    expect(none).toMatchObject({ exitCode: 0, stdout: '', stderr: 'Nothing to send: no email is queued.\n' });
  });

  it('on an 80-column terminal, the results fit', async () => {
    const r = await w.run(['outbox', 'send', '--include-failed'], { env: { PORTALCTL_SMTP_URL: smtp.url }, tty: true, columns: 80 });
    for (const l of boxLines(r.stdout)) expect([...l].length).toBeLessThanOrEqual(80);
    expect(strip(r.stdout)).toContain('q1@example.org');
  });

  it('a relay still down: queued again, exit 75; --quiet still says so on stderr', async () => {
    const r = await w.run(['--quiet', 'outbox', 'send'], { env: { PORTALCTL_SMTP_URL: 'smtp://127.0.0.1:1' } });
    expect(r.exitCode).toBe(75);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^warning: the email to q1@example\.org \(user 1\) could not be delivered now: .*ECONNREFUSED/m);
    expect(r.stderr).toMatch(/^error: The email is recorded but queued/m);
    expect((await w.json(['outbox', 'list'])).messages[0]).toMatchObject({ to: 'q1@example.org', attempts: 2 });
  });

  it('without PORTALCTL_SMTP_URL the queue is not turned into files: exit 2, nothing changed', async () => {
    const r = await w.run(['--json', 'outbox', 'send']);
    expect(r.exitCode).toBe(2);
    expect(JSON.parse(r.stderr).error).toMatchObject({
      code: 'smtp_not_configured',
      message: expect.stringContaining('1 queued email would only be written as .eml files'),
    });
    expect((await w.json(['outbox', 'list'])).messages).toHaveLength(2);
  });
});
