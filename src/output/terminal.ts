// Tables for a terminal: boxed (cli-table3), fitted to the window. Cells are
// wrapped here, not by cli-table3, so that a word longer than its column is
// hard-broken and colour is applied line by line (cli-table3's own hard wrap
// splits escape codes). When the columns cannot fit side by side, each row
// becomes a record — field by field, each box as wide as its own values.

import type { Styles } from './styles.js';

export interface TerminalCell {
  /** Plain, already neutralised text. */
  text: string;
  /** Colours one wrapped line of the paragraph (line of `text`) it belongs to. */
  style?: (line: string, paragraph: number) => string;
  /** Paragraphs (lines of `text`) to keep on one line if at all possible: wrapping one costs as much as breaking a word. */
  keep?: number[];
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
  if (/^[\x20-\x7e]*$/.test(text)) return text.length;
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

/** A cell's words, measured once: widths of the words of each line of its text (a kept line is one word). */
type Measured = number[][];
const measure = (cell: TerminalCell): Measured =>
  cell.text.split('\n').map((p, i) => (cell.keep?.includes(i) ? [displayWidth(p)] : p.split(' ').map(displayWidth)));

/** How many lines wrapText(text, width) makes, from the measured words (a broken word approximated by its width). */
function countLines(m: Measured, width: number): number {
  let lines = 0;
  for (const words of m) {
    let line = -1;
    lines++;
    for (const w of words) {
      if (line >= 0 && line + 1 + w <= width) {
        line += 1 + w;
        continue;
      }
      if (line >= 0) lines++;
      if (w <= width) line = w;
      else {
        const pieces = Math.ceil(w / width);
        lines += pieces - 1;
        line = w - (pieces - 1) * width;
      }
    }
  }
  return lines;
}

const longestWord = (text: string) => Math.max(0, ...text.split(/[ \n]/).map(displayWidth));
/** The widest line a cell keeps whole (0 if none). */
const kept = (cell: TerminalCell) => Math.max(0, ...(cell.keep ?? []).map((i) => displayWidth(cell.text.split('\n')[i] ?? '')));
/** What a cell at this width costs beyond its lines: a broken word BROKEN_WORD, a kept line wrapped (between words) KEPT_LINE. */
const penalty = (word: number, keep: number, width: number) => (word > width ? BROKEN_WORD : keep > width ? KEPT_LINE : 0);
const widest = (text: string) => Math.max(0, ...text.split('\n').map(displayWidth));
/** Below this a column is not squeezed further: narrower tables become records. */
const MIN_COLUMN = 6;

/** What breaking a word inside a cell costs, in lines: an address or URL cut in two is hard to read and to copy. */
const BROKEN_WORD = 3;

/** What wrapping a line a cell would rather keep whole costs (the FAQ's "(This account is not linked)..."): a little, never more than a broken address. */
const KEPT_LINE = 0.5;

/** The overhead of a boxed table: a border and two spaces of padding per column, and the last border. */
export const boxOverhead = (n: number) => 3 * n + 1;

export interface Fitted {
  widths: number[];
  /** Lines of the body, plus BROKEN_WORD for each cell with a word broken: lower reads better. */
  cost: number;
  /** Cells with a word broken. */
  broken: number;
}

/**
 * Content widths for the columns within `columns` terminal columns, or
 * undefined when they cannot fit. Room is taken from the column where it
 * costs the fewest extra lines per column given back — wrapping inside rows
 * that are already tall before making short rows taller, wrapping between
 * words before breaking one — looking ahead, so that one long address is
 * broken rather than every row's "(This account is not linked)..." wrapped,
 * and a column that wraps on every row at once is weighed whole.
 */
export function fitWidths(table: TerminalTable, columns: number): Fitted | undefined {
  const n = table.headers.length;
  const sample = sampleRows(table.rows, n);
  const all = Array.from({ length: n }, (_, i) => [table.headers[i]!, ...sample.map((r) => r[i]!.text)]);
  const natural = all.map((cells) => Math.max(...cells.map(widest)));
  const floor = all.map((_, i) => Math.min(natural[i]!, Math.max(MIN_COLUMN, displayWidth(table.headers[i]!.split(/[ \n]/)[0]!))));
  const budget = columns - boxOverhead(n);
  const sum = (ws: number[]) => ws.reduce((a, b) => a + b, 0);
  if (sum(floor) > budget) return undefined;
  const cellsOf = (i: number): TerminalCell[] => [{ text: table.headers[i]! }, ...sample.map((r) => r[i]!)];
  const longest = all.map((_, i) => cellsOf(i).map((c) => longestWord(c.text)));
  const keeps = all.map((_, i) => cellsOf(i).map(kept));
  const measured = all.map((_, i) => cellsOf(i).map(measure));
  // Per column and width: the lines of each cell (the header first), and the cells with a broken word. Remembered.
  const memo = all.map(() => new Map<number, { lines: number[]; extra: number }>());
  const at = (i: number, w: number) => {
    let m = memo[i]!.get(w);
    if (!m)
      memo[i]!.set(w, (m = { lines: measured[i]!.map((c) => countLines(c, w)), extra: longest[i]!.reduce((e, l, r) => e + penalty(l, keeps[i]![r]!, w), 0) }));
    return m;
  };
  const widths = [...natural];
  const rows = all[0]!.length;
  let excess = sum(widths) - budget;
  while (excess > 0) {
    // The tallest cell of each row among the other columns, for each column.
    const current = widths.map((w, j) => at(j, w).lines);
    const tallest = Array.from({ length: n }, (_, i) => {
      const out = new Array<number>(rows);
      for (let r = 0; r < rows; r++) {
        let h = 1;
        for (let j = 0; j < n; j++) if (j !== i && current[j]![r]! > h) h = current[j]![r]!;
        out[r] = h;
      }
      return out;
    });
    const cost = (i: number, w: number) => {
      const m = at(i, w);
      let total = m.extra;
      for (let r = 0; r < rows; r++) total += Math.max(tallest[i]![r]!, m.lines[r]!);
      return total;
    };
    let best = -1;
    let bestTo = 0;
    let bestRate = Infinity;
    for (let i = 0; i < n; i++) {
      const from = widths[i]!;
      const base = cost(i, from);
      for (let to = from - 1; to >= Math.max(floor[i]!, from - excess); to--) {
        const rate = (cost(i, to) - base) / (from - to);
        if (rate < bestRate || (rate === bestRate && from > widths[best]!)) {
          best = i;
          bestTo = to;
          bestRate = rate;
        }
      }
    }
    if (best < 0) return undefined;
    excess -= widths[best]! - bestTo;
    widths[best] = bestTo;
  }
  // The greedy steps can leave room where it no longer helps (a column just
  // past the width where its text wrapped anyway): move room between columns
  // while that lowers the cost.
  const total = (ws: number[]) => {
    const cols = ws.map((w, i) => at(i, w));
    let t = 0;
    for (const c of cols) t += c.extra;
    for (let r = 0; r < rows; r++) {
      let h = 1;
      for (const c of cols) if (c.lines[r]! > h) h = c.lines[r]!;
      t += h;
    }
    return t;
  };
  let current = total(widths);
  for (let round = 0; round < 50; round++) {
    let bestMove: number[] | undefined;
    let bestTotal = current;
    for (let from = 0; from < n; from++) {
      for (let to = 0; to < n; to++) {
        if (from === to) continue;
        for (let d = 1; d <= 16 && widths[from]! - d >= floor[from]! && widths[to]! + d <= natural[to]!; d++) {
          const moved = widths.map((w, i) => (i === from ? w - d : i === to ? w + d : w));
          const t = total(moved);
          if (t < bestTotal) {
            bestTotal = t;
            bestMove = moved;
          }
        }
      }
    }
    if (!bestMove) break;
    widths.splice(0, n, ...bestMove);
    current = bestTotal;
  }
  return { widths, ...layoutCost(table, widths) };
}

/** At most about SAMPLE rows to fit on — every k-th, and the widest cell of each column — so a 500-row table fits in milliseconds. */
const SAMPLE = 120;
function sampleRows(rows: TerminalCell[][], n: number): TerminalCell[][] {
  if (rows.length <= SAMPLE) return rows;
  const step = Math.ceil(rows.length / SAMPLE);
  const picked = new Set<number>();
  for (let r = 0; r < rows.length; r += step) picked.add(r);
  for (let i = 0; i < n; i++) {
    let widestRow = 0;
    for (let r = 1; r < rows.length; r++) if (widest(rows[r]![i]!.text) > widest(rows[widestRow]![i]!.text)) widestRow = r;
    picked.add(widestRow);
  }
  return [...picked].sort((a, b) => a - b).map((r) => rows[r]!);
}

/** Lines of the table (header and body) at these widths, plus BROKEN_WORD for each cell with a word broken. */
export function layoutCost(table: TerminalTable, widths: number[]): { cost: number; broken: number } {
  let lines = Math.max(1, ...table.headers.map((h, i) => wrapText(h, widths[i]!).length));
  let broken = 0;
  let extra = 0;
  for (const row of table.rows) {
    const height = Math.max(1, ...row.map((cell, i) => wrapText(cell.text, widths[i]!).length));
    // A row of several lines also brings a rule (see drawTable).
    lines += height + (height > 1 ? 1 : 0);
    broken += row.filter((cell, i) => longestWord(cell.text) > widths[i]!).length;
    extra += row.reduce((e, cell, i) => e + penalty(longestWord(cell.text), kept(cell), widths[i]!), 0);
  }
  return { cost: lines + extra, broken };
}

function cellLines(cell: TerminalCell, width: number): string {
  return cell.text
    .split('\n')
    .flatMap((paragraph, p) => wrapText(paragraph, width).map((line) => (cell.style ? cell.style(line, p) : line)))
    .join('\n');
}

type TableCtor = new (opts: Record<string, unknown>) => { push(...rows: unknown[]): void; toString(): string };

function boxStyle(s: Styles) {
  return { head: [], border: s.level > 0 ? ['grey'] : [] };
}

const ANSI = /\u001b\[[0-9;]*m/g;

/**
 * A boxed table with the given content widths. Rows of one line each are not
 * separated by rules: a rule between every row doubles the height of a list.
 */
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
  const cells = table.rows.map((row) => row.map((cell, i) => cellLines(cell, widths[i]!)));
  for (const row of cells) t.push(row);
  // A rule under the header, and around rows of several lines only.
  const tall = cells.map((row) => row.some((c) => c.includes('\n')));
  let rule = 0;
  return t
    .toString()
    .split('\n')
    .filter((line) => {
      if (!line.replace(ANSI, '').startsWith('├')) return true;
      const below = rule++;
      return below === 0 || tall[below - 1] || tall[below];
    })
    .join('\n');
}

/** What drawRecords costs, counted as layoutCost counts a table: lines (the boxes' too), and broken words. */
export function recordsCost(table: TerminalTable, columns: number): { cost: number; broken: number } {
  const room = recordRoom(table, columns);
  let lines = 0;
  let broken = 0;
  let extra = 0;
  for (const row of table.rows) {
    const fields = row.filter((cell, i) => i === 0 || cell.text !== '');
    lines += 2 + fields.reduce((n, cell) => n + wrapText(cell.text, room).length, 0);
    broken += fields.filter((cell) => longestWord(cell.text) > room).length;
    extra += fields.reduce((e, cell) => e + penalty(longestWord(cell.text), kept(cell), room), 0);
  }
  return { cost: lines + extra, broken };
}

const recordRoom = (table: TerminalTable, columns: number) => Math.max(8, columns - Math.max(...table.headers.map(displayWidth)) - 7);

/** One boxed record per row, each as wide as its own values (at most the terminal); empty fields are left out. */
export function drawRecords(Table: TableCtor, table: TerminalTable, columns: number, s: Styles): string {
  const keyWidth = Math.max(...table.headers.map(displayWidth));
  const room = recordRoom(table, columns);
  const compact = { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' };
  return table.rows
    .map((row) => {
      const fields = row.map((cell, i) => ({ cell, key: table.headers[i]! })).filter((f, i) => i === 0 || f.cell.text !== '');
      const valueWidth = Math.min(room, Math.max(1, ...fields.map((f) => widest(f.cell.text))));
      const record = new Table({ chars: compact, colWidths: [keyWidth + 2, valueWidth + 2], wordWrap: false, style: boxStyle(s) });
      for (const f of fields) record.push([s.bold(f.key), cellLines(f.cell, valueWidth)]);
      return record.toString();
    })
    .join('\n');
}
