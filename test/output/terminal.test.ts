// Tables on a terminal: fitted to the window, wrapped between words, a word
// cut only when it is wider than any width its column can get; when not even
// the narrowest columns fit side by side, one record per row.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import Table from 'cli-table3';
import { displayWidth, drawRecords, drawTable, fitWidths, wrapText, type TerminalTable } from '../../src/output/terminal.js';
import { PLAIN } from '../../src/output/styles.js';

type Ctor = Parameters<typeof drawTable>[0];
const T = Table as unknown as Ctor;

const table = (rows: string[][]): TerminalTable => ({ headers: rows[0]!, rows: rows.slice(1).map((r) => r.map((text) => ({ text }))) });
const users = table([
  ['ID', 'Name', 'Email', 'Username/ID (Login Service)', 'Status', 'Link expires', 'Removal in'],
  ['1', 'Jane Doe', 'jane.doe@example.org', '(This account is not linked)...', 'pending', '2026-12-05 09:00 EST (in 7 days)', '30 days'],
  ['2', 'Bo Brown', 'bo@example.org', 'bo.brown (IMS Login Service)', 'linked', '', ''],
]);
const words = (s: string) => s.split(/\s+/).filter(Boolean);

describe('fitting a table to the terminal', () => {
  it('leaves a table that fits alone', () => {
    const fit = fitWidths(users, 200)!;
    expect(fit.widths).toEqual(users.headers.map((h, i) => Math.max(displayWidth(h), ...users.rows.map((r) => displayWidth(r[i]!.text)))));
    expect(fit.broken).toBe(0);
  });

  it('fits a 110-column terminal by wrapping between words, every address whole', () => {
    const { widths, broken } = fitWidths(users, 110)!;
    expect(broken).toBe(0);
    expect(widths.reduce((a, b) => a + b, 0) + 3 * widths.length + 1).toBeLessThanOrEqual(110);
    const out = drawTable(T, users, widths, PLAIN).split('\n');
    for (const l of out) expect(displayWidth(l)).toBeLessThanOrEqual(110);
    expect(out.join('\n')).toContain('jane.doe@example.org');
  });

  it('says when not even the narrowest columns fit; the caller then shows records, each sized to its values', () => {
    expect(fitWidths(users, 40)).toBeUndefined();
    const out = drawRecords(T, users, 80, PLAIN);
    for (const l of out.split('\n')) expect(displayWidth(l)).toBeLessThanOrEqual(80);
    expect(out).toMatch(/│ Username\/ID \(Login Service\) │ \(This account is not linked\)\.\.\. +│/);
    expect(out).toContain('jane.doe@example.org');
  });

  it('breaks the one word that cannot fit rather than wrapping every row (issue 13)', () => {
    const long = 'maximilian.alexander.von.longname-huber@department-of-very-long-names.example.org';
    const t = table([
      ['ID', 'Email', 'Username/ID'],
      ...Array.from({ length: 8 }, (_, i) => [String(i), `p${i}@example.org`, '(This account is not linked)...']),
      ['9', long, '(This account is not linked)...'],
    ]);
    const { widths, broken } = fitWidths(t, 80)!;
    expect(broken).toBe(1);
    const drawn = drawTable(T, t, widths, PLAIN);
    expect(drawn.split('\n').filter((l) => l.includes('(This account is not linked)...'))).toHaveLength(9);
  });

  it('fits any table it can: within the window, every character of every cell in its column, in order', () => {
    const cell = fc.array(fc.stringMatching(/^[a-z@.()-]{1,14}$/), { minLength: 1, maxLength: 4 }).map((ws) => ws.join(' '));
    fc.assert(
      fc.property(fc.array(fc.array(cell, { minLength: 3, maxLength: 3 }), { minLength: 2, maxLength: 6 }), fc.integer({ min: 20, max: 160 }), (rows, cols) => {
        const t = table(rows);
        const fit = fitWidths(t, cols);
        if (!fit) return;
        const { widths } = fit;
        expect(widths.reduce((a, b) => a + b, 0) + 3 * widths.length + 1).toBeLessThanOrEqual(cols);
        const drawn = drawTable(T, t, widths, PLAIN);
        for (const l of drawn.split('\n')) expect(displayWidth(l)).toBeLessThanOrEqual(cols);
        // Each column read top to bottom holds its cells' text (wrapped or broken), spaces aside.
        const columns: string[] = [];
        for (const l of drawn.split('\n').filter((x) => x.startsWith('│')))
          l.split('│')
            .slice(1, -1)
            .forEach((c, i) => (columns[i] = (columns[i] ?? '') + c.replace(/\s/g, '')));
        rows.slice(1).forEach((r) => r.forEach((c, i) => expect(columns[i]).toContain(c.replace(/\s/g, ''))));
        // A word is broken only when no width the column got could hold it.
        rows.forEach((r) => r.forEach((c, i) => words(c).forEach((w) => displayWidth(w) <= widths[i]! && expect(drawn).toContain(w))));
      }),
    );
  });
});

describe('wrapping a cell', () => {
  it('breaks between words and keeps every word, in order', () => {
    fc.assert(
      fc.property(fc.array(fc.stringMatching(/^[a-zA-Z0-9]{1,9}$/), { maxLength: 12 }), fc.integer({ min: 10, max: 40 }), (ws, width) => {
        const lines = wrapText(ws.join(' '), width);
        for (const l of lines) expect(displayWidth(l)).toBeLessThanOrEqual(width);
        expect(lines.flatMap(words)).toEqual(ws);
      }),
    );
  });

  it('breaks a word only when it alone is wider than the column', () => {
    expect(wrapText('a verylongaddress@example.org b', 10)).toEqual(['a', 'verylongad', 'dress@exam', 'ple.org b']);
  });

  it('counts wide characters twice and combining marks not at all', () => {
    expect(displayWidth('李小龙')).toBe(6);
    expect(displayWidth('Zoe\u0308')).toBe(3);
    expect(displayWidth('👩')).toBe(2);
    expect(wrapText('李小龙 李小龙', 7)).toEqual(['李小龙', '李小龙']);
  });
});
