// `users list`: the Users overview — on a terminal, piped, as JSON and CSV.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from '../../../src/commands/users/list.js';
import { at, boxLines, emlLinkFor, GRANTS, rawInput, strip, thrown, tsv, world, type World } from '../../helpers/run.js';
import { seedUsers } from '../../helpers/store.js';
import { storeSql } from '../../helpers/sql.js';

const HEADER = 'ID\tName\tEmail\tUsername/ID (Login Service)\tStatus\tLink expires\tRemoval in';

describe('parse', () => {
  it('reads the filters, sort, limit and --csv', () => {
    expect(parse(rawInput([], { status: 'Expired', search: ' doe ', sort: 'NAME', limit: '20', csv: true }))).toEqual({
      status: 'expired',
      search: 'doe',
      sort: 'name',
      limit: 20,
      csv: true,
    });
    expect(parse(rawInput())).toEqual({ status: undefined, search: undefined, sort: undefined, limit: undefined, csv: false });
  });

  it.each([
    [{ status: 'gone' }, 'invalid_status', '"gone"'],
    [{ sort: 'age' }, 'invalid_sort', '"age"'],
    [{ limit: '-5' }, 'invalid_number', '"-5"'],
    [{ limit: '2.5' }, 'invalid_number', '"2.5"'],
    [{ limit: '0' }, 'invalid_number', '"0"'],
    [{ search: '' }, 'invalid_search', '--search'],
    [{ search: 'a\u0007b' }, 'invalid_search', '--search'],
  ])('refuses %j with %s, naming the value', (options, code, named) => {
    const err = thrown(() => parse(rawInput([], options)));
    expect(err).toMatchObject({ code, exitCode: 2 });
    expect(err.message).toContain(named);
  });
});

describe('users list', () => {
  let w: World;
  beforeAll(async () => {
    w = world();
    await w.run(GRANTS);
    const invite = (email: string, first: string, last: string, now = at(0)) =>
      w.run(['users', 'invite', '--email', email, '--first-name', first, '--last-name', last], { now });
    await invite('jane.doe@example.org', 'Jane', 'Doe');
    await invite('bo@example.org', 'Bo', 'Brown');
    await invite('old@example.org', 'Olga', 'Müller', at(-10));
    await w.run(['link', emlLinkFor(w.mailDir, 'bo@example.org'), '--service', 'ims', '--account', 'bo.brown'], { now: at(0) });
  });
  afterAll(() => w.close());

  it('piped: one header line, one line per user, ISO times, nothing truncated', async () => {
    const r = await w.run(['users', 'list']);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(
      [
        HEADER,
        '1\tJane Doe\tjane.doe@example.org\t(This account is not linked)...\tpending\t2026-12-05T14:00:00.000Z\t30 days',
        '2\tBo Brown\tbo@example.org\tbo.brown (IMS Login Service)\tlinked\t\t',
        '3\tOlga Müller\told@example.org\t(This account is not linked)...\texpired\t2026-11-25T14:00:00.000Z\t20 days',
        '',
      ].join('\n'),
    );
  });

  it('--csv with --json is a usage error naming both: one format or the other, never one silently', async () => {
    for (const args of [
      ['--json', 'users', 'list', '--csv'],
      ['users', 'list', '--csv', '--json'],
    ]) {
      const r = await w.run(args);
      expect(r.exitCode).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain('conflicting_options');
      expect(r.stderr).toContain('--csv and --json');
    }
  });

  it('--json: the users as SPEC describes them', async () => {
    const doc = await w.json(['users', 'list']);
    expect(doc.users[0]).toEqual({
      id: 1,
      portal: 'grants',
      firstName: 'Jane',
      lastName: 'Doe',
      email: 'jane.doe@example.org',
      status: 'pending',
      loginService: null,
      loginServiceName: null,
      username: null,
      registrationExpiresAt: '2026-12-05T14:00:00.000Z',
      removalDueAt: '2026-12-28T14:00:00.000Z',
      linkedAt: null,
      createdAt: '2026-11-28T14:00:00.000Z',
    });
    expect(doc.users[1]).toMatchObject({
      status: 'linked',
      loginService: 'ims',
      loginServiceName: 'IMS Login Service',
      username: 'bo.brown',
      removalDueAt: null,
    });
  });

  it('nothing to show on a terminal: says so (piped, the header line alone says it)', async () => {
    const none = await w.run(['users', 'list', '--search', 'zzz'], { tty: true, columns: 80 });
    expect(none).toMatchObject({ exitCode: 0, stdout: '' });
    expect(none.stderr).toBe('No users of portal grants match "zzz".\n');
    const piped = await w.run(['users', 'list', '--search', 'zzz']);
    expect(piped).toMatchObject({ exitCode: 0, stderr: '' });
    expect(piped.stdout.split('\n')[0]).toMatch(/^ID\tName\t/);
  });

  it('on a wide terminal: a boxed, coloured table with local times and how long from now', async () => {
    const r = await w.run(['users', 'list'], { tty: true, columns: 200 });
    const lines = boxLines(r.stdout);
    expect(lines[1]).toMatch(/^│ ID │ Name +│ Email +│ Username\/ID \(Login Service\) +│ Status +│ Link expires +│ Removal in │$/);
    expect(lines).toHaveLength(7); // rules only around rows of several lines
    expect(strip(r.stdout)).toMatch(
      /│ 1 +│ Jane Doe +│ jane\.doe@example\.org +│ \(This account is not linked\)\.\.\. +│ pending +│ 2026-12-05 09:00 EST \(in 7 days\) +│ 30 days +│/,
    );
    expect(strip(r.stdout)).toMatch(/│ 3 +│ Olga Müller .*│ expired +│ 2026-11-25 09:00 EST \(expired 3 days ago\) +│ 20 days +│/);
    expect(r.stdout).toContain('\u001b[33mpending');
    expect(r.stdout).toContain('\u001b[32mlinked');
    expect(r.stdout).toContain('\u001b[31mexpired');
    for (const l of lines) expect([...l].length).toBeLessThanOrEqual(200);
  });

  it('on an 80-column terminal: one compact table, not a record per user (issue 13), nothing cut', async () => {
    const r = await w.run(['users', 'list'], { tty: true, columns: 80 });
    const lines = boxLines(r.stdout);
    for (const l of lines) expect([...l].length).toBeLessThanOrEqual(80);
    expect(lines.filter((l) => l.startsWith('┌'))).toHaveLength(1);
    expect(strip(r.stdout)).toMatch(/│ \(This account is not linked\)\.\.\. +│/);
    expect(strip(r.stdout)).toMatch(/│ jane\.doe@example\.org +│/);
  });

  it('in between (110 columns): the table, its cells wrapped between words', async () => {
    const r = await w.run(['users', 'list'], { tty: true, columns: 110 });
    const lines = boxLines(r.stdout);
    for (const l of lines) expect([...l].length).toBeLessThanOrEqual(110);
    expect(lines[1]).toMatch(/^│ ID │ Name/);
    expect(strip(r.stdout)).toContain(' jane.doe@example.org ');
  });

  it('--status, --search (any case, Unicode), --sort and --limit', async () => {
    const emails = async (...args: string[]) => (await w.json(['users', 'list', ...args])).users.map((u: { email: string }) => u.email);
    expect(await emails('--status', 'linked')).toEqual(['bo@example.org']);
    expect(await emails('--status', 'pending')).toEqual(['jane.doe@example.org']);
    expect(await emails('--status', 'expired')).toEqual(['old@example.org']);
    expect(await emails('--status', 'unlinked')).toEqual(['jane.doe@example.org', 'old@example.org']);
    expect(await emails('--search', 'MÜLLER')).toEqual(['old@example.org']);
    expect(await emails('--search', 'BO.BROWN')).toEqual(['bo@example.org']);
    expect(await emails('--search', 'nobody')).toEqual([]);
    expect(await emails('--sort', 'name')).toEqual(['bo@example.org', 'jane.doe@example.org', 'old@example.org']);
    expect(await emails('--sort', 'expires')).toEqual(['old@example.org', 'jane.doe@example.org', 'bo@example.org']);
    expect(await emails('--sort', 'status')).toEqual(['bo@example.org', 'jane.doe@example.org', 'old@example.org']);
    expect(await emails('--limit', '1')).toEqual(['jane.doe@example.org']);
  });

  it('--csv: RFC 4180 with plain fields for spreadsheets', async () => {
    const r = await w.run(['users', 'list', '--csv', '--status', 'linked']);
    expect(r.stdout).toBe(
      'id,first_name,last_name,email,login_service,username,status,registration_expires_at,removal_due_at,linked_at,created_at\r\n' +
        '2,Bo,Brown,bo@example.org,ims,bo.brown,linked,,,2026-11-28T14:00:00.000Z,2026-11-28T14:00:00.000Z\r\n',
    );
  });

  it('nobody matches: the header alone when piped, an empty list with --json', async () => {
    expect((await w.run(['users', 'list', '--search', 'zebedee'])).stdout).toBe(`${HEADER}\n`);
    expect(await w.json(['users', 'list', '--search', 'zebedee'])).toEqual({ users: [] });
  });

  it('untrusted text in the store reaches the terminal and the pipe neutralised; JSON keeps it as it is', async () => {
    await storeSql(w, 'UPDATE users SET first_name = ?, last_name = ? WHERE id = 1', 'Ja\u001b]0;pwned\u0007ne', 'D\u202Eoe');
    try {
      const tty = await w.run(['users', 'list'], { tty: true, columns: 200 });
      expect(tty.stdout).not.toContain('\u001b]0;');
      expect(tty.stdout).not.toContain('\u202E');
      expect(strip(tty.stdout)).toContain('Ja\\x1B]0;pwned\\x07ne D\\u202Eoe');
      expect(tsv((await w.run(['users', 'list'])).stdout)[0]!.Name).toBe('Ja\\x1B]0;pwned\\x07ne D\\u202Eoe');
      const json = await w.run(['--json', 'users', 'list']);
      expect(json.stdout).not.toMatch(/[\u001b\u0007\u202e]/);
      expect(JSON.parse(json.stdout).users[0]).toMatchObject({ firstName: 'Ja\u001b]0;pwned\u0007ne', lastName: 'D\u202Eoe' });
    } finally {
      await storeSql(w, "UPDATE users SET first_name = 'Jane', last_name = 'Doe' WHERE id = 1");
    }
  });
});

describe('which portal', () => {
  it('needs a portal; picks the only one; with several, --portal or PORTALCTL_PORTAL', async () => {
    const w = world();
    try {
      expect((await w.run(['users', 'list'])).exitCode).toBe(2); // no store yet
      await w.run(GRANTS);
      expect((await w.run(['users', 'list'])).exitCode).toBe(0);
      await w.run(['portals', 'add', 'loans', '--name', 'Loans', '--url', 'https://loans.example.org', '--admin-email', 'a@example.org']);
      const several = await w.run(['--json', 'users', 'list']);
      expect(several.exitCode).toBe(2);
      expect(JSON.parse(several.stderr).error).toMatchObject({ code: 'portal_required', message: expect.stringContaining('grants, loans') });
      expect((await w.run(['--portal', 'loans', 'users', 'list'])).exitCode).toBe(0);
      expect((await w.run(['users', 'list'], { env: { PORTALCTL_PORTAL: 'loans' } })).exitCode).toBe(0);
      const unknown = await w.run(['--json', '--portal', 'nope', 'users', 'list']);
      expect(unknown.exitCode).toBe(2);
      expect(JSON.parse(unknown.stderr).error).toMatchObject({ code: 'unknown_portal', message: expect.stringContaining('known portals: grants, loans') });
    } finally {
      w.close();
    }
  });

  it('an empty store says how to create a portal', async () => {
    const w = world({ PORTALCTL_DB: '' });
    try {
      const r = await w.run(['--json', 'users', 'list']);
      expect(r.exitCode).toBe(2);
      expect(JSON.parse(r.stderr).error.code).toBe('no_portal');
    } finally {
      w.close();
    }
  });
});

describe('a big portal on a terminal', () => {
  it('shows the first 500 users and says how many there are; piped and --json show all; --limit shows more', async () => {
    const w = world();
    try {
      await w.run(GRANTS);
      await seedUsers(w, 501);
      const tty = await w.run(['users', 'list'], { tty: true, columns: 200 });
      expect(strip(tty.stdout)).toContain('p499@example.org');
      expect(strip(tty.stdout)).not.toContain('p500@example.org');
      expect(tty.stderr).toContain('Showing the first 500 of 501 users');
      expect((await w.run(['users', 'list'])).stdout.trimEnd().split('\n')).toHaveLength(502);
      expect((await w.json(['users', 'list'])).users).toHaveLength(501);
      const limited = await w.run(['users', 'list', '--limit', '501'], { tty: true, columns: 200 });
      expect(strip(limited.stdout)).toContain('p500@example.org');
      expect(limited.stderr).not.toContain('Showing the first');
    } finally {
      w.close();
    }
  });
});
