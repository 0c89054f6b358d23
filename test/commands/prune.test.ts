// `prune`: the nightly removal of unlinked users past their removal date.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse } from '../../src/commands/prune.js';
import { at, boxLines, emlLinkFor, GRANTS, interruptHandle, rawInput, strip, tsv, world, type World } from '../helpers/run.js';
import { inspectStore, seedUsers } from '../helpers/store.js';

describe('parse', () => {
  it('reads --dry-run', () => {
    expect(parse(rawInput([], { dryRun: true }))).toEqual({ dryRun: true });
    expect(parse(rawInput())).toEqual({ dryRun: false });
  });
});

describe('prune', () => {
  let w: World;
  beforeEach(async () => {
    w = world();
    await w.run(GRANTS);
  });
  afterEach(() => w.close());

  /** gone: never linked; kept-linked: linked on day 1; kept-live: re-sent on day 28, so its link lives until day 35. */
  async function threeUsers() {
    for (const e of ['gone@example.org', 'kept-linked@example.org', 'kept-live@example.org'])
      await w.run(['users', 'invite', '--email', e, '--first-name', 'P', '--last-name', 'Q']);
    expect((await w.run(['link', emlLinkFor(w.mailDir, 'kept-linked@example.org'), '--service', 'nih', '--account', 'kl'], { now: at(1) })).exitCode).toBe(0);
    await w.run(['users', 'resend-registration', 'kept-live@example.org'], { now: at(28) });
  }
  const emails = async (now: string) => (await w.json(['users', 'list'], { now })).users.map((u: { email: string }) => u.email);

  it('without a terminal needs --yes, even on a night with nothing to remove (exit 2, nothing removed)', async () => {
    const empty = await w.run(['prune']);
    expect(empty).toMatchObject({ exitCode: 2, stdout: '', stderr: 'error: prune needs --yes when not run from a terminal; nothing was removed.\n' });
    await threeUsers();
    expect((await w.run(['prune'], { now: at(31) })).exitCode).toBe(2);
    expect(await emails(at(31))).toHaveLength(3);
  });

  it('--dry-run shows who would go and changes nothing', async () => {
    await threeUsers();
    const dry = await w.json(['prune', '--dry-run'], { now: at(31) });
    expect(dry).toEqual({ dryRun: true, removed: [expect.objectContaining({ email: 'gone@example.org', status: 'expired' })] });
    const text = await w.run(['prune', '--dry-run'], { now: at(31) });
    expect(tsv(text.stdout).map((u) => u.Email)).toEqual(['gone@example.org']);
    expect(text.stderr).toBe('Would remove 1 user (dry run; nothing changed).\n');
    expect(await emails(at(31))).toHaveLength(3);
  });

  it('--yes --quiet prints nothing; linked users and live links are spared; the audit trail keeps the removed', async () => {
    await threeUsers();
    const cron = await w.run(['prune', '--yes', '--quiet'], { now: at(31) });
    expect(cron).toMatchObject({ exitCode: 0, stdout: '', stderr: '' });
    expect(await emails(at(31))).toEqual(['kept-linked@example.org', 'kept-live@example.org']);
    const later = await w.json(['prune', '--yes', '--actor', 'nightly-prune'], { now: at(36) });
    expect(later).toEqual({ dryRun: false, removed: [expect.objectContaining({ email: 'kept-live@example.org' })] });
    expect(await emails(at(36))).toEqual(['kept-linked@example.org']);

    const audit = await w.json(['audit', '--user', 'gone@example.org']);
    expect(audit.audit.map((a: { action: string }) => a.action)).toEqual(['prune', 'invite']);
    const all = await w.json(['audit']);
    expect(all.audit[0]).toMatchObject({ action: 'prune', actor: 'nightly-prune', userEmail: 'kept-live@example.org' });
    expect(all.audit[0].before).toMatchObject({ email: 'kept-live@example.org', loginService: null });
    expect((await w.json(['audit', '--since', at(30)])).audit.map((a: { action: string }) => a.action)).toEqual(['prune', 'prune']);
  });

  it('records each link expiry it notices once: a removed user’s just before the removal, a staying user’s after', async () => {
    await threeUsers();
    // invited on day 20: the link expires on day 27, the removal is due on day 50.
    await w.run(['users', 'invite', '--email', 'stays@example.org', '--first-name', 'S', '--last-name', 'T'], { now: at(20) });
    const since = (await w.json(['events'])).cursor;
    const changes = async () => (await w.json(['events', '--since', String(since)])).events.map((e: any) => [e.type, e.email, e.data.expiredAt]);
    await w.run(['prune', '--dry-run'], { now: at(31) });
    expect(await changes()).toEqual([]);
    await w.run(['prune', '--yes'], { now: at(31) });
    expect(await changes()).toEqual([
      ['expired', 'gone@example.org', at(7)],
      ['removed', 'gone@example.org', undefined],
      ['expired', 'stays@example.org', at(27)],
    ]);
    await w.run(['prune', '--yes'], { now: at(32) });
    await w.run(['remind', '--yes'], { now: at(32) });
    expect((await changes()).filter(([type]: string[]) => type === 'expired')).toHaveLength(2);
  });

  it('piped and on a terminal: the removed users and how many', async () => {
    await threeUsers();
    const r = await w.run(['prune', '--yes'], { now: at(31), tty: true, columns: 200 });
    expect(r.exitCode).toBe(0);
    expect(strip(r.stdout)).toMatch(/│ 1 +│ P Q +│ gone@example\.org +│ \(This account is not linked\)\.\.\. +│ expired +│ .* +│ due now +│/);
    expect(r.stderr).toBe('Removed 1 user.\n');
    const narrow = await w.run(['prune', '--dry-run'], { now: at(36), tty: true, columns: 80 });
    for (const l of boxLines(narrow.stdout)) expect([...l].length).toBeLessThanOrEqual(80);
    // At 80 columns a compact or stacked table (issue 13), not a record per user.
    expect(strip(narrow.stdout)).toMatch(/│ kept-live@example\.org +│/);
    expect(strip(narrow.stdout)).not.toMatch(/│ Email +│ kept-live/);
    const nothing = await w.run(['prune', '--yes'], { now: at(31) });
    expect(nothing).toMatchObject({ exitCode: 0, stdout: '', stderr: 'No unlinked users are past their removal date.\n' });
  });

  it('on a terminal, asks first; "no" removes nobody (exit 1); nothing due, nothing asked', async () => {
    await threeUsers();
    const no = await w.run(['prune'], { now: at(31), tty: true, answers: [false] });
    expect(no.asked).toEqual(['Remove 1 unlinked user past their removal date?']);
    expect(no.exitCode).toBe(1);
    expect(await emails(at(31))).toHaveLength(3);
    const yes = await w.run(['prune'], { now: at(31), tty: true, answers: [true] });
    expect(yes.exitCode).toBe(0);
    expect(await emails(at(31))).toHaveLength(2);
    const none = await w.run(['prune'], { now: at(31), tty: true });
    expect(none.asked).toEqual([]);
    expect(none.exitCode).toBe(0);
  });

  it('Ctrl-C after the first batch keeps what was removed, says so, and exits 130; the next run finishes', async () => {
    await seedUsers(w, 1200, { removalDueAt: '2026-11-01T00:00:00.000Z' });
    const ctrlC = interruptHandle();
    const r = await w.run(['prune', '--yes'], { tty: true, columns: 200, interrupt: ctrlC, onProgress: (t) => t.startsWith('Removed') && ctrlC.fire() });
    expect(r.exitCode).toBe(130);
    expect(r.stderr).toContain('Interrupted: removed 500 users; the others due for removal are still there — run `portalctl prune` again to finish.');
    expect(boxLines(r.stdout).length).toBeGreaterThan(0);
    expect((await inspectStore(w)).users).toBe(700);
    const json = await w.run(['--json', 'prune', '--yes']);
    expect(json.exitCode).toBe(0);
    expect(JSON.parse(json.stdout).removed).toHaveLength(700);
    expect(await inspectStore(w)).toMatchObject({ users: 0, integrity: 'ok' });
  });
});
