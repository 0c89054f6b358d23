// Guards: preconditions before prompts, and a word and a question before a
// risky single-user action — resending to someone already linked, changing an
// address, making a user due for removal now. Confirmations default to No,
// shown in a real terminal where Enter is pressed.

import { simpleParser } from 'mailparser';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GRANTS, at, world, type World } from '../helpers/run.js';
import { inTerminal, KEY } from '../helpers/terminal.js';
import { strip, tokenFor } from './support.js';
import { storeCount, storeSql } from '../helpers/sql.js';

let w: World;
beforeEach(() => {
  w = world();
});
afterEach(() => w.close());

const INVITE = ['users', 'invite', '--email', 'jane.doe@example.org'];
const outbox = () => storeCount(w, 'FROM outbox');

describe('preconditions are checked before anything is asked', () => {
  it('no portal yet: said at once, no name asked', async () => {
    await w.run(GRANTS); // creates the store …
    await storeSql(w, 'DELETE FROM portals'); // … and leaves it without a portal
    const r = await w.run(['--json', ...INVITE], { tty: true });
    expect(r.asked).toEqual([]);
    expect(r.exitCode).toBe(2);
    expect(JSON.parse(r.stderr).error.code).toBe('no_portal');
  });

  it('several portals and no --portal: said at once', async () => {
    await w.run(GRANTS);
    await w.run(['portals', 'add', 'cancer', '--name', 'Cancer Portal', '--url', 'https://cancer.example.org', '--admin-email', 'admin@example.org']);
    const r = await w.run(['--json', ...INVITE], { tty: true });
    expect(r.asked).toEqual([]);
    expect(r.exitCode).toBe(2);
    expect(JSON.parse(r.stderr).error.code).toBe('portal_required');
  });

  it('an address that already has a profile: refused before the names are asked', async () => {
    await w.run(GRANTS);
    await w.run([...INVITE, '--first-name', 'Jane', '--last-name', 'Doe']);
    const r = await w.run(['--json', 'users', 'invite', '--email', 'JANE.DOE@example.org'], { tty: true });
    expect(r.asked).toEqual([]);
    expect(r.exitCode).toBe(1);
    expect(JSON.parse(r.stderr).error.code).toBe('already_registered');
  });

  it('a prompted address that already has a profile: refused before the names are asked', async () => {
    await w.run(GRANTS);
    await w.run([...INVITE, '--first-name', 'Jane', '--last-name', 'Doe']);
    const r = await w.run(['users', 'invite'], { tty: true, answers: ['jane.doe@example.org'] });
    expect(r.asked).toEqual(['Email address:']);
    expect(r.exitCode).toBe(1);
  });

  it('a bad sender setting: exit 2 before any question or record', async () => {
    await w.run(GRANTS);
    const r = await w.run(['users', 'invite'], { tty: true, env: { PORTALCTL_MAIL_FROM: 'a@example.org, b@example.org' } });
    expect(r.asked).toEqual([]);
    expect(r.exitCode).toBe(2);
    expect(await outbox()).toBe(0);
  });

  it('link: an expired or unknown link is said before the login service is asked', async () => {
    await w.run(GRANTS);
    await w.run([...INVITE, '--first-name', 'Jane', '--last-name', 'Doe'], { now: at(-10) });
    const expired = await w.run(['--json', 'link', tokenFor(w.mailDir, 1)], { tty: true });
    expect(expired.asked).toEqual([]);
    expect(JSON.parse(expired.stderr).error.code).toBe('link_expired');
    const { mintToken } = await import('../../src/domain/tokens.js');
    const unknown = await w.run(['--json', 'link', mintToken()], { tty: true });
    expect(unknown.asked).toEqual([]);
    expect(JSON.parse(unknown.stderr).error.code).toBe('link_unknown');
  });

  it('link: a valid link still asks for what is missing', async () => {
    await w.run(GRANTS);
    await w.run([...INVITE, '--first-name', 'Jane', '--last-name', 'Doe']);
    const r = await w.run(['link', tokenFor(w.mailDir, 1)], { tty: true, answers: ['nih', 'jdoe'] });
    expect(r.exitCode).toBe(0);
    expect(r.asked).toEqual(['Which login service do you sign in with?', 'Your NIH Network Login username:']);
  });
});

describe('risky single-user actions', () => {
  beforeEach(async () => {
    await w.run(GRANTS);
    await w.run([...INVITE, '--first-name', 'Jane', '--last-name', 'Doe']);
  });

  it('resending to a linked user warns and asks; No sends nothing', async () => {
    await w.run(['link', tokenFor(w.mailDir, 1), '--service', 'nih', '--account', 'jdoe']);
    const before = await outbox();
    const no = await w.run(['users', 'resend-registration', '1'], { tty: true, answers: [false] });
    expect(no.asked).toEqual(['User 1 is already linked as jdoe (NIH Network Login); send a new registration email anyway?']);
    expect(no.exitCode).toBe(1);
    expect(await outbox()).toBe(before);
    const yes = await w.run(['users', 'resend-registration', '1'], { tty: true, answers: [true] });
    expect(yes.exitCode).toBe(0);
    expect(strip(yes.stderr)).toContain('warning: User 1 (jane.doe@example.org) is already linked as jdoe (NIH Network Login)');
    expect(yes.stderr).toContain('their current account keeps working until they use it');
    expect(await outbox()).toBe(before + 1);
    // Without a terminal the warning still comes; a script goes ahead.
    const script = await w.run(['users', 'resend-registration', '1']);
    expect(script.exitCode).toBe(0);
    expect(script.stderr).toContain('is already linked as jdoe (NIH Network Login)');
  });

  it('the email a linked user gets says whom they are linked as, and that the link is only to switch login service', async () => {
    await w.run(['link', tokenFor(w.mailDir, 1), '--service', 'nih', '--account', 'jdoe']);
    expect((await w.run(['users', 'resend-registration', '1'])).exitCode).toBe(0);
    const newest = readdirSync(w.mailDir)
      .filter((f) => f.includes('-user1-'))
      .sort()
      .pop()!;
    const mail = await simpleParser(readFileSync(join(w.mailDir, newest)));
    const text = (mail.text ?? '').replace(/\s+/g, ' ');
    expect(text).toContain('You are linked as jdoe (NIH Network Login).');
    expect(text).toContain('Use this link only if you want to switch to a different login service');
    // Not the unlinked person's email: no "link before you sign in", no removal date.
    expect(text).not.toContain('If you do not link an account by');
    expect(String(mail.html)).toContain('Switch my login service');
  });

  it('resend --email NEW asks on a terminal, showing old → new; No changes nothing', async () => {
    const no = await w.run(['users', 'resend-registration', '1', '--email', 'jane@new.example.org'], { tty: true, answers: [false] });
    expect(no.asked).toEqual(['Change the address of user 1 from "jane.doe@example.org" to "jane@new.example.org" and send the email there?']);
    expect(no.exitCode).toBe(1);
    expect((await w.json(['users', 'list'])).users[0].email).toBe('jane.doe@example.org');
    const yes = await w.run(['users', 'resend-registration', '1', '--email', 'jane@new.example.org'], { tty: true, answers: [true] });
    expect(yes.exitCode).toBe(0);
    expect(yes.stderr).toContain("User 1's address is now jane@new.example.org (was jane.doe@example.org).");
    expect((await w.json(['users', 'list'])).users[0].email).toBe('jane@new.example.org');
  });

  it('set-removal-days USER 0 says the user becomes due now and asks; without a terminal it needs --yes', async () => {
    const due = (await w.json(['users', 'list'])).users[0].removalDueAt;
    const no = await w.run(['users', 'set-removal-days', '1', '0'], { tty: true, answers: [false] });
    expect(no.asked[0]).toMatch(/^User 1 will be due for removal now: the next prune removes them unless their link is still valid\. Continue\?$/);
    expect(no.exitCode).toBe(1);
    expect((await w.json(['users', 'list'])).users[0].removalDueAt).toBe(due);
    const script = await w.run(['--json', 'users', 'set-removal-days', '1', '0']);
    expect(script.exitCode).toBe(2);
    expect(JSON.parse(script.stderr).error.code).toBe('confirmation_required');
    const yes = await w.run(['users', 'set-removal-days', '1', '0', '--yes']);
    expect(yes.exitCode).toBe(0);
    expect(yes.stderr).toContain('User 1 is due for removal now');
    // Any other number asks nothing.
    const ten = await w.run(['users', 'set-removal-days', '1', '10'], { tty: true });
    expect(ten.asked).toEqual([]);
    expect(ten.exitCode).toBe(0);
  });
});

describe('in a real terminal, Enter means No', { timeout: 60_000 }, () => {
  beforeEach(() => w.run(GRANTS));

  it('the mass-email confirmation: Enter invites nobody', async () => {
    const csv = join(w.dir, 'people.csv');
    writeFileSync(csv, 'email,first_name,last_name\na@example.org,A,One\nb@example.org,B,Two\nc@example.org,C,Three\n');
    const r = await inTerminal(['users', 'invite', '--from-csv', csv], w.env, [{ expect: 'y/N', send: KEY.enter }]);
    expect(r.exitCode).toBe(1);
    expect(strip(r.output)).toContain('Send registration emails to 3 people for grants? (y/N)');
    expect(strip(r.output)).toContain('Cancelled; nothing was changed.');
    expect((await w.json(['users', 'list'])).users).toHaveLength(0);
  });

  it('resend to a linked user: Enter sends nothing', async () => {
    await w.run([...INVITE, '--first-name', 'Jane', '--last-name', 'Doe']);
    await w.run(['link', tokenFor(w.mailDir, 1), '--service', 'nih', '--account', 'jdoe']);
    const before = await outbox();
    const r = await inTerminal(['users', 'resend-registration', '1'], w.env, [{ expect: 'y/N', send: KEY.enter }]);
    expect(r.exitCode).toBe(1);
    expect(await outbox()).toBe(before);
  });
});
