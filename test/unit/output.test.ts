import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { fitColumns } from '../../src/output/output.js';

const longestWord = (s: string) => Math.max(...s.split(/\s+/).map((w) => [...w].length));

describe('fitting the Users overview to the terminal', () => {
  const rows = [
    ['ID', 'Name', 'Email', 'Username/ID (Login Service)', 'Status', 'Link expires', 'Removal in'],
    ['1', 'Jane Doe (This account is not linked)...', 'jane.doe@example.org', '', 'pending', '2026-12-05 09:00 EST', '30 days'],
    ['2', 'Bo Brown', 'bo@example.org', 'bo.brown (IMS Login Service)', 'linked', '', ''],
  ];

  it('leaves a table that fits alone', () => {
    expect(fitColumns(rows, 200)).toEqual({ fits: true });
  });

  it('fits a 100-column terminal by wrapping between words', () => {
    const { widths, fits } = fitColumns(rows, 100);
    expect(fits).toBe(true);
    expect(widths!.reduce((a, b) => a + b, 0) + widths.length + 1).toBeLessThanOrEqual(100);
  });

  it('says when even the narrowest layout does not fit', () => {
    expect(fitColumns(rows, 60).fits).toBe(false);
  });

  it('never narrows a column below its longest word, so no address is cut', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.string({ maxLength: 30 }), { minLength: 3, maxLength: 3 }), { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 10, max: 200 }),
        (cells, cols) => {
          const { widths } = fitColumns(cells, cols);
          if (!widths) return;
          widths.forEach((w, i) => expect(w).toBeGreaterThanOrEqual(2 + Math.max(...cells.map((r) => longestWord(r[i]!)))));
        },
      ),
    );
  });
});
