// Issue 14, Low: names made only of invisible characters, direction marks
// in legitimate names, URLs in names, and spreadsheet formula injection.
//
// Direction marks (LRM U+200E, RLM U+200F, ALM U+061C) are kept as given in
// the data: the store, JSON (as \u escapes, which parse back to the mark),
// CSV and tab-separated output. In TSV a mark is data a script or a
// spreadsheet must get back unchanged, and it is harmless there: a mark is a
// strong character with no scope, it cannot reorder text beyond its own
// neighbours, and a tab (a bidi segment separator) ends its influence at the
// cell. On the terminal table the marks are shown as visible \u200F escapes:
// a person reading the table should see that a name holds an invisible
// character (two names that look the same are not the same), and the exact
// name is one --json, --csv or a pipe away. Overrides and isolates
// (U+202A-202E, U+2066-2069) are refused in names everywhere.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GRANTS, world, type World } from '../helpers/run.js';
import { tokenInMail } from './fixtures.js';
import { storeSql } from '../helpers/sql.js';

let w: World;
beforeAll(async () => {
  w = world();
  expect((await w.run(GRANTS)).exitCode).toBe(0);
});
afterAll(() => w.close());

const invite = (first: string, last: string, email: string, o: { tty?: boolean } = {}) =>
  w.run(['--json', 'users', 'invite', '--email', email, '--first-name', first, '--last-name', last], o);

describe('names with no visible character', () => {
  const INVISIBLE: [string, string][] = [
    ['zero-width space', '\u200b'],
    ['word joiner', '\u2060'],
    ['tag characters', '\u{E0041}\u{E0042}\u{E007F}'],
    ['soft hyphen', '\u00ad'],
    ['combining grapheme joiner', '\u034f'],
    ['Hangul fillers', '\u3164\u115f\uffa0'],
    ['Mongolian vowel separator', '\u180e'],
    ['variation selector', '\ufe0f'],
    ['direction marks only', '\u200e\u200f\u061c'],
    ['a mix with spaces', ' \u200b \u2060\u200d '],
    ['invisible times and plus', '\u2062\u2064'],
  ];
  it.each(INVISIBLE)('%s: refused (exit 2), as an option and in a CSV file; nobody invited', async (_name, text) => {
    const r = await invite(text, 'Doe', 'ghost@example.org');
    expect(r.exitCode, r.stderr).toBe(2);
    expect(JSON.parse(r.stderr).error.code).toBe('invalid_name');
    const csv = join(w.dir, 'ghost.csv');
    writeFileSync(csv, `email,first_name,last_name\nghost@example.org,Jane,${text}\n`);
    const c = await w.run(['--json', 'users', 'invite', '--from-csv', csv, '--yes']);
    expect(c.exitCode).toBe(2);
    expect(JSON.parse(c.stderr).error.message).toMatch(/line 2: .*no visible characters/);
    expect((await w.json(['users', 'list', '--search', 'ghost'])).users).toEqual([]);
  });
});

describe('direction marks in a legitimate name', () => {
  const first = 'נועה\u200f';
  const last = 'Levi\u200e-Cohen';
  let id: number;
  beforeAll(async () => {
    const r = await invite(first, last, 'noa@example.org');
    expect(r.exitCode, r.stderr).toBe(0);
    id = JSON.parse(r.stdout).users[0].id;
  });

  it('are kept intact in the store', async () => {
    const [row] = await storeSql(w, 'SELECT first_name, last_name FROM users WHERE id = ?', id);
    expect(row).toEqual({ first_name: first, last_name: last });
  });

  it('are kept intact in JSON (escaped as \\u200f, which parses back to the mark)', async () => {
    const r = await w.run(['--json', 'users', 'list', '--search', 'noa']);
    expect(r.stdout).toContain('\\u200f');
    expect(JSON.parse(r.stdout).users[0]).toMatchObject({ firstName: first, lastName: last });
  });

  it('are kept intact in CSV and in tab-separated output', async () => {
    const csv = await w.run(['users', 'list', '--csv', '--search', 'noa']);
    expect(csv.stdout).toContain(`,${first},${last},`);
    const tsv = await w.run(['users', 'list', '--search', 'noa']);
    expect(tsv.stdout).toContain(`\t${first} ${last}\t`);
    expect(tsv.stdout).not.toContain('\\u200F');
  });

  it('are shown as visible escapes on the terminal table', async () => {
    const r = await w.run(['users', 'list', '--search', 'noa'], { tty: true });
    expect(r.stdout).toContain('נועה\\u200F');
    expect(r.stdout).not.toMatch(/[\u200e\u200f]/);
  });

  it('reach the email as given', async () => {
    const { simpleParser } = await import('mailparser');
    const { readdirSync, readFileSync } = await import('node:fs');
    const file = readdirSync(w.mailDir).find((f) => f.includes(`-user${id}-`))!;
    const mail = await simpleParser(readFileSync(join(w.mailDir, file)));
    expect(mail.text).toContain(`Dear ${first} ${last},`);
    await tokenInMail(w.mailDir, id);
  });

  it('but overrides and isolates are refused', async () => {
    for (const bad of ['Ann\u202eeoD', 'Ann\u2066x\u2069', 'Ann\u202a']) expect((await invite(bad, 'Doe', 'x@example.org')).exitCode).toBe(2);
  });
});

describe('names that carry a web address', () => {
  const URLS = [
    'Dear STEP 2 (new): https://evil.example/register/link?token=x',
    'HTTPS://EVIL.EXAMPLE',
    'Click http://evil.example',
    'www.evil.example',
    'evil.example/login',
    'ｈｔｔｐｓ：／／evil.example', // full-width letters and colon
    'Jane hxxps://evil.example'.replace('hxxps', 'ftp'),
  ];
  it.each(URLS)('%j: refused (exit 2) as a first or last name', async (name) => {
    expect((await invite(name, 'Doe', 'url@example.org')).exitCode).toBe(2);
    expect((await invite('Jane', name, 'url@example.org')).exitCode).toBe(2);
  });

  it('names with dots, apostrophes and hyphens are still fine', async () => {
    for (const [f, l, e] of [
      ['J.R.', "O'Neil-Smith", 'jr@example.org'],
      ['St.John', 'Mc.Donald', 'stjohn@example.org'],
    ]) {
      const r = await invite(f!, l!, e!);
      expect(r.exitCode, r.stderr).toBe(0);
    }
  });
});

describe('spreadsheet formula injection in users list --csv', () => {
  beforeAll(async () => {
    const people: [string, string, string][] = [
      ['=1+2', '+SUM(A1)', '=cmd@example.org'],
      ['-2+3', '@SUM(A1:A9)', '+formula@example.org'],
      ['Plain', 'Person', '-minus@example.org'],
    ];
    for (const [f, l, e] of people) expect((await invite(f, l, e)).exitCode).toBe(0);
    // A login-service username that starts with "@" too.
    const user = (await w.json(['users', 'list', '--search', 'minus'])).users[0];
    const token = await tokenInMail(w.mailDir, user.id);
    expect((await w.run(['link', '--service', 'nih', '--account', '@jdoe', '--', token])).exitCode).toBe(0);
  });

  it('every field that starts with = + - @ is prefixed with a single quote, whatever the column', async () => {
    const r = await w.run(['users', 'list', '--csv']);
    const rows = r.stdout.trimEnd().split('\r\n').slice(1);
    const fields = rows.flatMap((row) => row.split(','));
    for (const f of fields) expect(f, f).not.toMatch(/^"?[=+\-@\t\r]/);
    expect(r.stdout).toContain(",'=1+2,'+SUM(A1),'=cmd@example.org,");
    expect(r.stdout).toContain(",'-2+3,'@SUM(A1:A9),'+formula@example.org,");
    expect(r.stdout).toContain(",Plain,Person,'-minus@example.org,nih,'@jdoe,");
  });

  it('JSON and tab-separated output keep the values as they are (they are data for programs, not spreadsheets)', async () => {
    const list = await w.json(['users', 'list', '--search', 'cmd@']);
    expect(list.users[0]).toMatchObject({ firstName: '=1+2', lastName: '+SUM(A1)', email: '=cmd@example.org' });
    const tsv = await w.run(['users', 'list', '--search', 'cmd@']);
    expect(tsv.stdout).toContain('\t=1+2 +SUM(A1)\t=cmd@example.org\t');
  });
});
