// `users set-removal-days`: the FAQ's "Reset the Number of Days until Account Removal".

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from '../../../src/commands/users/set-removal-days.js';
import { at, boxLines, emlLinkFor, GRANTS, rawInput, strip, thrown, tsv, world, type World } from '../../helpers/run.js';

describe('parse', () => {
  it('reads the user and a whole number of days from 0 to 3650', () => {
    expect(parse(rawInput(['cy@example.org', '45']))).toEqual({ user: { email: 'cy@example.org' }, days: 45 });
    expect(parse(rawInput(['7', '0']))).toEqual({ user: { id: 7 }, days: 0 });
  });

  it.each([['-1'], ['2.5'], ['ten'], [''], ['3651'], ['1e3']])('refuses DAYS %j, naming it (invalid_number)', (days) => {
    const err = thrown(() => parse(rawInput(['1', days])));
    expect(err).toMatchObject({ code: 'invalid_number', exitCode: 2 });
    expect(err.message).toContain(`DAYS ${JSON.stringify(days.trim())}`);
  });

  it('refuses a USER that is neither an id nor an address', () => {
    expect(thrown(() => parse(rawInput(['Cy Clark', '5']))).code).toBe('invalid_user');
  });
});

describe('users set-removal-days', () => {
  let w: World;
  beforeAll(async () => {
    w = world();
    await w.run(GRANTS);
    await w.run(['users', 'invite', '--email', 'cy@example.org', '--first-name', 'Cy', '--last-name', 'Clark']);
    await w.run(['users', 'invite', '--email', 'bo@example.org', '--first-name', 'Bo', '--last-name', 'Brown']);
    await w.run(['link', emlLinkFor(w.mailDir, 'bo@example.org'), '--service', 'nih', '--account', 'bo']);
  });
  afterAll(() => w.close());

  it('restarts the countdown at DAYS from now and says when', async () => {
    const r = await w.run(['users', 'set-removal-days', 'cy@example.org', '45'], { now: at(20) });
    expect(r.exitCode).toBe(0);
    expect(tsv(r.stdout)[0]).toMatchObject({ ID: '1', 'Removal in': '45 days' });
    expect(r.stderr).toBe('User 1 will be removed on 2027-02-01 09:00 EST (in 45 days) unless linked first.\n');
    expect((await w.json(['users', 'list', '--search', 'cy@'], { now: at(20) })).users[0].removalDueAt).toBe(at(65));
    const doc = await w.json(['users', 'set-removal-days', '1', '1'], { now: at(20) });
    expect(doc.users[0]).toMatchObject({ id: 1, removalDueAt: at(21) });
    const audit = (await w.json(['audit', '--user', '1'], { now: at(20) })).audit[0];
    expect(audit).toMatchObject({ action: 'set-removal-days', before: { removalDueAt: at(65) }, after: { removalDueAt: at(21), days: 1 } });
  });

  it('a removal date before the Step 2 link expires says when prune will really remove them', async () => {
    await w.run(['users', 'invite', '--email', 'di@example.org', '--first-name', 'Di', '--last-name', 'Dunn'], { now: at(10) });
    const r = await w.run(['users', 'set-removal-days', 'di@example.org', '2'], { now: at(11) });
    expect(r.exitCode).toBe(0);
    expect(tsv(r.stdout)[0]).toMatchObject({ Status: 'pending', 'Removal in': '2 days' });
    expect(r.stderr).toBe(
      "User 3's removal date is 2026-12-11 09:00 EST (in 2 days), but their Step 2 link is valid until 2026-12-15 09:00 EST: prune removes them after that unless they link first.\n",
    );
    const prune = await w.json(['prune', '--dry-run'], { now: at(14) });
    expect(prune.removed.map((u: { email: string }) => u.email)).not.toContain('di@example.org');
    const later = await w.json(['prune', '--dry-run'], { now: at(18) });
    expect(later.removed.map((u: { email: string }) => u.email)).toContain('di@example.org');
  });

  it('on a terminal: the user in the table, at any width', async () => {
    const wide = await w.run(['users', 'set-removal-days', '1', '30'], { tty: true, columns: 200 });
    expect(strip(wide.stdout)).toMatch(/│ 1 +│ Cy Clark .*│ 30 days +│/);
    const narrow = await w.run(['users', 'set-removal-days', '1', '30'], { tty: true, columns: 80 });
    for (const l of boxLines(narrow.stdout)) expect([...l].length).toBeLessThanOrEqual(80);
  });

  it('0 days: due now; asks on a terminal, needs --yes otherwise', async () => {
    const asked = await w.run(['users', 'set-removal-days', '1', '0'], { tty: true, answers: [false] });
    expect(asked.asked).toEqual(['User 1 will be due for removal now: the next prune removes them unless their link is still valid. Continue?']);
    expect(asked.exitCode).toBe(1);
    const piped = await w.run(['users', 'set-removal-days', '1', '0']);
    expect(piped.exitCode).toBe(2);
    expect(piped.stderr).toBe('error: set-removal-days with 0 days needs --yes when not run from a terminal; nothing was changed.\n');
    const yes = await w.run(['--yes', 'users', 'set-removal-days', '1', '0']);
    expect(yes.exitCode).toBe(0);
    expect(tsv(yes.stdout)[0]!['Removal in']).toBe('due now');
    expect(yes.stderr).toContain('is due for removal now');
    await w.run(['users', 'set-removal-days', '1', '30']);
  });

  it('a linked user has no removal date to reset (exit 1); an unknown user is exit 1', async () => {
    const linked = await w.run(['--json', 'users', 'set-removal-days', 'bo@example.org', '5']);
    expect(linked.exitCode).toBe(1);
    expect(JSON.parse(linked.stderr).error.code).toBe('user_linked');
    const none = await w.run(['--json', 'users', 'set-removal-days', 'nobody@example.org', '5']);
    expect(none.exitCode).toBe(1);
    expect(JSON.parse(none.stderr).error).toMatchObject({ code: 'not_found', message: expect.stringContaining('"nobody@example.org"') });
  });
});
