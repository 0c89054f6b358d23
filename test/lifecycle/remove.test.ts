// `users remove`: the FAQ's removal by hand, one person or a batch sent by
// mistake (dry run first), in-process against a real SMTP server.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startSmtp, type TestSmtp } from '../helpers/smtp.js';
import type { World } from '../helpers/run.js';
import { at, linkIn, mailsTo, portalWith, REMINDER_SUBJECT, rows } from './fixtures.js';

let smtp: TestSmtp;
const worlds: World[] = [];
beforeAll(async () => {
  smtp = await startSmtp();
});
afterAll(async () => {
  await smtp.close();
});
afterEach(() => {
  for (const w of worlds.splice(0)) w.close();
});

async function setup(n: number) {
  const s = await portalWith(smtp, n);
  worlds.push(s.w);
  return s;
}

const emailsOf = async (w: World) => (await w.json(['users', 'list'], { now: at(1) })).users.map((u: any) => u.email);

describe('users remove USER…', () => {
  it('dry run first, then the profile goes at once: every link of theirs stops working, audited and recorded like prune', async () => {
    const { w, emails } = await setup(3);
    const [a, b, c] = emails as [string, string, string];
    await w.run(['remind', '--yes'], { now: at(2) }); // a second live link each (the reminder's)
    const dry = await w.json(['users', 'remove', a, '2', '--dry-run'], { now: at(3) });
    expect(dry).toMatchObject({ dryRun: true, removed: [{ email: a }, { email: b }] });
    expect(await emailsOf(w)).toEqual([a, b, c]);

    const r = await w.run(['--json', 'users', 'remove', a.toUpperCase(), '2', '--yes', '--actor', 'helpdesk'], { now: at(3) });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      dryRun: false,
      removed: [
        { id: 1, email: a },
        { id: 2, email: b },
      ],
    });
    expect(await emailsOf(w)).toEqual([c]);

    for (const e of [a, b]) {
      for (const m of [mailsTo(smtp, e)[0]!, mailsTo(smtp, e).find((x) => x.subject === REMINDER_SUBJECT)!]) {
        const link = await w.run(['--json', 'link', linkIn(m), '--service', 'nih', '--account', 'someone'], { now: at(3) });
        expect(link.exitCode).toBe(1);
        expect(JSON.parse(link.stderr).error.code).toBe('link_unknown');
      }
    }
    const audit = (await w.json(['audit', '--user', a])).audit;
    expect(audit[0]).toMatchObject({ action: 'remove', actor: 'helpdesk', userId: 1, userEmail: a, before: { email: a, loginService: null } });
    const removed = (await w.json(['events', '--type', 'removed'])).events;
    expect(removed.map((e: any) => [e.userId, e.email, e.data])).toEqual([
      [1, a, { reason: 'remove', wasLinked: false }],
      [2, b, { reason: 'remove', wasLinked: false }],
    ]);
    // Nothing of theirs is left to send or to remind.
    expect(await rows(w, 'SELECT count(*) AS n FROM registrations WHERE user_id IN (1, 2)')).toEqual([{ n: 0 }]);
    expect((await w.json(['remind', '--dry-run'], { now: at(5) })).notices.map((n: any) => n.email)).toEqual([c]);
    // Ids are never reused: the next person gets a new id (4 on SQLite; PostgreSQL's sequences
    // may leave gaps, never reuse), and user 1 stays the removed person.
    const next = (await w.json(['users', 'invite', '--email', 'next@example.org', '--first-name', 'N', '--last-name', 'X'])).users[0].id;
    expect(next).toBeGreaterThan(3);
    if (w.kind === 'sqlite') expect(next).toBe(4);
    expect((await w.json(['audit', '--user', '1'])).audit.every((x: any) => x.userEmail === a)).toBe(true);
  });

  it('a linked user only with --include-linked; one linked or unknown user among several removes nobody', async () => {
    const { w, emails } = await setup(2);
    const [a, b] = emails as [string, string];
    expect((await w.run(['link', linkIn(mailsTo(smtp, a)[0]!), '--service', 'nih', '--account', 'alink'])).exitCode).toBe(0);

    const linked = await w.run(['--json', 'users', 'remove', b, a, '--yes']);
    expect(linked.exitCode).toBe(1);
    expect(JSON.parse(linked.stderr).error).toMatchObject({ code: 'user_linked', details: { linked: [1] } });
    expect(JSON.parse(linked.stderr).error.message).toContain('alink (NIH Network Login)');
    const unknown = await w.run(['--json', 'users', 'remove', b, 'nobody@example.org', '--yes']);
    expect(unknown.exitCode).toBe(1);
    expect(JSON.parse(unknown.stderr).error.code).toBe('not_found');
    expect(await emailsOf(w)).toEqual([a, b]);

    const r = await w.json(['users', 'remove', a, '--include-linked', '--yes']);
    expect(r.removed).toMatchObject([{ email: a, status: 'linked', username: 'alink' }]);
    expect((await w.json(['events', '--type', 'removed'])).events[0].data).toEqual({ reason: 'remove', wasLinked: true });
    expect(await emailsOf(w)).toEqual([b]);
  });

  it('asks on a terminal (no keeps everyone); without a terminal needs --yes; the dry run needs neither', async () => {
    const { w, emails } = await setup(1);
    const cron = await w.run(['users', 'remove', emails[0]!]);
    expect(cron.exitCode).toBe(2);
    expect(cron.stderr).toContain('users remove needs --yes');
    const no = await w.run(['users', 'remove', emails[0]!], { tty: true, answers: [false] });
    expect(no.exitCode).toBe(1);
    expect(no.asked[0]).toMatch(/^Remove 1 user from portal grants\? .*every link of theirs stops working at once\.$/);
    expect(await emailsOf(w)).toEqual(emails);
    expect((await w.run(['users', 'remove', emails[0]!, '--dry-run'])).exitCode).toBe(0);
    const yes = await w.run(['users', 'remove', emails[0]!], { tty: true, answers: [true] });
    expect(yes.exitCode, yes.stderr).toBe(0);
    expect(yes.stderr).toContain('Removed 1 user.');
    expect(await emailsOf(w)).toEqual([]);
  });

  it('drops their queued emails: a reminder waiting for the mail server is never sent after the removal', async () => {
    const { w, emails } = await setup(2);
    const [a, b] = emails as [string, string];
    smtp.fault = { kind: 'rcpt', code: 451, message: 'Try again later', only: a };
    try {
      expect((await w.run(['remind', '--yes'], { now: at(2) })).exitCode).toBe(75);
    } finally {
      smtp.fault = { kind: 'none' };
    }
    expect((await w.json(['outbox', 'list'])).messages).toMatchObject([{ to: a, kind: 'reminder', state: 'queued' }]);
    expect((await w.run(['users', 'remove', a, '--yes'], { now: at(2.5) })).exitCode).toBe(0);
    expect((await w.json(['outbox', 'list'])).messages).toEqual([]);
    const send = await w.run(['outbox', 'send'], { now: at(3) });
    expect(send.exitCode, send.stderr).toBe(0);
    expect(mailsTo(smtp, a).map((m) => m.subject)).toEqual(['Your registration for Grants Portal']);
    expect(mailsTo(smtp, b).map((m) => m.subject)).toEqual(['Your registration for Grants Portal', REMINDER_SUBJECT]);
  });

  it('bad invocations are usage errors that change nothing', async () => {
    const { w, emails } = await setup(1);
    for (const args of [
      ['users', 'remove'],
      ['users', 'remove', emails[0]!, '--status', 'pending'],
      ['users', 'remove', '--status', 'linked', '--yes'],
      ['users', 'remove', '--status', 'sleeping', '--yes'],
      ['users', 'remove', 'not a user', '--yes'],
    ]) {
      const r = await w.run(args);
      expect(r.exitCode, args.join(' ')).toBe(2);
    }
    expect(await emailsOf(w)).toEqual(emails);
  });
});

describe('users remove --status: withdrawing a batch sent by mistake', () => {
  it('lists the batch with --dry-run, then removes exactly it; linked and other users stay', async () => {
    const { w, emails } = await setup(5);
    const [a, b] = emails as [string, string];
    expect((await w.run(['link', linkIn(mailsTo(smtp, a)[0]!), '--service', 'ims', '--account', 'a1'])).exitCode).toBe(0);
    // b gets a new link on day 8, after everyone's expired on day 7: b is pending again, the rest expired.
    expect((await w.run(['users', 'resend-registration', b], { now: at(8) })).exitCode).toBe(0);
    const dry = await w.json(['users', 'remove', '--status', 'expired', '--dry-run'], { now: at(9) });
    expect(dry.removed.map((u: any) => u.email)).toEqual(emails.slice(2));
    expect(await emailsOf(w)).toEqual(emails);

    const r = await w.run(['users', 'remove', '--status', 'expired', '--yes'], { now: at(9) });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain('Removed 3 users.');
    expect((await w.json(['users', 'list'], { now: at(9) })).users.map((u: any) => [u.email, u.status])).toEqual([
      [a, 'linked'],
      [b, 'pending'],
    ]);
    expect(await rows(w, "SELECT count(*) AS n FROM audit WHERE action = 'remove'")).toEqual([{ n: 3 }]);

    // Nothing left with that status: a clear word, exit 0.
    const again = await w.run(['users', 'remove', '--status', 'expired', '--yes'], { now: at(9) });
    expect(again.exitCode).toBe(0);
    expect(again.stderr).toContain('No expired users in portal grants; nothing to remove.');
  });
});
