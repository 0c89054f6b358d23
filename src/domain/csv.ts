// The people of a `users invite --from-csv` file, read and validated whole
// before anyone is invited: any bad row fails the file, naming every bad line.
// Headers are forgiving (Email, "First Name", last_name, any order, any case),
// and a file separated by semicolons (a spreadsheet in many locales) is
// recognised. The file must be a regular file of at most 50 MB — checked
// before reading, so a device or a huge file costs nothing.

import { closeSync, fstatSync, openSync, readSync, constants } from 'node:fs';
import { UsageError } from '../errors.js';
import { quote } from '../text.js';
import { emailKey } from '../store/keys.js';
import { parseEmail, parseName } from './validate.js';
import type { NewPerson } from './lifecycle.js';

export const MAX_CSV_BYTES = 50 * 1024 * 1024;

export interface CsvPerson extends NewPerson {
  line: number;
}

type Field = 'email' | 'firstName' | 'lastName';

const HEADER_NAMES: Record<string, Field> = {
  email: 'email',
  emailaddress: 'email',
  mail: 'email',
  firstname: 'firstName',
  givenname: 'firstName',
  first: 'firstName',
  lastname: 'lastName',
  surname: 'lastName',
  familyname: 'lastName',
  last: 'lastName',
};

const normalizeHeader = (h: string) =>
  h
    .replace(/^\uFEFF/, '')
    .trim()
    .toLowerCase()
    .replace(/[\s_\-.]+/g, '');

function nobody(path: string, why: string): UsageError {
  return new UsageError(`${quote(path, 200)} ${why}; nobody was invited.`, 'invalid_csv');
}

type Row = { record: string[]; info: { lines: number } };

/**
 * The records of the file with their line numbers. A file without a quote
 * character (what spreadsheets and scripts write for names and addresses) is
 * split by lines and delimiters — what the parser would make of it, several
 * times faster; anything else goes through csv-parse.
 */
async function records(data: Buffer, delimiter: string): Promise<Row[]> {
  const text = data.includes(0x22) ? undefined : data.toString('utf8').replace(/^\uFEFF/, '');
  // Lines that end in a lone CR (old Mac files) are the parser's to detect.
  if (text !== undefined && !/\r(?!\n)/.test(text)) {
    const rows: Row[] = [];
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      let line = lines[i]!;
      if (line.endsWith('\r')) line = line.slice(0, -1);
      if (line === '') continue;
      rows.push({ record: line.split(delimiter), info: { lines: i + 1 } });
    }
    return rows;
  }
  const { parse } = await import('csv-parse/sync');
  // The last line of the last whole record: a quote never closed is reported where its record starts.
  let lastLine = 0;
  try {
    return parse(data, {
      bom: true,
      info: true,
      skip_empty_lines: true,
      relax_column_count: true,
      trim: false,
      delimiter,
      on_record: (record: string[], context: { lines: number }) => {
        lastLine = context.lines;
        return record;
      },
    }) as unknown as Row[];
  } catch (err) {
    throw quotingError(err as { code?: string; lines?: number; message: string }, data, lastLine);
  }
}

/** A file the parser cannot read as CSV: the message names the line. */
class QuotingError extends Error {}

/** The parser's complaint as a line number and what to do, in the words of someone editing the file. */
function quotingError(e: { code?: string; lines?: number; message: string }, data: Buffer, lastLine: number): QuotingError {
  const twice = 'put the whole field in double quotes and write a quote inside it twice ("")';
  switch (e.code) {
    case 'CSV_QUOTE_NOT_CLOSED': {
      // The record that never ends starts at the first line with text after the last whole record.
      const lines = data.toString('utf8').split(/\r\n|\n|\r/);
      let start = lastLine;
      while (start < lines.length && lines[start]!.trim() === '') start++;
      return new QuotingError(`line ${start + 1}: a double quote opens a field that is never closed — close it, or ${twice}`);
    }
    case 'INVALID_OPENING_QUOTE':
      return new QuotingError(`line ${e.lines ?? '?'}: a double quote in the middle of a field — ${twice}`);
    case 'CSV_INVALID_CLOSING_QUOTE':
      return new QuotingError(`line ${e.lines ?? '?'}: text after a field's closing double quote — ${twice}`);
    default:
      return new QuotingError(`line ${e.lines ?? '?'}: ${e.message.replace(/^Invalid Record Length: /, '')} — fix the quoting and run again`);
  }
}

/** Reads and validates the whole file. */
export async function readInviteCsv(path: string): Promise<CsvPerson[]> {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    throw nobody(path, `cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); check the path`);
  }
  let size: number;
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw nobody(path, 'is not a regular file (a folder, device or pipe)');
    size = st.size;
    if (size > MAX_CSV_BYTES) throw nobody(path, 'is larger than 50 MB; split it into smaller files');
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  // The whole file (at most 50 MB, checked above) is read from the descriptor
  // already checked — never by opening the path again (it could be swapped
  // for a FIFO meanwhile, and that open would block) — and parsed in one go:
  // record by record through a stream cost more than the invitations.
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.min(Math.max(size, 65536), MAX_CSV_BYTES + 1 - total));
      if (chunk.length === 0) break;
      const n = readSync(fd, chunk, 0, chunk.length, total);
      if (n === 0) break;
      chunks.push(chunk.subarray(0, n));
      total += n;
    }
  } catch (err) {
    throw nobody(path, `cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); check the path`);
  } finally {
    closeSync(fd);
  }
  // The hard cap, should the file have grown after its size was checked.
  if (total > MAX_CSV_BYTES) throw nobody(path, 'is larger than 50 MB; split it into smaller files');
  const data = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
  // A semicolon-separated file is recognised by its first line.
  const first = data.subarray(0, 4096).toString('utf8').split(/\r?\n/)[0] ?? '';
  const delimiter = (first.match(/;/g)?.length ?? 0) > (first.match(/,/g)?.length ?? 0) ? ';' : ',';
  const errors: string[] = [];
  const people: CsvPerson[] = [];
  const seen = new Map<string, number>();
  let columns: Record<Field, number> | undefined;
  let headerWidth = 0;
  try {
    for (const { record, info } of await records(data, delimiter)) {
      if (!columns) {
        const found: Partial<Record<Field, number>> = {};
        record.forEach((h, i) => {
          const f = HEADER_NAMES[normalizeHeader(h)];
          if (f && found[f] === undefined) found[f] = i;
        });
        if (found.email === undefined || found.firstName === undefined || found.lastName === undefined) {
          throw nobody(
            path,
            `line 1: the header must name the columns email, first name and last name (e.g. "email,first_name,last_name"), not ${quote(record.join(delimiter))}`,
          );
        }
        columns = found as Record<Field, number>;
        headerWidth = record.length;
        continue;
      }
      const line = info.lines;
      const width = Math.max(columns.email, columns.firstName, columns.lastName) + 1;
      if (record.length < width) {
        errors.push(`line ${line}: expected ${width} fields (email, first name, last name), found ${record.length}`);
        continue;
      }
      // More fields than the header names: most often a name with a comma that is not in quotes
      // ("O'Neil, Jr."), which would otherwise invite the person under a name cut short. Empty
      // fields at the end (a trailing separator) are harmless.
      if (record.length > headerWidth && record.slice(headerWidth).some((f) => f.trim() !== '')) {
        errors.push(
          `line ${line}: expected ${headerWidth} fields as the header has, found ${record.length} — a name or address with ${delimiter === ';' ? 'a semicolon' : 'a comma'} in it must be in double quotes`,
        );
        continue;
      }
      try {
        const email = parseEmail(record[columns.email]!);
        const firstName = parseName(record[columns.firstName]!, 'first name');
        const lastName = parseName(record[columns.lastName]!, 'last name');
        const earlier = seen.get(emailKey(email));
        if (earlier !== undefined) throw new UsageError(`${quote(email)} already appears on line ${earlier}`);
        seen.set(emailKey(email), line);
        people.push({ line, email, firstName, lastName });
      } catch (err) {
        if (!(err instanceof UsageError)) throw err;
        errors.push(`line ${line}: ${err.message}`);
      }
    }
  } catch (err) {
    if (err instanceof QuotingError) throw nobody(path, err.message);
    throw err;
  }
  if (!columns) throw nobody(path, 'is empty; it needs a header (email,first_name,last_name) and one person per line');
  if (errors.length > 0) {
    const shown = errors.slice(0, 50);
    const more = errors.length > shown.length ? `\n  … and ${errors.length - shown.length} more bad lines` : '';
    throw new UsageError(
      `${quote(path, 200)} has ${errors.length} bad line${errors.length === 1 ? '' : 's'}; nobody was invited. Fix ${errors.length === 1 ? 'it' : 'them'} and run again:\n  ${shown.join('\n  ')}${more}`,
      'invalid_csv',
      { lines: errors },
    );
  }
  if (people.length === 0) throw nobody(path, 'has a header but nobody to invite');
  return people;
}
