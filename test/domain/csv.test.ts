// `users invite --from-csv`: the whole file is read and validated before anyone is invited.

import { afterAll, describe, expect, it } from 'vitest';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readInviteCsv } from '../../src/domain/csv.js';
import { codeOf } from '../helpers/run.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir('portalctl-csv');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const file = (text: string) => {
  const f = join(dir, `f${n++}.csv`);
  writeFileSync(f, text);
  return f;
};

describe('reading an invitation CSV', () => {
  it('accepts a BOM, CRLF, quoted fields with commas and quotes, and remembers each line', async () => {
    const people = await readInviteCsv(file('\uFEFFemail,first_name,last_name\r\n"a@example.org","Ann, Jr.",Lee\r\nb@example.org,"Bo ""B""",Ng\r\n'));
    expect(people).toEqual([
      { line: 2, email: 'a@example.org', firstName: 'Ann, Jr.', lastName: 'Lee' },
      { line: 3, email: 'b@example.org', firstName: 'Bo "B"', lastName: 'Ng' },
    ]);
  });

  it('understands forgiving headers in any order, and semicolons', async () => {
    expect(await readInviteCsv(file('Last Name;E-mail;First Name\nLee;a@example.org;Ann\n'))).toEqual([
      { line: 2, email: 'a@example.org', firstName: 'Ann', lastName: 'Lee' },
    ]);
    expect(await readInviteCsv(file('Surname,Given Name,Mail,Notes\nLee,Ann,a@example.org,x\n'))).toEqual([
      { line: 2, email: 'a@example.org', firstName: 'Ann', lastName: 'Lee' },
    ]);
  });

  it('names every bad line, and the file is refused whole (exit 2)', async () => {
    const f = file(
      'email,first_name,last_name\nok@example.org,Ok,Person\nnot-an-address,A,B\n"x@example.org, y@example.org",C,D\nOK@example.org,Dup,Licate\nz@example.org,,E\nshort@example.org,S\n',
    );
    const err = await readInviteCsv(f).catch((e) => e);
    expect(err).toMatchObject({ code: 'invalid_csv', exitCode: 2 });
    expect(err.message).toContain('has 5 bad lines; nobody was invited');
    for (const l of [3, 4, 5, 6, 7]) expect(err.message).toContain(`line ${l}:`);
    expect(err.message).not.toContain('line 2:');
    expect(err.message).toContain('already appears on line 2');
    expect(err.details.lines).toHaveLength(5);
  });

  it.each([
    ['no header it knows', 'mail address,name\nx@example.org,X\n', 'line 1: the header must name the columns'],
    ['a header and nobody', 'email,first_name,last_name\n', 'has a header but nobody to invite'],
    ['nothing', '', 'is empty'],
    ['a broken quote', 'email,first_name,last_name\n"a@example.org,A,B\n', 'line 2: a double quote opens a field that is never closed'],
  ])('refuses a file with %s', async (_why, text, words) => {
    const err = await readInviteCsv(file(text)).catch((e) => e);
    expect(err.code).toBe('invalid_csv');
    expect(err.message).toContain(words);
    expect(err.message).toContain('nobody was invited');
  });

  it('refuses a row with more fields than the header: a name with an unquoted comma is not cut short', async () => {
    const err = await readInviteCsv(
      file("email,first_name,last_name\ncarol@example.org,Carol,O'Neil, Jr.\nok@example.org,Ok,Fine,\nmary@example.org,Mary,Ann,Smith\n"),
    ).catch((e) => e);
    expect(err).toMatchObject({ code: 'invalid_csv', exitCode: 2 });
    expect(err.details.lines).toEqual([
      'line 2: expected 3 fields as the header has, found 4 — a name or address with a comma in it must be in double quotes',
      'line 4: expected 3 fields as the header has, found 4 — a name or address with a comma in it must be in double quotes',
    ]);
    // A trailing separator (empty fields at the end) is harmless, and a header with more columns takes rows as wide.
    expect(await readInviteCsv(file('email,first_name,last_name\nok@example.org,Ok,Fine,\n'))).toHaveLength(1);
    expect(await readInviteCsv(file('email,first_name,last_name,notes\nok@example.org,Ok,Fine,met in June\n'))).toHaveLength(1);
  });

  it.each([
    [
      'a quote never closed, named where its field starts',
      'email,first_name,last_name\nok@example.org,A,B\n\n"bad@example.org,C,D\nok2@example.org,E,F\n',
      'line 4: a double quote opens a field that is never closed',
    ],
    ['a quote inside a field', 'email,first_name,last_name\nq@example.org,Q"Q"x,D\n', 'line 2: a double quote in the middle of a field'],
    [
      'text after a closing quote',
      'email,first_name,last_name\nok@example.org,A,B\nok2@example.org,"A"B,C\n',
      "line 3: text after a field's closing double quote",
    ],
  ])('names the line of %s, in plain words', async (_why, text, words) => {
    const err = await readInviteCsv(file(text)).catch((e) => e);
    expect(err.code).toBe('invalid_csv');
    expect(err.message).toContain(words);
    expect(err.message).toContain('write a quote inside it twice ("")');
  });

  it('refuses a file that is not UTF-8 (Latin-1 from a spreadsheet), naming the line, instead of storing "J\ufffdrgen"', async () => {
    const f = join(dir, 'latin1.csv');
    writeFileSync(
      f,
      Buffer.concat([Buffer.from('email,first_name,last_name\nok@example.org,Ok,Fine\nj@example.org,J'), Buffer.from([0xfc]), Buffer.from('rgen,Lee\n')]),
    );
    const err = await readInviteCsv(f).catch((e) => e);
    expect(err).toMatchObject({ code: 'invalid_csv', exitCode: 2 });
    expect(err.details.lines).toHaveLength(1);
    expect(err.details.lines[0]).toMatch(
      /^line 3: Invalid first name "J\ufffdrgen": it holds \ufffd \(U\+FFFD\), where text that was not UTF-8 was read; save the file as UTF-8/,
    );
  });

  it('refuses what is not a regular file, or is not there, before reading it', async () => {
    mkdirSync(join(dir, 'folder.csv'));
    expect(await codeOf(() => readInviteCsv(join(dir, 'folder.csv')))).toBe('invalid_csv');
    expect(await codeOf(() => readInviteCsv('/dev/zero'))).toBe('invalid_csv');
    expect(await codeOf(() => readInviteCsv(join(dir, 'missing.csv')))).toBe('invalid_csv');
  });
});
