// `remind`, in-process through the real main(), against a real SMTP server
// on 127.0.0.1 and a real SQLite file; the time moved with PORTALCTL_NOW.
// Invitations go out at T0 (2026-11-28 14:00 UTC): links expire on day 7,
// profiles are removed on day 30, reminders are due on days 2 and 5 and the
// removal warning on day 23 (the portal defaults).

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { stripVTControlCharacters } from 'node:util';
import { boxLines, interruptHandle, tsv } from '../helpers/run.js';
import { startSmtp, type TestSmtp } from '../helpers/smtp.js';
import { at, linkIn, mailsTo, portalWith, REMINDER_SUBJECT, rows } from './fixtures.js';
import type { World } from '../helpers/run.js';

let smtp: TestSmtp;
const worlds: World[] = [];
beforeAll(async () => {
  smtp = await startSmtp();
});
afterAll(async () => {
  await smtp.close();
});
afterEach(() => {
  smtp.fault = { kind: 'none' };
  for (const w of worlds.splice(0)) w.close();
});

async function setup(n: number, portal: string[] = [], env: Record<string, string> = {}) {
  const s = await portalWith(smtp, n, { portal, env });
  worlds.push(s.w);
  return s;
}

const minutes = (iso: string, m: number) => new Date(Date.parse(iso) + m * 60_000).toISOString();
const reminders = (to: string) => mailsTo(smtp, to).filter((m) => m.subject === REMINDER_SUBJECT);
const warnings = (to: string) => mailsTo(smtp, to).filter((m) => /profile will be removed/.test(m.subject ?? ''));

describe('reminders on the portal’s --remind-days', () => {
  it('none before day 2; one per person on day 2, none again that day; one on day 5; none after the link expired', async () => {
    const { w, emails } = await setup(3);
    const early = await w.run(['remind', '--yes'], { now: minutes(at(2), -1) });
    expect(early.exitCode, early.stderr).toBe(0);
    expect(early.stderr).toContain('Nothing is due');
    for (const e of emails) expect(reminders(e)).toHaveLength(0);

    // The dry run lists who would get what, and sends and records nothing.
    const dry = await w.json(['remind', '--dry-run'], { now: at(2) });
    expect(dry.dryRun).toBe(true);
    expect(dry.notices.map((n: any) => [n.email, n.kind, n.day, n.state])).toEqual(emails.map((e) => [e, 'reminder', 2, 'due']));
    expect(dry.notices[0].expiresAt).toBe(at(7));
    for (const e of emails) expect(reminders(e)).toHaveLength(0);
    expect(await rows(w, 'SELECT * FROM notices')).toEqual([]);

    const sent = await w.json(['remind', '--yes'], { now: at(2) });
    expect(sent.notices.map((n: any) => [n.email, n.day, n.state])).toEqual(emails.map((e) => [e, 2, 'sent']));
    for (const e of emails) expect(reminders(e)).toHaveLength(1);
    const m = reminders(emails[0]!)[0]!;
    // The same expiry as the registration email, in the same words.
    expect(m.text).toContain('Your link expires on Saturday, December 5, 2026 at 09:00 Eastern Standard Time (December 5, 14:00 UTC).');
    expect(linkIn(m)).not.toBe(linkIn(mailsTo(smtp, emails[0]!)[0]!));

    for (const now of [minutes(at(2), 60), at(4)]) {
      const again = await w.run(['remind', '--yes'], { now });
      expect(again.exitCode).toBe(0);
      for (const e of emails) expect(reminders(e)).toHaveLength(1);
    }
    expect((await w.json(['remind', '--yes'], { now: at(5) })).notices.map((n: any) => n.day)).toEqual([5, 5, 5]);
    for (const e of emails) expect(reminders(e)).toHaveLength(2);
    for (const now of [at(6), minutes(at(7), 1), at(9)]) await w.run(['remind', '--yes'], { now });
    for (const e of emails) expect(reminders(e)).toHaveLength(2);

    const events = (await w.json(['events', '--type', 'reminded'])).events;
    expect(events.map((e: any) => [e.email, e.data.day])).toEqual([...emails.map((e) => [e, 2]), ...emails.map((e) => [e, 5])]);
    const sentEvents = (await w.json(['events', '--type', 'email_sent'])).events.filter((e: any) => e.data.kind === 'reminder');
    expect(sentEvents).toHaveLength(6);
  });

  it('a run that missed day 2 sends one reminder on day 5, not two', async () => {
    const { w, emails } = await setup(1);
    expect((await w.json(['remind', '--yes'], { now: at(5.5) })).notices).toMatchObject([{ day: 5, state: 'sent' }]);
    await w.run(['remind', '--yes'], { now: at(6) });
    expect(reminders(emails[0]!)).toHaveLength(1);
  });

  it('a new registration email (resend-registration) starts a new schedule, counted from when it went out', async () => {
    const { w, emails } = await setup(1);
    const e = emails[0]!;
    expect((await w.json(['remind', '--yes'], { now: at(2) })).notices).toMatchObject([{ day: 2, state: 'sent' }]);
    expect((await w.run(['users', 'resend-registration', e], { now: at(3) })).exitCode).toBe(0);
    // Day 5 of the old schedule is day 2 of the new one: nothing until then.
    expect((await w.json(['remind', '--yes'], { now: minutes(at(5), -1) })).notices).toEqual([]);
    expect((await w.json(['remind', '--yes'], { now: at(5) })).notices).toMatchObject([{ email: e, day: 2, state: 'sent', expiresAt: at(10) }]);
    expect((await w.json(['remind', '--yes'], { now: at(8) })).notices).toMatchObject([{ email: e, day: 5, state: 'sent' }]);
    expect(reminders(e)).toHaveLength(3);
    expect(reminders(e)[1]!.text).toContain('Your link expires on Tuesday, December 8, 2026');
  });

  it('the original link keeps working after a reminder, the reminder’s link works too, and using either uses the registration', async () => {
    const { w, emails } = await setup(3);
    await w.run(['remind', '--yes'], { now: at(2) });
    const [a, b, c] = emails as [string, string, string];
    const original = (e: string) => linkIn(mailsTo(smtp, e)[0]!);
    const reminder = (e: string) => linkIn(reminders(e)[0]!);
    const link = (url: string, account: string, now = at(3)) => w.run(['link', url, '--service', 'nih', '--account', account], { now });

    // A: the original link, after the reminder went out.
    expect((await link(original(a), 'alice')).exitCode).toBe(0);
    const usedA = await w.run(['--json', 'link', reminder(a), '--service', 'nih', '--account', 'mallory'], { now: at(3) });
    expect(usedA.exitCode).toBe(1);
    expect(JSON.parse(usedA.stderr).error.code).toBe('link_used');
    expect((await link(reminder(a), 'alice')).exitCode).toBe(0); // the same account again: nothing changes

    // B: the reminder's link; the original is then used up.
    expect((await link(reminder(b), 'bob')).exitCode).toBe(0);
    const usedB = await w.run(['--json', 'link', original(b), '--service', 'ims', '--account', 'eve'], { now: at(3) });
    expect(JSON.parse(usedB.stderr).error.code).toBe('link_used');
    const users = (await w.json(['users', 'list'], { now: at(3) })).users;
    expect(users.map((u: any) => [u.email, u.status, u.username])).toEqual([
      [a, 'linked', 'alice'],
      [b, 'linked', 'bob'],
      [c, 'pending', null],
    ]);

    // C: both links expire together, at the registration's expiry.
    for (const url of [original(c), reminder(c)]) {
      const r = await w.run(['--json', 'link', url, '--service', 'nih', '--account', 'carol'], { now: minutes(at(7), 1) });
      expect(JSON.parse(r.stderr).error.code).toBe('link_expired');
    }
    // Linked people get no more reminders; C gets day 5's.
    expect((await w.json(['remind', '--yes'], { now: at(5) })).notices.map((n: any) => n.email)).toEqual([c]);
  });
});

describe('removal warnings', () => {
  it('--warn-days before the removal date, once, with the date in the portal’s zone and what to do', async () => {
    const { w, emails } = await setup(2, ['--remind-days', '0', '--time-zone', 'Europe/Berlin']);
    await w.run(['remind', '--yes'], { now: at(5) });
    await w.run(['remind', '--yes'], { now: minutes(at(23), -1) });
    for (const e of emails) expect(mailsTo(smtp, e)).toHaveLength(1); // only the registration email

    const dry = await w.json(['remind', '--dry-run'], { now: at(23) });
    expect(dry.notices.map((n: any) => [n.kind, n.removalAt])).toEqual([
      ['removal_warning', at(30)],
      ['removal_warning', at(30)],
    ]);
    const r = await w.run(['remind', '--yes'], { now: at(23) });
    expect(r.exitCode, r.stderr).toBe(0);
    for (const e of emails) expect(warnings(e)).toHaveLength(1);
    const m = warnings(emails[0]!)[0]!;
    expect(m.subject).toBe('Your Grants Portal profile will be removed on December 28');
    expect(m.text).toContain(
      'Your portal profile will be removed on Monday, December 28, 2026 at 15:00 Central European Standard Time (December 28, 14:00 UTC).',
    );
    expect(m.text).toMatch(/Ask the Site Administrator for a new registration email, with a new\s+link, before that date: admin@example\.org/);
    expect(m.text).not.toMatch(/token=/);

    for (const now of [minutes(at(23), 30), at(26), minutes(at(30), -1)]) await w.run(['remind', '--yes'], { now });
    for (const e of emails) expect(warnings(e)).toHaveLength(1);
    const events = (await w.json(['events', '--type', 'removal_warned'])).events;
    expect(events.map((e: any) => [e.email, e.data.removalAt, e.data.warnDays])).toEqual(emails.map((e) => [e, at(30), 7]));
  });

  it('a live link defers removal, so the warning names the link’s expiry when it is later than the removal date', async () => {
    const { w, emails } = await setup(1, ['--remind-days', '0']);
    // Removal in 3 days, but the link is valid until day 7: prune removes on day 7.
    await w.run(['users', 'set-removal-days', emails[0]!, '3'], { now: at(0) });
    const dry = await w.json(['remind', '--dry-run'], { now: at(1) });
    expect(dry.notices).toMatchObject([{ kind: 'removal_warning', removalAt: at(7) }]);
    await w.run(['remind', '--yes'], { now: at(1) });
    expect(warnings(emails[0]!)[0]!.text).toContain('removed on Saturday, December 5, 2026 at 09:00 Eastern Standard Time');
  });
});

describe('the schedule is the portal’s', () => {
  it('portals add/set --remind-days and --warn-days; 0 turns either off; bad values change nothing', async () => {
    const { w, emails } = await setup(1, ['--remind-days', '1,3', '--warn-days', '10']);
    expect((await w.json(['portals', 'list'])).portals[0]).toMatchObject({ remindDays: [1, 3], warnDays: 10 });
    expect((await w.json(['remind', '--yes'], { now: at(1) })).notices).toMatchObject([{ kind: 'reminder', day: 1 }]);

    for (const bad of [
      ['--remind-days', '2,x'],
      ['--warn-days', '-1'],
      ['--warn-days', '1.5'],
    ]) {
      const r = await w.run(['portals', 'set', 'grants', ...bad]);
      expect(r.exitCode, bad.join(' ')).toBe(2);
    }
    expect((await w.json(['portals', 'list'])).portals[0]).toMatchObject({ remindDays: [1, 3], warnDays: 10 });

    expect((await w.run(['portals', 'set', 'grants', '--remind-days', '0', '--warn-days', '0'])).exitCode).toBe(0);
    expect((await w.json(['remind', '--yes'], { now: at(3) })).notices).toEqual([]);
    expect((await w.json(['remind', '--yes'], { now: at(21) })).notices).toEqual([]);
    expect((await w.run(['portals', 'set', 'grants', '--warn-days', '10'])).exitCode).toBe(0);
    expect((await w.json(['remind', '--yes'], { now: at(21) })).notices).toMatchObject([{ kind: 'removal_warning', removalAt: at(30) }]);
    expect(mailsTo(smtp, emails[0]!).map((m) => m.subject)).toEqual([
      'Your registration for Grants Portal',
      REMINDER_SUBJECT,
      'Your Grants Portal profile will be removed on December 28',
    ]);
  });
});

describe('expired links', () => {
  it('remind records an `expired` event once per registration, when it notices the link has expired', async () => {
    const { w, emails } = await setup(2);
    await w.run(['remind', '--yes'], { now: minutes(at(7), -1) });
    expect((await w.json(['events', '--type', 'expired'])).events).toEqual([]);
    await w.run(['remind', '--yes'], { now: at(8) });
    await w.run(['remind', '--yes'], { now: at(9) });
    const expired = (await w.json(['events', '--type', 'expired'])).events;
    expect(expired.map((e: any) => [e.email, e.at, e.data.expiredAt])).toEqual(emails.map((e) => [e, at(8), at(7)]));
  });
});

describe('delivery through the outbox', () => {
  it('a failed delivery is queued (exit 75) and sent by the next run — once', async () => {
    const { w, emails } = await setup(2);
    const [a, b] = emails as [string, string];
    smtp.fault = { kind: 'rcpt', code: 451, message: 'Try again later', only: a };
    const r = await w.run(['remind', '--yes'], { now: at(2) });
    expect(r.exitCode, r.stderr).toBe(75);
    expect(r.stderr).toContain('portalctl outbox send');
    smtp.fault = { kind: 'none' };
    expect(reminders(a)).toHaveLength(0);
    expect(reminders(b)).toHaveLength(1);
    expect((await w.json(['outbox', 'list'])).messages).toMatchObject([{ to: a, kind: 'reminder', state: 'queued', attempts: 1 }]);
    // The failed attempt is in the event log (SPEC: `email_failed`), saying it will be retried.
    const failed = (await w.json(['events', '--type', 'email_failed'])).events;
    expect(failed.map((e: any) => [e.email, e.data.kind, e.data.willRetry])).toEqual([[a, 'reminder', true]]);
    expect(failed[0].data.error).toContain('Try again later');

    // The next run retries it once its backoff is over, and records nothing new.
    const next = await w.json(['remind', '--yes'], { now: minutes(at(2), 60) });
    expect(next.notices).toMatchObject([{ email: a, kind: 'reminder', state: 'sent' }]);
    for (const e of emails) expect(reminders(e)).toHaveLength(1);
    expect(await rows(w, "SELECT count(*) AS n FROM notices WHERE kind = 'reminder'")).toEqual([{ n: 2 }]);
    expect((await w.json(['outbox', 'list'])).messages).toEqual([]);
  });

  it('Ctrl-C: the email in flight finishes, the rest stay queued (exit 130), and the next run sends them — each once', async () => {
    const { w, emails } = await setup(6, [], { PORTALCTL_SMTP_URL: `${smtp.url}?connections=1` });
    const start = smtp.messages.length;
    const h = interruptHandle();
    void smtp.waitFor(start + 1).then(() => h.fire());
    const r = await w.run(['remind', '--yes'], { now: at(2), interrupt: h });
    expect(r.exitCode, r.stderr).toBe(130);
    expect(r.stderr).toMatch(/Interrupted: 1 of 6 emails went out; 5 are recorded and queued/);
    const again = await w.run(['remind', '--yes'], { now: at(2) });
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stderr).toContain('Retried 5 emails queued by an earlier run');
    for (const e of emails) expect(reminders(e)).toHaveLength(1);
  });
});

describe('asking first', () => {
  it('without a terminal remind needs --yes (even with nothing due); on a terminal it asks, and “no” sends nothing', async () => {
    const { w, emails } = await setup(2);
    const cron = await w.run(['remind'], { now: at(1) });
    expect(cron.exitCode).toBe(2);
    expect(cron.stderr).toContain('remind needs --yes');
    const no = await w.run(['remind'], { now: at(2), tty: true, answers: [false] });
    expect(no.exitCode).toBe(1);
    expect(no.asked).toEqual(['Send 2 reminders?']);
    expect(await rows(w, 'SELECT * FROM notices')).toEqual([]);
    const yes = await w.run(['remind'], { now: at(2), tty: true, columns: 80, answers: [true] });
    expect(yes.exitCode, yes.stderr).toBe(0);
    for (const line of stripVTControlCharacters(yes.stdout).trimEnd().split('\n')) expect([...line].length).toBeLessThanOrEqual(80);
    expect(yes.stdout).toMatch(/reminder[\s\S]*\(day 2\)/);
    for (const e of emails) expect(reminders(e)).toHaveLength(1);
  });
});

describe('what remind shows', () => {
  it('piped: one tab-separated row per notice, ISO times; on a terminal: a table, local times; --json: the notices', async () => {
    const { w, emails } = await setup(2);
    const [a, b] = emails as [string, string];
    const piped = await w.run(['remind', '--yes'], { now: at(2) });
    expect(piped.exitCode, piped.stderr).toBe(0);
    expect(tsv(piped.stdout)).toEqual(
      [1, 2].map((id) => ({
        Portal: 'grants',
        User: String(id),
        Email: id === 1 ? a : b,
        Notice: 'reminder (day 2)',
        'Link expires': '2026-12-05T14:00:00.000Z',
        Removal: '2026-12-28T14:00:00.000Z',
        Result: 'sent',
        Error: '',
      })),
    );
    const terminal = await w.run(['remind', '--yes'], { now: at(5), tty: true, columns: 200 });
    expect(terminal.exitCode, terminal.stderr).toBe(0);
    const lines = boxLines(terminal.stdout);
    expect(lines[1]).toMatch(/│ User │ Email +│ Notice +│ Link expires +│ Removal +│ Result │/);
    expect(lines.filter((l) => l.includes('reminder (day 5)'))).toHaveLength(2);
    expect(lines.join('\n')).toContain('2026-12-05 09:00 EST (in 2 days)');
    expect(lines.join('\n')).not.toContain('T14:00:00');
    const json = await w.json(['remind', '--yes'], { now: at(23) });
    expect(json).toEqual({
      dryRun: false,
      notices: [1, 2].map((id) =>
        expect.objectContaining({ portal: 'grants', userId: id, kind: 'removal_warning', removalAt: '2026-12-28T14:00:00.000Z', state: 'sent', error: null }),
      ),
    });
  });
});
