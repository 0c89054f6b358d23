// Tables for a terminal: boxed (cli-table3), fitted to the window. Cells are
// wrapped here, not by cli-table3, so that a word longer than its column is
// hard-broken and colour is applied line by line (cli-table3's own hard wrap
// splits escape codes). When the columns cannot fit side by side, each row
// becomes a record — field by field, each box as wide as its own values.

import type { Styles } from './styles.js';

export interface TerminalCell {
  /** Plain, already neutralised text. */
  text: string;
  style?: (line: string) => string;
}

export interface TerminalTable {
  headers: string[];
  rows: TerminalCell[][];
}

const COMBINING = /\p{M}/u;
const WIDE =
  /[\u1100-\u115f\u2e80-\u303e\u3041-\u33ff\u3400-\u4dbf\u4e00-\u9fff\ua000-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6\u{1f300}-\u{1faff}\u{20000}-\u{3fffd}]/u;

/** Columns a string takes on a terminal: wide (CJK, emoji) characters two, combining marks none. */
export function displayWidth(text: string): number {
  let w = 0;
  for (const ch of text) w += COMBINING.test(ch) ? 0 : WIDE.test(ch) ? 2 : 1;
  return w;
}

function breakWord(word: string, width: number): string[] {
  const out: string[] = [];
  let line = '';
  let w = 0;
  for (const ch of word) {
    const cw = displayWidth(ch);
    if (w + cw > width && line) {
      out.push(line);
      line = '';
      w = 0;
    }
    line += ch;
    w += cw;
  }
  if (line) out.push(line);
  return out;
}

/** Lines of at most `width` columns: breaks between words, and inside a word only when it alone is too long. */
export function wrapText(text: string, width: number): string[] {
  const out: string[] = [];
  for (const paragraph of text.split('\n')) {
    let line = '';
    for (const word of paragraph.split(' ')) {
      const candidate = line ? `${line} ${word}` : word;
      if (displayWidth(candidate) <= width) {
        line = candidate;
        continue;
      }
      if (line) out.push(line);
      if (displayWidth(word) <= width) line = word;
      else {
        const pieces = breakWord(word, width);
        line = pieces.pop() ?? '';
        out.push(...pieces);
      }
    }
    out.push(line);
  }
  return out;
}

const longestWord = (text: string) => Math.max(0, ...text.split(/[ \n]/).map(displayWidth));
const widest = (text: string) => Math.max(0, ...text.split('\n').map(displayWidth));

/** Below this a column is not squeezed further: narrower tables become records. */
const MIN_COLUMN = 6;

/**
 * Content widths for the columns within `columns` terminal columns, or
 * undefined when they cannot fit. Room is taken a column at a time from the
 * column where it costs the fewest extra lines — wrapping inside rows that are
 * already tall before making short rows taller — down to each column's
 * longest word (and not below MIN_COLUMN). Words are never broken: an address
 * cut in two cannot be copied, so a table that does not fit becomes records.
 */
export function fitWidths(table: TerminalTable, columns: number): number[] | undefined {
  const n = table.headers.length;
  const cells = (i: number) => [table.headers[i]!, ...table.rows.map((r) => r[i]!.text)];
  const natural = Array.from({ length: n }, (_, i) => Math.max(...cells(i).map(widest)));
  const words = Array.from({ length: n }, (_, i) => Math.min(natural[i]!, Math.max(...cells(i).map(longestWord))));
  const floor = Array.from({ length: n }, (_, i) => Math.min(natural[i]!, Math.max(MIN_COLUMN, displayWidth(table.headers[i]!.split(' ')[0]!))));
  const overhead = 3 * n + 1; // a border and two spaces of padding per column, and the last border
  const budget = columns - overhead;
  const sum = (ws: number[]) => ws.reduce((a, b) => a + b, 0);
  if (sum(natural) <= budget) return natural;
  const limits = words.map((w, i) => Math.max(w, floor[i]!));
  if (sum(limits) > budget) return undefined;
  const widths = [...natural];
  const all = Array.from({ length: n }, (_, i) => cells(i));
  const lines = (i: number, w: number) => all[i]!.map((t) => wrapText(t, w).length);
  const height = () => all[0]!.map((_, r) => Math.max(...widths.map((w, i) => lines(i, w)[r]!)));
  const shrinkTo = (limits: number[]) => {
    let excess = sum(widths) - budget;
    while (excess > 0) {
      const rows = height();
      let best = -1;
      let bestCost = Infinity;
      for (let i = 0; i < n; i++) {
        if (widths[i]! <= limits[i]!) continue;
        const cost = lines(i, widths[i]! - 1).reduce((c, l, r) => c + Math.max(0, l - rows[r]!), 0);
        if (cost < bestCost || (cost === bestCost && widths[i]! > widths[best]!)) {
          best = i;
          bestCost = cost;
        }
      }
      if (best < 0) return;
      widths[best]!--;
      excess--;
    }
  };
  shrinkTo(limits);
  return sum(widths) <= budget ? widths : undefined;
}

function cellLines(cell: TerminalCell, width: number): string {
  return wrapText(cell.text, width)
    .map((line) => (cell.style ? cell.style(line) : line))
    .join('\n');
}

type TableCtor = new (opts: Record<string, unknown>) => { push(...rows: unknown[]): void; toString(): string };

function boxStyle(s: Styles) {
  return { head: [], border: s.level > 0 ? ['grey'] : [] };
}

/** A boxed table with the given content widths. */
export function drawTable(Table: TableCtor, table: TerminalTable, widths: number[], s: Styles): string {
  const t = new Table({
    head: table.headers.map((h, i) =>
      wrapText(h, widths[i]!)
        .map((l) => s.bold(l))
        .join('\n'),
    ),
    colWidths: widths.map((w) => w + 2),
    wordWrap: false,
    style: boxStyle(s),
  });
  for (const row of table.rows) t.push(row.map((cell, i) => cellLines(cell, widths[i]!)));
  return t.toString();
}

/** One boxed record per row, each as wide as its own values (at most the terminal). */
export function drawRecords(Table: TableCtor, table: TerminalTable, columns: number, s: Styles): string {
  const keyWidth = Math.max(...table.headers.map(displayWidth));
  const room = Math.max(8, columns - keyWidth - 7);
  const compact = { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' };
  return table.rows
    .map((row) => {
      const valueWidth = Math.min(room, Math.max(1, ...row.map((c) => widest(c.text))));
      const record = new Table({ chars: compact, colWidths: [keyWidth + 2, valueWidth + 2], wordWrap: false, style: boxStyle(s) });
      row.forEach((cell, i) => record.push([s.bold(table.headers[i]!), cellLines(cell, valueWidth)]));
      return record.toString();
    })
    .join('\n');
}
