// `users show`: one user in full, for the helpdesk.

import { userInfo } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from '../../../src/commands/users/show.js';
import { at, boxLines, emlLinkFor, GRANTS, rawInput, strip, thrown, world, type World } from '../../helpers/run.js';

describe('parse', () => {
  it('reads one user by id or address', () => {
    expect(parse(rawInput(['42']))).toEqual({ user: { id: 42 } });
    expect(parse(rawInput([' fay@example.org ']))).toEqual({ user: { email: 'fay@example.org' } });
    expect(thrown(() => parse(rawInput(['fay'])))).toMatchObject({ code: 'invalid_user', exitCode: 2 });
  });
});

describe('users show', () => {
  let w: World;
  beforeAll(async () => {
    w = world();
    await w.run(GRANTS);
    await w.run(['users', 'invite', '--email', 'fay@example.org', '--first-name', 'Fay', '--last-name', 'Fox']);
    const first = emlLinkFor(w.mailDir, 'fay@example.org');
    await w.run(['link', first, '--service', 'nih', '--account', 'fay'], { now: at(9) }); // too late
    await w.run(['users', 'resend-registration', 'fay@example.org'], { now: at(10) });
    await w.run(['link', first, '--service', 'nih', '--account', 'fay'], { now: at(10) }); // the old link
    await w.run(['link', emlLinkFor(w.mailDir, 'fay@example.org'), '--service', 'nih', '--account', 'fay'], { now: at(11) });
  });
  afterAll(() => w.close());

  it('--json: every registration, link attempt and change of account', async () => {
    const u = (await w.json(['users', 'show', 'fay@example.org'], { now: at(11) })).users[0];
    expect(u).toMatchObject({ id: 1, email: 'fay@example.org', status: 'linked', loginService: 'nih', username: 'fay' });
    expect(u.registrations).toEqual([
      expect.objectContaining({
        id: 1,
        email: 'fay@example.org',
        state: 'superseded',
        sentAt: at(0),
        expiresAt: at(7),
        supersededAt: at(10),
        mail: { state: 'sent', lastError: null },
      }),
      expect.objectContaining({ id: 2, state: 'used', sentAt: at(10), expiresAt: at(17), usedAt: at(11) }),
    ]);
    expect(u.linkAttempts).toEqual([
      { at: at(9), registrationId: 1, loginService: 'nih', username: 'fay', outcome: 'link_expired', actor: expect.any(String) },
      { at: at(10), registrationId: 1, loginService: 'nih', username: 'fay', outcome: 'link_superseded', actor: expect.any(String) },
      { at: at(11), registrationId: 2, loginService: 'nih', username: 'fay', outcome: 'linked', actor: expect.any(String) },
    ]);
    expect(u.accountChanges).toEqual([{ at: at(11), actor: expect.any(String), from: null, to: { loginService: 'nih', username: 'fay' } }]);
    expect(u.linkViews).toEqual([]);
  });

  it('piped: the user, then one titled section each', async () => {
    const r = await w.run(['users', 'show', '1'], { now: at(11) });
    expect(r.exitCode).toBe(0);
    const text = r.stdout;
    expect(text).toMatch(
      /^ID\tName\tEmail\tUsername\/ID \(Login Service\)\tStatus\tLink expires\tRemoval in\n1\tFay Fox\tfay@example\.org\tfay \(NIH Network Login\)\tlinked\t\t\n/,
    );
    expect(text).toContain('\n# Registrations\nID\tSent to\tCreated\tSent\tLink expires\tState\tMail\n1\tfay@example.org\t');
    expect(text).toContain('\n# Step 2 link opened\nnever (the link in the email has not been opened)\n');
    expect(text).toContain(`\n# Link attempts\nAt\tAccount\tOutcome\tBy\n${at(9)}\tfay (NIH Network Login)\tlink_expired\t`);
    expect(text).toContain('\n# Login account changes\nAt\tFrom\tTo\tBy\n');
  });

  it('on a terminal: titled boxed tables, local times, fitted to the width', async () => {
    for (const columns of [200, 80]) {
      const r = await w.run(['users', 'show', '1'], { now: at(11), tty: true, columns });
      for (const l of boxLines(r.stdout)) expect([...l].length).toBeLessThanOrEqual(columns);
      expect(r.stdout).toContain('\u001b[1mLink attempts\u001b[22m');
      expect(strip(r.stdout)).toContain('link_superseded');
    }
    expect(strip((await w.run(['users', 'show', '1'], { now: at(11), tty: true, columns: 200 })).stdout)).toContain('2026-12-05 09:00 EST (4 days ago)');
  });

  it('a registration whose email is still queued says so', async () => {
    await w.run(['users', 'invite', '--email', 'q@example.org', '--first-name', 'Q', '--last-name', 'Q'], {
      env: { PORTALCTL_SMTP_URL: 'smtp://127.0.0.1:1' },
    });
    const u = (await w.json(['users', 'show', 'q@example.org'])).users[0];
    expect(u.registrations[0]).toMatchObject({
      state: 'active (email queued)',
      sentAt: null,
      mail: { state: 'queued', lastError: expect.stringMatching(/ECONNREFUSED/) },
    });
  });

  it('an unknown user is exit 1', async () => {
    const r = await w.run(['--json', 'users', 'show', 'nobody@example.org']);
    expect(r.exitCode).toBe(1);
    expect(JSON.parse(r.stderr).error.code).toBe('not_found');
  });

  it('a removed user is exit 1 too, and the error says who removed them and when (by address, any case, or id)', async () => {
    const gone = (await w.json(['users', 'invite', '--email', 'Gus.Gone@Example.org', '--first-name', 'Gus', '--last-name', 'Gone'])).users[0].id;
    const cut = (await w.json(['users', 'invite', '--email', 'cal@example.org', '--first-name', 'Cal', '--last-name', 'Cut'])).users[0].id;
    expect((await w.run(['users', 'remove', String(cut), '--yes'], { now: at(1) })).exitCode).toBe(0);
    expect((await w.run(['prune', '--yes'], { now: at(40) })).exitCode).toBe(0);

    const r = await w.run(['users', 'show', 'gus.gone@example.org'], { now: at(42) });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toBe(
      `error: No user "gus.gone@example.org" in portal grants: user ${gone} ("Gus.Gone@Example.org") was removed on January 7, 2027 by \`portalctl prune\` (never linked). ` +
        `\`portalctl audit --user ${gone}\` shows the record; \`portalctl users invite --email "Gus.Gone@Example.org"\` registers them again.\n`,
    );
    const me = userInfo().username; // who ran `users remove`
    const byId = await w.run(['--json', 'users', 'show', String(cut)], { now: at(42) });
    expect(byId.exitCode).toBe(1);
    expect(JSON.parse(byId.stderr).error).toMatchObject({
      code: 'not_found',
      message: expect.stringContaining(`user ${cut} ("cal@example.org") was removed on November 29, 2026 by "${me}" (\`portalctl users remove\`)`),
      details: { removed: { userId: cut, email: 'cal@example.org', action: 'remove', actor: me, at: at(1) } },
    });
    // Every command that finds a user says the same.
    expect((await w.run(['users', 'resend-registration', 'CAL@example.org'], { now: at(42) })).stderr).toContain(`user ${cut} ("cal@example.org") was removed`);
  });
});
