// `portals add`: create a portal (and, for a store named explicitly, the store).

import { afterEach, describe, expect, it } from 'vitest';
import { parse } from '../../../src/commands/portals/add.js';
import { boxLines, GRANTS, rawInput, strip, thrown, tsv, world, type World } from '../../helpers/run.js';

describe('parse', () => {
  it('reads the slug and the settings it is given', () => {
    expect(
      parse(
        rawInput(['grants'], {
          name: ' Grants Portal ',
          url: 'https://grants.example.org/',
          adminEmail: 'admin@example.org',
          registerUrl: 'https://login.example.org/register',
          linkDays: '14',
          removalDays: '45',
          remindDays: '5,2',
          warnDays: '0',
          timeZone: 'Europe/Berlin',
        }),
      ),
    ).toEqual({
      slug: 'grants',
      settings: {
        name: 'Grants Portal',
        baseUrl: 'https://grants.example.org',
        adminEmail: 'admin@example.org',
        registerUrl: 'https://login.example.org/register',
        linkDays: 14,
        removalDays: 45,
        remindDays: [2, 5],
        warnDays: 0,
        timeZone: 'Europe/Berlin',
      },
    });
  });

  it.each([
    [['Grants'], {}, 'invalid_portal', '"Grants"'],
    [['grants'], { url: 'grants.example.org' }, 'invalid_url', '"grants.example.org"'],
    [['grants'], { url: 'https://grants.example.org/?x=1' }, 'invalid_url', 'query'],
    [['grants'], { adminEmail: 'admin' }, 'invalid_email', '"admin"'],
    [['grants'], { linkDays: '0' }, 'invalid_number', '--link-days'],
    [['grants'], { removalDays: '-3' }, 'invalid_number', '--removal-days'],
    [['grants'], { remindDays: 'soon' }, 'invalid_number', '--remind-days'],
    [['grants'], { warnDays: '2.5' }, 'invalid_number', '--warn-days'],
    [['grants'], { timeZone: 'Mars/Olympus' }, 'invalid_time_zone', '"Mars/Olympus"'],
    [['grants'], { name: 'x\u0000' }, 'invalid_name', 'portal name'],
    [['grants'], { name: ' ' }, 'invalid_name', "The portal name is empty; give the portal's name."],
  ])('refuses %j %j (%s)', (args, options, code, named) => {
    const err = thrown(() => parse(rawInput(args, options)));
    expect(err).toMatchObject({ code, exitCode: 2 });
    expect(err.message).toContain(named);
  });
});

describe('portals add', () => {
  let w: World;
  afterEach(() => w.close());

  it('creates the portal with the defaults of SPEC; piped, JSON and on a terminal', async () => {
    w = world();
    const r = await w.run(GRANTS);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toBe('Created portal grants.\n');
    expect(tsv(r.stdout)).toEqual([
      {
        Slug: 'grants',
        Name: 'Grants Portal',
        URL: 'https://grants.example.org',
        'Site Administrator': 'admin@example.org',
        'Link days': '7',
        'Removal days': '30',
        'Reminders (days)': '2,5',
        'Warning (days before)': '7',
        'Time zone': '',
      },
    ]);
    const json = await w.json([
      'portals',
      'add',
      'loans',
      '--name',
      'Loans',
      '--url',
      'https://loans.example.org',
      '--admin-email',
      'a@example.org',
      '--remind-days',
      '0',
    ]);
    expect(json.portals).toEqual([
      {
        slug: 'loans',
        name: 'Loans',
        url: 'https://loans.example.org',
        adminEmail: 'a@example.org',
        registerUrl: 'https://loans.example.org/register',
        linkDays: 7,
        removalDays: 30,
        remindDays: [],
        warnDays: 7,
        timeZone: null,
        createdAt: '2026-11-28T14:00:00.000Z',
      },
    ]);
    const tty = await w.run(['portals', 'add', 'arts', '--name', 'Arts', '--url', 'https://arts.example.org', '--admin-email', 'a@example.org'], {
      tty: true,
      columns: 200,
    });
    expect(strip(tty.stdout)).toMatch(/│ arts +│ Arts +│ https:\/\/arts\.example\.org +│ a@example\.org +│ 7 +│ 30 +│ 2,5 +│ 7 +│ +│/);
    const narrow = await w.run(['portals', 'add', 'bio', '--name', 'Bio', '--url', 'https://bio.example.org', '--admin-email', 'a@example.org'], {
      tty: true,
      columns: 80,
    });
    for (const l of boxLines(narrow.stdout)) expect([...l].length).toBeLessThanOrEqual(80);
    expect(strip(narrow.stdout)).toContain('https://bio.example.org');
  });

  it('a reminder on or after the day links expire is accepted, with a warning that it will never be sent', async () => {
    w = world();
    const r = await w.run([...GRANTS, '--link-days', '5', '--remind-days', '2,5']);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toBe(
      'Created portal grants.\nwarning: a reminder 5 days after the email will never be sent: a reminder needs a working link, and links expire after 5 days (--link-days).\n',
    );
  });

  it('a slug that exists is refused (exit 1); --quiet prints nothing', async () => {
    w = world();
    expect((await w.run(['--quiet', ...GRANTS])).stdout).toBe('');
    const again = await w.run(['--json', ...GRANTS]);
    expect(again.exitCode).toBe(1);
    expect(JSON.parse(again.stderr).error).toMatchObject({ code: 'portal_exists', message: expect.stringContaining('portalctl portals set grants') });
  });

  it('on a terminal, asks for what is missing; without one, names the missing flag', async () => {
    w = world();
    const asked = await w.run(['portals', 'add', 'grants'], { tty: true, answers: ['Grants Portal', 'https://grants.example.org', 'admin@example.org'] });
    expect(asked.exitCode, asked.stderr).toBe(0);
    expect(asked.asked).toEqual(['Portal display name:', 'Portal base URL:', 'Site Administrator email address:']);
    const piped = await w.run(['portals', 'add', 'loans', '--name', 'Loans']);
    expect(piped.exitCode).toBe(2);
    expect(piped.stderr).toBe('error: Missing --url; give it on the command line (portalctl only prompts on a terminal).\n');
  });
});
