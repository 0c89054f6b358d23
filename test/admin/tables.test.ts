// What an administrator sees on terminals of 200, 120, 80 and 60 columns, with
// realistic and very long names and addresses: a table that fits the window
// (no line wider than the terminal), compact and then stacked as it narrows,
// never a nine-line record per user at 80 columns; the FAQ's words whole;
// relative times beside absolute ones; the audit's change in words.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { displayWidth, drawRecords } from '../../src/output/terminal.js';
import { PLAIN } from '../../src/output/styles.js';
import { inTerminal } from '../helpers/terminal.js';
import { GRANTS, at, world, type World } from '../helpers/run.js';
import { strip, tokenFor } from './support.js';
import { storeSql } from '../helpers/sql.js';

const NOT_LINKED = '(This account is not linked)...';
// 104 characters: the address that turned a 200-column list into records.
const LONG = 'maximilian.alexander.von.longname-huber@department-of-very-long-names.research-institute.example.org';
const PEOPLE: [string, string, string][] = [
  ['jane.doe@example.org', 'Jane', 'Doe'],
  [LONG, 'Maximilian Alexander', 'Von Longname-Huber'],
  ['j.mueller@example.de', 'Jürgen', 'Müller'],
  ['wei.zhang@example.cn', '伟', '张'],
  ['olga.petrova@example.org', 'Olga', 'Petrova'],
];

let w: World;
/** portalctl on an in-process terminal of `columns`, colour off (tested elsewhere), the escape codes gone anyway. */
async function shown(argv: string[], columns: number): Promise<string> {
  const r = await w.run(argv, { tty: true, columns, env: { NO_COLOR: '1' } });
  expect(r.exitCode, r.stderr).toBe(0);
  return strip(r.stdout);
}

beforeAll(async () => {
  w = world();
  expect(LONG.length).toBeGreaterThanOrEqual(100);
  await w.run(GRANTS);
  await w.run(['users', 'invite', '--email', 'early.bird@example.org', '--first-name', 'Early', '--last-name', 'Bird'], { now: at(-10) });
  for (const [email, first, last] of PEOPLE) await w.run(['users', 'invite', '--email', email, '--first-name', first, '--last-name', last]);
  await w.run(['link', tokenFor(w.mailDir, 2), '--service', 'nih', '--account', 'jdoe']);
  await w.run(['link', tokenFor(w.mailDir, 4), '--service', 'ims', '--account', 'jürgen.müller']);
});
afterAll(() => w.close());

const lines = (out: string) => out.replace(/\n$/, '').split('\n');
const boxes = (out: string) => lines(out).filter((l) => l.startsWith('┌')).length;
/**
 * Each column of a table read top to bottom, spaces and borders gone, one
 * column after the other: what wrapping or breaking cut is joined again (a
 * cell's lines are adjacent in its column).
 */
function joined(out: string): string {
  const columns: string[] = [];
  for (const line of lines(out)) {
    if (!line.startsWith('│')) continue;
    line
      .split('│')
      .slice(1, -1)
      .forEach((cell, i) => (columns[i] = (columns[i] ?? '') + cell.replace(/\s/g, '')));
  }
  return columns.join('\n');
}
const squeezed = (text: string) => text.replace(/\s/g, '');

describe.each([200, 120, 80, 60])('users list at %i columns', (columns) => {
  let out: string;
  beforeAll(async () => {
    out = await shown(['users', 'list'], columns);
  });

  it('fits the window: no line wider than the terminal, one table (not a record per user)', () => {
    for (const l of lines(out)) expect(displayWidth(l), l).toBeLessThanOrEqual(columns);
    expect(boxes(out)).toBe(1);
  });

  it('a user takes a few lines, not a nine-line record', () => {
    expect(lines(out).length).toBeLessThan(6 * 8);
  });

  it('nothing is lost: every name and address is there, the long address at least joined again', () => {
    for (const [email] of PEOPLE) expect(joined(out)).toContain(squeezed(email));
    for (const [, first] of PEOPLE) expect(out).toContain(first.split(' ')[0]);
    // Down to 80 columns every ordinary address is whole on its line (at 60 some may be broken, as the FAQ words may wrap).
    if (columns >= 80)
      for (const email of ['jane.doe@example.org', 'j.mueller@example.de', 'wei.zhang@example.cn', 'early.bird@example.org']) expect(out).toContain(email);
  });

  it('the Username/ID cell: the FAQ words for the unlinked, "jdoe (NIH Network Login)" for the linked; the Name cell the name only', () => {
    if (columns >= 80) expect(out).toContain(NOT_LINKED);
    else expect(joined(out)).toContain(squeezed(NOT_LINKED));
    expect(joined(out)).toContain(squeezed('jdoe (NIH Network Login)'));
    expect(out).not.toMatch(/Doe \(This account/);
  });

  it('times relative on a terminal: "in 7 days", "expired 3 days ago"', () => {
    expect(joined(out)).toContain(squeezed('in 7 days'));
    expect(joined(out)).toContain(squeezed('expired 3 days ago'));
  });
});

describe('layouts', () => {
  it('200 columns: one 104-character address does not turn the list into records', async () => {
    const r = { stdout: await shown(['users', 'list'], 200) };
    expect(boxes(r.stdout)).toBe(1);
    expect(r.stdout).toContain('Username/ID (Login Service)');
    expect(joined(r.stdout)).toContain(LONG);
    expect(lines(r.stdout).length).toBeLessThan(20);
  });

  it('where the wide table fits, local times with their zone beside the relative ones', async () => {
    const r = { stdout: await shown(['users', 'list', '--search', 'olga'], 160) };
    expect(r.stdout).toContain('2026-12-05 09:00 EST (in 7 days)');
    expect(r.stdout).toContain('Link expires');
  });

  it('80 columns: the compact stacked table — the FAQ words on one line, addresses whole but the one that cannot fit', async () => {
    const r = { stdout: await shown(['users', 'list'], 80) };
    const own = lines(r.stdout).filter((l) => l.includes(NOT_LINKED));
    expect(own.length).toBe(4); // every unlinked user, each phrase on its own line
    for (const email of ['jane.doe@example.org', 'olga.petrova@example.org']) expect(r.stdout).toContain(email);
    expect(r.stdout).not.toContain(LONG); // broken, as it must be at this width …
    expect(joined(r.stdout)).toContain(LONG); // … but all there, in its column
  });

  it('no empty columns in the compact form: with only linked users there is no expiry or removal column', async () => {
    const r = { stdout: await shown(['users', 'list', '--status', 'linked'], 70) };
    expect(r.stdout).not.toMatch(/Expires|Link expires|Removal/);
    for (const l of lines(r.stdout)) expect(displayWidth(l)).toBeLessThanOrEqual(70);
  });

  it('rules between rows only around rows of several lines', async () => {
    const r = { stdout: await shown(['users', 'list', '--search', 'example.org'], 200) };
    const rows = lines(r.stdout).filter((l) => l.startsWith('│')).length;
    const rules = lines(r.stdout).filter((l) => l.startsWith('├')).length;
    expect(rules).toBeLessThan(rows - 1);
  });

  it('too narrow for any table: a record per user, each as wide as its own values, empty fields left out', async () => {
    const r = { stdout: await shown(['users', 'list'], 26) };
    for (const l of lines(r.stdout)) expect(displayWidth(l)).toBeLessThanOrEqual(26);
    const tops = lines(r.stdout).filter((l) => l.startsWith('┌'));
    expect(tops.length).toBe(6);
    const jane = r.stdout.split('┌').find((b) => b.includes('jane.doe'))!;
    expect(jane).not.toContain('Expires');
    expect(joined(r.stdout)).toContain(LONG);
  });

  it('each record is as wide as its own values, not padded to the widest of all', async () => {
    const { default: Table } = await import('cli-table3');
    const cell = (text: string) => ({ text });
    const drawn = drawRecords(
      Table as never,
      {
        headers: ['ID', 'Email'],
        rows: [
          [cell('1'), cell('a@b.org')],
          [cell('2'), cell(LONG)],
        ],
      },
      120,
      PLAIN,
    );
    const tops = lines(drawn).filter((l) => l.startsWith('┌'));
    expect(tops[0]!.length).toBeLessThan(20);
    expect(tops[1]!.length).toBeGreaterThan(100);
  });

  it('piped: tab-separated, the FAQ words in the Username/ID column, ISO times', async () => {
    const r = await w.run(['users', 'list']);
    const [header, ...rows] = lines(r.stdout);
    expect(header).toBe('ID\tName\tEmail\tUsername/ID (Login Service)\tStatus\tLink expires\tRemoval in');
    const olga = rows.find((l) => l.includes('olga.petrova'))!.split('\t');
    expect(olga[1]).toBe('Olga Petrova');
    expect(olga[3]).toBe(NOT_LINKED);
    expect(olga[5]).toBe('2026-12-05T14:00:00.000Z');
    const jane = rows.find((l) => l.includes('jane.doe'))!.split('\t');
    expect(jane[3]).toBe('jdoe (NIH Network Login)');
  });
});

describe('the other views fit too', () => {
  it.each([120, 80, 60])('users show, doctor, portals list and audit at %i columns: no line wider than the window', async (columns) => {
    for (const argv of [['users', 'show', LONG], ['users', 'show', 'jane.doe@example.org'], ['doctor'], ['portals', 'list'], ['audit', '--limit', '5']]) {
      const out = await w.run(argv, { tty: true, columns, env: { NO_COLOR: '1' } });
      for (const l of lines(strip(out.stdout))) expect(displayWidth(l), `${argv.join(' ')}: ${l}`).toBeLessThanOrEqual(columns);
    }
  });

  it('a terminal that reports a width of 0 (`script`, some containers) is drawn at $COLUMNS, else at 80', async () => {
    for (const argv of [
      ['users', 'list'],
      ['users', 'show', 'jane.doe@example.org'],
    ]) {
      const zero = await w.run(argv, { tty: true, columns: 0, env: { NO_COLOR: '1' } });
      expect(strip(zero.stdout), argv.join(' ')).toBe(await shown(argv, 80));
      const told = await w.run(argv, { tty: true, columns: 0, env: { NO_COLOR: '1', COLUMNS: '120' } });
      expect(strip(told.stdout), argv.join(' ')).toBe(await shown(argv, 120));
    }
  });

  it('users show at 60 columns: the registration stacked, its times in words', async () => {
    const out = await shown(['users', 'show', 'olga.petrova@example.org'], 60);
    expect(joined(out)).toContain(squeezed('created just now'));
    expect(joined(out)).toContain(squeezed('link expires in 7 days'));
  });
});

describe('colour and untrusted text in the narrow forms', () => {
  it('the stacked table colours the status line and dims the FAQ words', async () => {
    const r = await w.run(['users', 'list'], { tty: true, columns: 80 });
    expect(r.stdout).toContain('\u001b[33mpending, expires in 7 days');
    expect(r.stdout).toContain(`\u001b[2m${NOT_LINKED}`);
    expect(r.stdout).toContain('\u001b[32mlinked');
  });

  it('a line break smuggled into a stored name stays visible as \\x0A, not a new line of the cell', async () => {
    const hostile = world();
    try {
      await hostile.run(GRANTS);
      await hostile.run(['users', 'invite', '--email', 'x@example.org', '--first-name', 'Ja', '--last-name', 'Ne']);
      await storeSql(hostile, "UPDATE users SET first_name = 'Ja\nError: fake', last_name = 'Ne\u001b[2J' WHERE id = 1");
      for (const columns of [200, 80, 60]) {
        const r = await hostile.run(['users', 'list'], { tty: true, columns, env: { NO_COLOR: '1' } });
        expect(r.stdout).toContain('Ja\\x0AError:');
        expect(r.stdout).not.toContain('\u001b[2J');
        expect(lines(r.stdout).some((l) => /^│\s+│ Error: fake/.test(l))).toBe(false);
      }
    } finally {
      hostile.close();
    }
  });
});

describe('the audit on a terminal', () => {
  it('says before and after in words, one change a line, times local', async () => {
    await w.run(['users', 'resend-registration', 'olga.petrova@example.org', '--email', 'olga@new.example.org', '--yes']);
    for (const columns of [200, 120, 80, 60]) {
      const r = { stdout: await shown(['audit', '--limit', '3'], columns) };
      for (const l of lines(r.stdout)) expect(displayWidth(l)).toBeLessThanOrEqual(columns);
      expect(joined(r.stdout)).toContain(squeezed('email: olga.petrova@example.org → olga@new.example.org'));
      expect(r.stdout).not.toMatch(/\{"/); // no JSON on a terminal
    }
    const wide = await w.run(['audit', '--limit', '3'], { tty: true, columns: 200 });
    expect(wide.stdout).toContain('email: olga.petrova@example.org → olga@new.example.org');
    const piped = await w.run(['audit', '--limit', '1']);
    expect(lines(piped.stdout)[0]).toBe('When\tWho\tAction\tPortal\tUser\tBefore\tAfter');
    expect(piped.stdout).toContain('"email":"olga@new.example.org"');
  });
});

describe('in a real terminal', { timeout: 60_000 }, () => {
  it.each([200, 120, 80, 60])('users list at %i columns reads the width from the terminal and fits it', async (cols) => {
    const r = await inTerminal(['users', 'list'], w.env, [], { cols, rows: 50 });
    expect(r.exitCode).toBe(0);
    const text = strip(r.output);
    const table = lines(text).filter((l) => /^[│┌├└]/.test(l));
    expect(table.length).toBeGreaterThan(5);
    for (const l of table) expect(displayWidth(l)).toBeLessThanOrEqual(cols);
    expect(table.filter((l) => l.startsWith('┌'))).toHaveLength(1);
    expect(joined(text)).toContain(squeezed(NOT_LINKED));
  });
});
