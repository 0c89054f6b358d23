// What only real processes show: each reminder exactly once when two
// `remind` start at the same moment (two schedulers) and when one is killed
// with SIGKILL half-way through sending and run again; each webhook event
// delivered once, in order per user, when two processes deliver at once. The
// built bin/portalctl, a real SMTP server, a real HTTP receiver and a real
// SQLite file.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { at, BIN, GRANTS, sandbox, type Sandbox } from '../helpers/cli.js';
import { startSmtp, type TestSmtp } from '../helpers/smtp.js';
import { startReceiver, type Received } from '../helpers/webhook.js';
import { REMINDER_SUBJECT, rows, toOf } from './fixtures.js';

const SECRET = 'whsec_processes';
const ids = (rs: Received[]) => rs.map((r) => r.json.id as number);

let smtp: TestSmtp;
beforeAll(async () => {
  smtp = await startSmtp();
});
afterAll(async () => {
  await smtp.close();
});

async function portalWith(sb: Sandbox, n: number, prefix: string): Promise<string[]> {
  expect((await sb.run(GRANTS)).exitCode).toBe(0);
  const emails = Array.from({ length: n }, (_, i) => `${prefix}${i}@example.org`);
  const f = join(sb.dir, 'people.csv');
  writeFileSync(f, `email,first_name,last_name\n${emails.map((e, i) => `${e},Pat,P${i}`).join('\n')}\n`);
  const r = await sb.run(['users', 'invite', '--from-csv', f, '--yes']);
  expect(r.exitCode, r.stderr).toBe(0);
  return emails;
}

/** How many reminders each address received. */
function remindersPer(emails: string[]): number[] {
  return emails.map((e) => smtp.messages.filter((m) => toOf(m) === e && m.subject === REMINDER_SUBJECT).length);
}

describe('each reminder exactly once, across processes', () => {
  it('two `remind --yes` started at the same moment: every person gets one reminder, one event, one notice', async () => {
    const sb = sandbox({ PORTALCTL_SMTP_URL: smtp.url });
    try {
      const emails = await portalWith(sb, 40, 'race');
      const both = await Promise.all([0, 1].map(() => sb.run(['remind', '--yes'], { now: at(2) })));
      for (const r of both) {
        expect(r.exitCode, r.stderr).toBe(0);
        expect(r.stderr).not.toMatch(/locked|busy/i);
      }
      expect(remindersPer(emails)).toEqual(emails.map(() => 1));
      expect(await rows(sb, "SELECT count(*) AS n FROM notices WHERE kind = 'reminder'")).toEqual([{ n: 40 }]);
      expect(await rows(sb, "SELECT count(*) AS n FROM events WHERE type = 'reminded'")).toEqual([{ n: 40 }]);
      expect(await rows(sb, "SELECT count(*) AS n FROM outbox WHERE kind = 'reminder' AND state = 'sent'")).toEqual([{ n: 40 }]);
    } finally {
      sb.cleanup();
    }
  });

  it('killed with SIGKILL while sending, then run again: every person gets one reminder', async () => {
    // One SMTP connection, so messages go one after another: the server takes
    // ten, then holds the eleventh without answering, and the process is
    // killed while it waits — after the tenth was recorded as sent.
    const sb = sandbox({ PORTALCTL_SMTP_URL: `${smtp.url}?connections=1` });
    try {
      const emails = await portalWith(sb, 40, 'kill');
      const start = smtp.messages.length;
      const hung = new Promise<void>((resolve) => (smtp.fault = { kind: 'hang', after: start + 10, onHang: resolve }));
      const child = execa('node', [BIN, 'remind', '--yes'], { env: { ...sb.env, PORTALCTL_NOW: at(2) }, extendEnv: false, reject: false });
      await hung;
      child.kill('SIGKILL');
      const killed = await child;
      expect(killed.signal).toBe('SIGKILL');
      smtp.fault = { kind: 'none' };
      expect(remindersPer(emails).filter((n) => n === 1)).toHaveLength(10);
      // Every notice was recorded with its email queued before the first went out.
      expect(await rows(sb, "SELECT count(*) AS n FROM outbox WHERE kind = 'reminder' AND state = 'queued'")).toEqual([{ n: 30 }]);

      const again = await sb.run(['remind', '--yes'], { now: at(2) });
      expect(again.exitCode, again.stderr).toBe(0);
      expect(again.stderr).toContain('Retried 30 emails queued by an earlier run');
      expect(remindersPer(emails)).toEqual(emails.map(() => 1));
      expect(await rows(sb, "SELECT count(*) AS n FROM events WHERE type = 'reminded'")).toEqual([{ n: 40 }]);
      const after = await sb.run(['remind', '--yes'], { now: at(3) });
      expect(after.exitCode).toBe(0);
      expect(remindersPer(emails)).toEqual(emails.map(() => 1));
    } finally {
      smtp.fault = { kind: 'none' };
      sb.cleanup();
    }
  });
});

describe('two processes delivering one webhook', () => {
  it('an `outbox send` and a `prune` at once: every event delivered once, each person’s in order', async () => {
    const rx = await startReceiver();
    const sb = sandbox({ PORTALCTL_SMTP_URL: smtp.url });
    try {
      expect((await sb.run(GRANTS)).exitCode).toBe(0);
      const f = join(sb.dir, 'people.csv');
      writeFileSync(f, `email,first_name,last_name\n${Array.from({ length: 30 }, (_, i) => `w${i}@example.org,W,${i}`).join('\n')}\n`);
      expect((await sb.run(['users', 'invite', '--from-csv', f, '--yes'])).exitCode).toBe(0);
      const dir = join(sb.dir, '.config', 'portalctl');
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'secret'), SECRET, { mode: 0o600 });
      writeFileSync(join(dir, 'config.json'), JSON.stringify({ webhooks: [{ url: rx.url, secretFile: join(dir, 'secret') }] }));
      const [send, prune] = await Promise.all([sb.run(['outbox', 'send']), sb.run(['prune', '--yes'])]);
      expect(send.exitCode, send.stderr).toBe(0);
      expect(prune.exitCode, prune.stderr).toBe(0);
      const got = ids(rx.accepted());
      expect(got).toHaveLength(60);
      expect(new Set(got).size).toBe(60);
      const byUser = new Map<number, number[]>();
      for (const r of rx.accepted()) byUser.set(r.json.userId, [...(byUser.get(r.json.userId) ?? []), r.json.id]);
      for (const list of byUser.values()) expect(list).toEqual([...list].sort((x, y) => x - y));
    } finally {
      await rx.close();
      sb.cleanup();
    }
  });
});
