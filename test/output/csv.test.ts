import { describe, expect, it } from 'vitest';
import { csvField, csvLine } from '../../src/output/csv.js';

describe('CSV for spreadsheets', () => {
  it('quotes what needs quoting (RFC 4180) and ends lines with CRLF', () => {
    expect(csvLine([1, 'Ann, Jr.', 'Bo "B"', 'two\nlines', null, 'plain'])).toBe('1,"Ann, Jr.","Bo ""B""","two\nlines",,plain\r\n');
  });

  it('defuses fields a spreadsheet would run as a formula (CSV injection)', () => {
    for (const f of ['=HYPERLINK("x")', '+1', '-2', '@SUM(A1)', '\tx', '\rx']) expect(csvField(f).replace(/^"/, '')[0]).toBe("'");
    expect(csvField('=1+1')).toBe("'=1+1");
    expect(csvField(-2)).toBe('-2');
  });
});
