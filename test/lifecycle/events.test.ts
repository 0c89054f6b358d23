// The lifecycle event log: every change appends one event with an increasing
// id (the cursor); `events` reads it oldest first from a cursor, follows it
// until Ctrl-C, and never holds a token.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { interruptHandle, ticker, type World } from '../helpers/run.js';
import { startSmtp, type TestSmtp } from '../helpers/smtp.js';
import { at, linkIn, mailsTo, portalWith, REMINDER_SUBJECT, rows, tokenOf } from './fixtures.js';

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
  // One SMTP connection: emails go, and their events are recorded, in order.
  const s = await portalWith(smtp, n, { env: { PORTALCTL_SMTP_URL: `${smtp.url}?connections=1` } });
  worlds.push(s.w);
  return s;
}

/** A person's whole life: invited, reminded, a failed and a good link, a new registration, expiry, removal. */
async function lifecycle(w: World, a: string, b: string) {
  await w.run(['remind', '--yes'], { now: at(2) });
  const original = linkIn(mailsTo(smtp, a)[0]!);
  await w.run(['users', 'resend-registration', a], { now: at(3) });
  await w.run(['link', original, '--service', 'nih', '--account', 'ann'], { now: at(3) }); // superseded
  await w.run(['link', linkIn(mailsTo(smtp, a).at(-1)!), '--service', 'nih', '--account', 'ann'], { now: at(3) });
  await w.run(['remind', '--yes'], { now: at(8) }); // b's link has expired
  await w.run(['users', 'remove', b, '--yes'], { now: at(9) });
}

describe('the event log', () => {
  it('records every lifecycle change, in order, with increasing ids, the user and the data', async () => {
    const { w, emails } = await setup(2);
    const [a, b] = emails as [string, string];
    await lifecycle(w, a, b);
    const { events, cursor } = await w.json(['events']);
    expect(events.map((e: any) => [e.type, e.email])).toEqual([
      ['invited', a],
      ['invited', b],
      ['email_sent', a],
      ['email_sent', b],
      ['reminded', a],
      ['reminded', b],
      ['email_sent', a],
      ['email_sent', b],
      ['email_sent', a], // the new registration email
      ['link_failed', a],
      ['linked', a],
      ['expired', b],
      ['removed', b],
    ]);
    const ids = events.map((e: any) => e.id);
    expect(ids).toEqual([...ids].sort((x: number, y: number) => x - y));
    expect(new Set(ids).size).toBe(ids.length);
    expect(cursor).toBe(ids.at(-1));
    expect(Object.keys(events[0])).toEqual(['id', 'at', 'type', 'portal', 'userId', 'email', 'data']);
    expect(events.find((e: any) => e.type === 'link_failed')).toMatchObject({
      portal: 'grants',
      userId: 1,
      at: at(3),
      data: { code: 'link_superseded', loginService: 'nih', username: 'ann' },
    });
    expect(events.find((e: any) => e.type === 'linked').data).toMatchObject({ loginService: 'nih', username: 'ann' });
    expect(events.find((e: any) => e.type === 'expired')).toMatchObject({ at: at(8), userId: 2, data: { expiredAt: at(7) } });
  });

  it('--since is a cursor: only what came after it; --type filters; --portal scopes; TSV when piped', async () => {
    const { w, emails } = await setup(2);
    const all = (await w.json(['events'])).events;
    const mid = all[1].id;
    const after = await w.json(['events', '--since', String(mid)]);
    expect(after.events.map((e: any) => e.id)).toEqual(all.slice(2).map((e: any) => e.id));
    // Nothing new: an empty list, and the cursor stays where it was.
    const last = all.at(-1).id;
    expect(await w.json(['events', '--since', String(last)])).toMatchObject({ events: [], cursor: last });
    await w.run(['remind', '--yes'], { now: at(2) });
    expect((await w.json(['events', '--since', String(last)])).events.map((e: any) => e.type)).toEqual(['reminded', 'reminded', 'email_sent', 'email_sent']);
    expect((await w.json(['events', '--type', 'invited,reminded'])).events.map((e: any) => [e.type, e.email])).toEqual([
      ['invited', emails[0]],
      ['invited', emails[1]],
      ['reminded', emails[0]],
      ['reminded', emails[1]],
    ]);
    expect((await w.json(['--portal', 'grants', 'events', '--type', 'invited'])).events).toHaveLength(2);

    const tsv = await w.run(['events', '--type', 'invited']);
    const lines = tsv.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('ID\tWhen\tType\tPortal\tUser\tEmail\tData');
    expect(lines[1]).toMatch(new RegExp(`^1\\t2026-11-28T14:00:00.000Z\\tinvited\\tgrants\\t1\\t${emails[0]}\\t\\{"registrationId":1,`));

    for (const bad of [
      ['--since', '-1'],
      ['--since', 'yesterday'],
      ['--type', 'invited,nonsense'],
      ['--retry-dead', '--since', '3'],
    ]) {
      const r = await w.run(['events', ...bad]);
      expect(r.exitCode, bad.join(' ')).toBe(2);
    }
  });

  it('--since past the newest event (a typo, another store) is a usage error, also with --follow: nothing silently skipped', async () => {
    const { w } = await setup(1);
    const last = (await w.json(['events'])).events.at(-1).id as number;
    for (const args of [
      ['events', '--since', String(last + 1)],
      ['events', '--since', String(last * 10), '--follow'],
    ]) {
      const r = await w.run(['--json', ...args]);
      expect(r.exitCode, args.join(' ')).toBe(2);
      expect(JSON.parse(r.stderr).error).toMatchObject({ code: 'invalid_cursor', message: expect.stringContaining(`past the newest event (${last})`) });
      expect(r.stdout).toBe('');
    }
  });

  it('--follow prints the backlog, then each new event as other runs record it, one JSON object per line, until Ctrl-C (exit 0)', async () => {
    const { w, emails } = await setup(1);
    const t = ticker();
    const h = interruptHandle();
    const following = w.run(['--json', 'events', '--follow', '--since', '1'], { wait: t.wait, interrupt: h });
    await t.waiting();
    // Meanwhile, another run records reminders, then another a removal.
    await w.run(['remind', '--yes'], { now: at(2) });
    await t.tick();
    await w.run(['users', 'remove', emails[0]!, '--yes'], { now: at(3) });
    await t.tick();
    await t.tick(); // nothing new: nothing printed
    h.fire();
    const r = await following;
    expect(r.exitCode, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    const events = lines.map((l) => JSON.parse(l));
    expect(events.map((e) => e.type)).toEqual(['email_sent', 'reminded', 'email_sent', 'removed']);
    expect(events.map((e) => e.id)).toEqual([2, 3, 4, 5]);
    expect(t.waits).toBe(4);
  });

  it('--follow on a terminal: a line per event with its local time, and where to carry on from', async () => {
    const { w } = await setup(1);
    const t = ticker();
    const h = interruptHandle();
    const following = w.run(['events', '--follow'], { wait: t.wait, interrupt: h, tty: true, env: { NO_COLOR: '1' } });
    await t.waiting();
    h.fire();
    const r = await following;
    expect(r.exitCode).toBe(0);
    expect(r.stdout.split('\n')[0]).toMatch(/^1 {2}2026-11-28 09:00 EST {2}invited {2}grants {2}1 {2}/);
    expect(r.stderr).toContain('Stopped after event 2; `portalctl events --since 2 --follow` carries on from there.');
  });

  it('never holds a token: not the registration email’s, not the reminder’s, not a superseded one', async () => {
    const { w, emails } = await setup(2);
    const [a, b] = emails as [string, string];
    await lifecycle(w, a, b);
    const tokens = emails.flatMap((e) => mailsTo(smtp, e).map((m) => tokenOf(linkIn(m))));
    expect(mailsTo(smtp, a).map((m) => m.subject)).toContain(REMINDER_SUBJECT);
    expect(tokens.length).toBeGreaterThanOrEqual(5);
    const raw = (await rows<{ data: string }>(w, 'SELECT * FROM events')).map((r) => JSON.stringify(r));
    const shown = [(await w.run(['--json', 'events'])).stdout, (await w.run(['events'])).stdout];
    for (const token of tokens) {
      for (const text of [...raw, ...shown]) expect(text).not.toContain(token);
      // Nor any long piece of it.
      for (const text of [...raw, ...shown]) expect(text).not.toContain(token.slice(0, 12));
    }
  });
});
