// `users invite`: one person (asked for what is missing on a terminal), or
// everyone in a CSV file; the registration email goes out through SMTP or is
// written as an .eml file.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from '../../../src/commands/users/invite.js';
import { boxLines, GRANTS, newestEml, rawInput, strip, thrown, tsv, world, type World } from '../../helpers/run.js';
import { startSmtp, type TestSmtp } from '../../helpers/smtp.js';
import { inspectStore } from '../../helpers/store.js';

const JANE = ['users', 'invite', '--email', 'jane.doe@example.org', '--first-name', 'Jane', '--last-name', 'Doe'];

describe('parse', () => {
  it('reads one person, or a CSV file', () => {
    expect(parse(rawInput([], { email: ' jane@example.org ', firstName: 'Zoe\u0308', lastName: 'Doe' }))).toEqual({
      email: 'jane@example.org',
      firstName: 'Zoë',
      lastName: 'Doe',
    });
    expect(parse(rawInput([], { email: 'jane@example.org' }))).toEqual({ email: 'jane@example.org', firstName: undefined, lastName: undefined });
    expect(parse(rawInput([], { fromCsv: 'people.csv' }))).toEqual({ fromCsv: 'people.csv' });
  });

  it.each([
    [{ email: 'a@example.org, b@example.org' }, 'invalid_email', '"a@example.org, b@example.org"'],
    [{ email: 'Eve <eve@example.org>' }, 'invalid_email', '"Eve <eve@example.org>"'],
    [{ email: 'eve@example.org\r\nBcc: x@example.org' }, 'invalid_email', 'Bcc'],
    [{ firstName: 'Eve\u001b[31m' }, 'invalid_name', 'first name'],
    [{ lastName: '' }, 'invalid_name', 'last name'],
    [{ fromCsv: 'p.csv', email: 'a@example.org' }, 'usage', '--from-csv'],
  ])('refuses %j (%s)', (options, code, named) => {
    const err = thrown(() => parse(rawInput([], options)));
    expect(err).toMatchObject({ code, exitCode: 2 });
    expect(err.message).toContain(named);
  });
});

describe('users invite, emails written as .eml files (the embedded default)', () => {
  let w: World;
  afterEach(() => w.close());

  it('creates an unlinked user, writes the email (mode 0600) and says where; piped, JSON and terminal output', async () => {
    w = world();
    await w.run(GRANTS);
    const r = await w.run(JANE);
    expect(r.exitCode).toBe(0);
    expect(tsv(r.stdout)).toEqual([
      {
        ID: '1',
        Name: 'Jane Doe',
        Email: 'jane.doe@example.org',
        'Username/ID (Login Service)': '(This account is not linked)...',
        Status: 'pending',
        'Link expires': '2026-12-05T14:00:00.000Z',
        'Removal in': '30 days',
      },
    ]);
    const files = readdirSync(w.mailDir);
    expect(files).toHaveLength(1);
    const eml = join(w.mailDir, files[0]!);
    expect(r.stderr).toBe(
      `Registration email to jane.doe@example.org written to ${eml}\nwarning: no email was sent: PORTALCTL_SMTP_URL is not set, so emails are written as .eml files. Set it to deliver them.\n`,
    );
    expect(statSync(eml).mode & 0o777).toBe(0o600);
    expect(statSync(w.mailDir).mode & 0o777).toBe(0o700);
    const text = readFileSync(eml, 'utf8');
    expect(text).toMatch(/^From: no-reply@grants\.example\.org$/m);
    expect(text).toMatch(/^To: jane\.doe@example\.org$/m);

    const json = await w.json(['users', 'invite', '--email', 'bo@example.org', '--first-name', 'Bo', '--last-name', 'Brown']);
    expect(json).toEqual({ users: [expect.objectContaining({ id: 2, email: 'bo@example.org', status: 'pending', removalDueAt: '2026-12-28T14:00:00.000Z' })] });

    const tty = await w.run(['users', 'invite', '--email', 'cy@example.org', '--first-name', 'Cy', '--last-name', 'Clark'], { tty: true, columns: 200 });
    expect(boxLines(tty.stdout)[1]).toMatch(/^│ ID │ Name +│ Email/);
    expect(strip(tty.stdout)).toMatch(
      /│ 3 +│ Cy Clark +│ cy@example\.org +│ \(This account is not linked\)\.\.\. +│ pending +│ 2026-12-05 09:00 EST \(in 7 days\) +│ 30 days +│/,
    );
    const narrow = await w.run(['users', 'invite', '--email', 'di@example.org', '--first-name', 'Di', '--last-name', 'Dunn'], { tty: true, columns: 80 });
    for (const l of boxLines(narrow.stdout)) expect([...l].length).toBeLessThanOrEqual(80);
    expect(strip(narrow.stdout)).toContain(' di@example.org ');
  });

  it('--quiet prints nothing but the warning that no email was sent', async () => {
    w = world();
    await w.run(GRANTS);
    const r = await w.run(['--quiet', ...JANE]);
    expect(r).toMatchObject({ exitCode: 0, stdout: '' });
    expect(r.stderr).toMatch(/^warning: no email was sent/);
  });

  it('an address that already has a profile (any case) is refused, pointing to resend-registration; nothing is sent', async () => {
    w = world();
    await w.run(GRANTS);
    await w.run(JANE);
    const r = await w.run(['--json', 'users', 'invite', '--email', 'JANE.DOE@example.org', '--first-name', 'J', '--last-name', 'D']);
    expect(r.exitCode).toBe(1);
    expect(JSON.parse(r.stderr).error).toMatchObject({ code: 'already_registered', details: { userId: 1 } });
    expect(JSON.parse(r.stderr).error.message).toContain('portalctl users resend-registration 1');
    expect(readdirSync(w.mailDir)).toHaveLength(1);
  });

  it('on a terminal, asks for what is missing (and only that)', async () => {
    w = world();
    await w.run(GRANTS);
    const r = await w.run(['users', 'invite', '--first-name', 'Jane'], { tty: true, answers: ['jane@example.org', 'Doe'] });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.asked).toEqual(['Email address:', 'Last name:']);
    expect((await w.json(['users', 'list'])).users[0]).toMatchObject({ email: 'jane@example.org', firstName: 'Jane', lastName: 'Doe' });
  });

  it('without a terminal a missing value is a usage error naming the flag, and nothing is recorded', async () => {
    w = world();
    await w.run(GRANTS);
    const r = await w.run(['users', 'invite', '--email', 'eve@example.org', '--first-name', 'Eve']);
    expect(r).toMatchObject({ exitCode: 2, stdout: '' });
    expect(r.stderr).toBe('error: Missing --last-name; give it on the command line (portalctl only prompts on a terminal).\n');
    expect((await inspectStore(w)).users).toBe(0);
  });

  it('a bad PORTALCTL_MAIL_FROM is exit 2 before anything is recorded', async () => {
    w = world();
    await w.run(GRANTS);
    for (const from of ['a@example.org, b@example.org', 'Portal <x@example.org>\nBcc: y@example.org', 'not an address']) {
      const r = await w.run(['--json', ...JANE], { env: { PORTALCTL_MAIL_FROM: from } });
      expect(r.exitCode).toBe(2);
      expect(JSON.parse(r.stderr).error.message).toContain('PORTALCTL_MAIL_FROM');
    }
    expect((await inspectStore(w)).users).toBe(0);
  });
});

describe('one clock reading per run', () => {
  let w: World;
  afterEach(() => w.close());

  it('every time an invitation records is the same instant, and the link expires link-days after it', async () => {
    w = world();
    await w.run(GRANTS);
    // A clock that moves a second at each reading, far from the real one: a second reading, or a
    // `new Date()` below the command, would record another time.
    let reads = 0;
    const clock = () => new Date(Date.parse('2026-11-01T10:00:00Z') + 1000 * reads++);
    const r = await w.run(JANE, { clock, env: { PORTALCTL_NOW: undefined } });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(reads).toBe(1);
    const t = '2026-11-01T10:00:00.000Z';
    const reg = (await w.json(['users', 'show', '1'])).users[0].registrations[0];
    expect(reg).toMatchObject({ createdAt: t, sentAt: t, expiresAt: '2026-11-08T10:00:00.000Z' });
    const events = (await w.json(['events'])).events;
    expect(events.map((e: { type: string; at: string }) => [e.type, e.at])).toEqual([
      ['invited', t],
      ['email_sent', t],
    ]);
    expect(events[1].data.expiresAt).toBe('2026-11-08T10:00:00.000Z');
    const invited = (await w.json(['audit'])).audit.find((a: { action: string }) => a.action === 'invite');
    expect(invited.at).toBe(t);
    expect(readFileSync(newestEml(w.mailDir), 'utf8')).toMatch(/^Date: Sun, 01 Nov 2026 10:00:00 \+0000$/m);
  });
});

describe('the registration email (a real SMTP server)', () => {
  let smtp: TestSmtp;
  let w: World;
  beforeAll(async () => {
    smtp = await startSmtp();
    w = world({ PORTALCTL_SMTP_URL: smtp.url, PORTALCTL_MAIL_FROM: 'Grants Portal <portal@grants.example.org>' });
    await w.run(GRANTS);
  });
  afterAll(async () => {
    w.close();
    await smtp.close();
  });

  it('has Step 1, Step 2, the exact expiry with its zone, and the Site Administrator', async () => {
    const r = await w.run(JANE);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toBe(`Registration email to jane.doe@example.org sent via smtp://127.0.0.1:${smtp.port}\n`);
    const m = smtp.messages.at(-1)!;
    expect((m.to as { text: string }).text).toBe('jane.doe@example.org');
    expect((m.replyTo as { text: string }).text).toBe('admin@example.org');
    expect((m.from as { value: { name: string; address: string }[] }).value).toEqual([{ name: 'Grants Portal', address: 'portal@grants.example.org' }]);
    expect(m.subject).toBe('Your registration for Grants Portal');
    expect(m.date?.toISOString()).toBe('2026-11-28T14:00:00.000Z'); // the Date header follows PORTALCTL_NOW
    const text = m.text!;
    expect(text).toMatch(/STEP 1[\s\S]*register for an IMS Login Service account[\s\S]*https:\/\/grants\.example\.org\/register\b[\s\S]*STEP 2/);
    expect(text).toMatch(/STEP 2[\s\S]*https:\/\/grants\.example\.org\/register\/link\?token=[A-Za-z0-9_][A-Za-z0-9_-]{26}\n/);
    // 7 days after 2026-11-28 14:00 UTC, in the machine's zone (TZ=America/New_York here).
    expect(text).toContain('This link expires on Saturday, December 5, 2026 at 09:00 Eastern Standard Time (December 5, 14:00 UTC).');
    expect(text).toContain('Site Administrator: admin@example.org');
    expect(m.html).toContain(smtp.linkFor('jane.doe@example.org'));
    expect(m.html).not.toMatch(/<img/i);
  });

  it("states the expiry in the portal's time zone when it has one", async () => {
    await w.run(['portals', 'set', 'grants', '--time-zone', 'Europe/Berlin']);
    try {
      await w.run(['users', 'invite', '--email', 'hans@example.org', '--first-name', 'Hans', '--last-name', 'Berg']);
      expect(smtp.messages.at(-1)!.text).toContain(
        'This link expires on Saturday, December 5, 2026 at 15:00 Central European Standard Time (December 5, 14:00 UTC).',
      );
    } finally {
      await w.run(['portals', 'set', 'grants', '--time-zone', '']);
    }
  });
});

describe('users invite --from-csv', () => {
  let w: World;
  afterEach(() => w.close());
  const csv = (name: string, text: string) => {
    const f = join(w.dir, name);
    writeFileSync(f, text);
    return f;
  };

  it('validates the whole file first: every bad line named, nobody invited, exit 2', async () => {
    w = world();
    await w.run(GRANTS);
    const f = csv(
      'bad.csv',
      'email,first_name,last_name\nok@example.org,Ok,Person\nnot-an-address,A,B\n"x@example.org, y@example.org",C,D\nok@example.org,Dup,Licate\nz@example.org,,E\n',
    );
    const r = await w.run(['users', 'invite', '--from-csv', f, '--yes']);
    expect(r.exitCode).toBe(2);
    expect(r.stdout).toBe('');
    for (const n of [3, 4, 5, 6]) expect(r.stderr).toContain(`\n  line ${n}: `);
    expect(r.stderr).not.toContain('line 2:');
    expect((await inspectStore(w)).users).toBe(0);
    const json = await w.run(['--json', 'users', 'invite', '--from-csv', f]);
    expect(JSON.parse(json.stderr).error).toMatchObject({
      code: 'invalid_csv',
      details: { lines: expect.arrayContaining([expect.stringMatching(/^line 3: /)]) },
    });
    const empty = await w.run(['users', 'invite', '--from-csv', csv('empty.csv', '')]);
    expect(empty.exitCode).toBe(2);
    expect(empty.stderr).toContain('is empty');
  });

  it('accepts BOM, CRLF and quoted fields; skips and reports addresses that already have a profile', async () => {
    w = world();
    await w.run(GRANTS);
    await w.run(['users', 'invite', '--email', 'already@example.org', '--first-name', 'Al', '--last-name', 'Ready']);
    const f = csv(
      'people.csv',
      '\uFEFFemail,first_name,last_name\r\n"a@example.org","Ann, Jr.",Lee\r\nALREADY@example.org,Al,Ready\r\nb@example.org,"Bo ""B""",Ng\r\n',
    );
    const doc = await w.json(['users', 'invite', '--from-csv', f]);
    expect(doc.users.map((u: { firstName: string }) => u.firstName)).toEqual(['Ann, Jr.', 'Bo "B"']);
    expect(doc.skipped).toEqual([{ line: 3, email: 'ALREADY@example.org', userId: 1 }]);
    const again = await w.run(['users', 'invite', '--from-csv', f]);
    expect(again.exitCode).toBe(0);
    expect(tsv(again.stdout)).toEqual([]);
    expect(again.stderr).toContain('Invited 0 people to grants.\nSkipped 3 addresses that already have a profile:\n  line 2: "a@example.org" (user 2)\n');
  });

  it('on a terminal: asks once, shows the first 10 invited and the counts', async () => {
    w = world();
    await w.run(GRANTS);
    const f = csv('many.csv', `email,first_name,last_name\n${Array.from({ length: 12 }, (_, i) => `m${i}@example.org,M,${i}`).join('\n')}\n`);
    const no = await w.run(['users', 'invite', '--from-csv', f], { tty: true, answers: [false] });
    expect(no.asked).toEqual(['Send registration emails to 12 people for grants?']);
    expect(no.exitCode).toBe(1);
    expect((await inspectStore(w)).users).toBe(0);
    const yes = await w.run(['users', 'invite', '--from-csv', f], { tty: true, columns: 200, answers: [true] });
    expect(yes.exitCode, yes.stderr).toBe(0);
    expect(strip(yes.stdout)).toContain('m9@example.org');
    expect(strip(yes.stdout)).not.toContain('m10@example.org');
    expect(yes.stderr).toContain('Invited 12 people to grants.');
    expect(yes.stderr).toContain('12 registration emails written to');
    expect(yes.stderr).toContain('Showing the first 10 of 12; `portalctl users list --status pending` shows them all (or use --json).');
    expect(yes.progress[0]).toBe('Sending registration emails 0/12');
    expect(yes.progress).toContain('(stopped)');
    expect(await inspectStore(w)).toMatchObject({ users: 12, queued: 0 });
  });
});
