// The one place that prints results. Given what a command returned, it
// decides: JSON (--json), CSV (--csv), a fitted table on a terminal, or
// tab-separated text when piped; formats time columns (local time and how
// long ago on a terminal, ISO 8601 UTC otherwise); neutralises untrusted text;
// applies --quiet; and writes messages to stderr. Data goes to stdout only.

import type { Writable } from 'node:stream';
import type { PortalctlError } from '../errors.js';
import { neutralize, neutralizeData } from '../text.js';
import { formatLocal, formatRelative } from '../domain/time.js';
import type { UserView } from '../domain/users.js';
import { csvLine } from './csv.js';
import { ChunkWriter, toJson } from './json.js';
import type { Column, DocumentResult, Message, Result, Rows, Section, TableResult, UsersResult } from './results.js';
import { stylesFor, type ColorLevel, type Styles } from './styles.js';
import { displayWidth, drawRecords, drawTable, fitWidths, recordsCost, wrapText, type TerminalCell, type TerminalTable } from './terminal.js';
import { stackedUserColumns, USER_CSV_COLUMNS, userColumns } from './users.js';

export interface RenderOptions {
  stdout: Writable;
  stderr: Writable;
  stdoutIsTTY: boolean;
  /** The terminal's width, when stdout is one. */
  columns?: number;
  colorOut: ColorLevel;
  colorErr: ColorLevel;
  /** True once the reader of stdout went away: read-only lists stop early. */
  stdoutClosed: () => boolean;
  json: boolean;
  quiet: boolean;
  now: Date;
  zone: string;
}

/** A terminal shows at most this many rows of a list unless told otherwise; piped and JSON output is whole. */
export const TERMINAL_ROWS = 500;
/** Bulk work on a terminal: the first rows, then the counts. */
export const SUMMARY_ROWS = 10;

type Mode = 'json' | 'csv' | 'tsv' | 'tty';

async function* batches<T>(rows: Rows<T>): AsyncIterable<readonly T[]> {
  if (Array.isArray(rows)) {
    if (rows.length) yield rows as readonly T[];
    return;
  }
  yield* rows as AsyncIterable<readonly T[]>;
}

/** Prints a result; returns the error that still stands once it is shown (mail queued, interrupted …). */
export async function render(result: Result, o: RenderOptions): Promise<PortalctlError | undefined> {
  const mode: Mode = o.json ? 'json' : result.kind === 'users' && result.csv ? 'csv' : o.stdoutIsTTY ? 'tty' : 'tsv';
  const out = await stylesFor(mode === 'tty' ? o.colorOut : 0);
  switch (result.kind) {
    case 'users':
      await renderUsers(result, mode, o, out);
      break;
    case 'table':
      await renderTable(result, mode, o, out);
      break;
    case 'document':
      await renderDocument(result, mode, o, out);
      break;
    case 'text':
      if (mode === 'json' && result.json !== undefined) o.stdout.write(`${toJson(result.json, 2)}\n`);
      else o.stdout.write(result.text);
      break;
    case 'none':
      if (mode === 'json' && result.json !== undefined) o.stdout.write(`${toJson(result.json, 2)}\n`);
      break;
  }
  const finished = (await result.finish?.()) ?? {};
  await writeMessages([...(result.messages ?? []), ...(finished.messages ?? [])], o);
  return finished.error ?? result.error;
}

export async function writeMessages(messages: Message[], o: Pick<RenderOptions, 'stderr' | 'json' | 'quiet' | 'colorErr'>): Promise<void> {
  if (o.json) return;
  const err = await stylesFor(o.colorErr);
  for (const m of messages) {
    if (m.level === 'info' && !o.quiet) o.stderr.write(`${m.text}\n`);
    else if (m.level === 'warn') o.stderr.write(`${err.yellow('warning:')} ${m.text}\n`);
  }
}

function plainCell<T>(col: Column<T>, row: T): string {
  const v = col.value(row);
  return v === null ? '' : String(v);
}

/**
 * A cell for a terminal: neutralised, times in the local zone and how long ago
 * (compact: only how long ago; absolute: only the local time, for a stream that
 * outlives the run's "now"), coloured.
 */
function ttyCell<T>(col: Column<T>, row: T, o: RenderOptions, s: Styles, compact: boolean | 'absolute'): TerminalCell {
  let text: string;
  // A value's own line breaks are hostile, except in a column whose lines are ours (one field a line).
  const clean = (v: string) => (col.multiline ? v.split('\n').map(neutralize).join('\n') : neutralize(v));
  if (col.tty) text = clean(col.tty(row, { now: o.now, zone: o.zone }));
  else if (col.kind === 'time') {
    const v = col.value(row);
    const relative = () => formatRelative(String(v), o.now, col.past);
    text =
      v === null || v === ''
        ? ''
        : compact === 'absolute'
          ? formatLocal(String(v), o.zone)
          : compact
            ? relative()
            : `${formatLocal(String(v), o.zone)} (${relative()})`;
  } else text = clean(plainCell(col, row));
  const style = col.style && s.level > 0 ? (line: string, paragraph: number) => col.style!(row, line, s, paragraph) : undefined;
  return { text, style, keep: col.keep };
}

type TableCtor = Parameters<typeof drawTable>[0];

/**
 * A table for the terminal, the best that fits the window:
 *   full     — every column, SPEC's headers, local time and how long ago;
 *   compact  — short headers, relative times, no empty columns;
 *   stacked  — (when the result offers it) fewer, taller columns;
 * each fitted first with whole words, then breaking only the words that must
 * be (one long address should not turn the whole list into records). Of the
 * layouts that fit, the one with the fewest lines wins, the wider forms on
 * near-ties. When nothing fits, each row becomes a record sized to its values.
 */
async function drawForTerminal<T>(all: Column<T>[], rows: readonly T[], o: RenderOptions, s: Styles, stacked?: Column<T>[]): Promise<string> {
  const columns = all.filter((c) => c.only !== 'piped');
  const { default: Table } = (await import('cli-table3')) as unknown as { default: TableCtor };
  const width = o.columns ?? 200;
  const full: TerminalTable = { headers: columns.map((c) => c.header), rows: rows.map((r) => columns.map((c) => ttyCell(c, r, o, s, false))) };
  const keep = columns.map((c, i) => c.header === 'ID' || full.rows.some((cells) => cells[i]!.text !== ''));
  const shown = columns.filter((_, i) => keep[i]);
  const compact: TerminalTable = { headers: shown.map((c) => c.short ?? c.header), rows: rows.map((r) => shown.map((c) => ttyCell(c, r, o, s, true))) };
  const layouts = [full, compact];
  if (stacked) layouts.push({ headers: stacked.map((c) => c.header), rows: rows.map((r) => stacked.map((c) => ttyCell(c, r, o, s, true))) });
  const fitted = layouts.flatMap((table) => {
    const fit = fitWidths(table, width);
    return fit ? [{ table, ...fit }] : [];
  });
  // The cheapest, or a wider form that costs hardly more and breaks no more words; records when they read better than any table.
  const cheapest = fitted.length ? fitted.reduce((a, b) => (b.cost < a.cost ? b : a)) : undefined;
  // Records label their fields with the short headers: the labels take room from every value.
  const records: TerminalTable = { headers: columns.map((c) => c.short ?? c.header), rows: full.rows };
  if (!cheapest || recordsCost(records, width).cost < cheapest.cost) return drawRecords(Table, records, width, s);
  const best = fitted.find((f) => f.cost <= cheapest.cost * 1.15 && f.broken <= cheapest.broken)!;
  // A short header only where the full one does not fit its column.
  const headers =
    best.table === compact ? shown.map((c, i) => (displayWidth(c.header) <= best.widths[i]! ? c.header : compact.headers[i]!)) : best.table.headers;
  return drawTable(Table, { ...best.table, headers }, best.widths, s);
}

const piped = <T>(columns: Column<T>[]) => columns.filter((c) => c.only !== 'terminal');

async function writeTsv<T>(w: ChunkWriter, all: Column<T>[], batch: readonly T[]): Promise<void> {
  const columns = piped(all);
  for (const row of batch) {
    // Tabs and newlines inside a value would break the line: they are escaped; direction marks in names are data and kept.
    if (w.push(`${columns.map((c) => neutralizeData(plainCell(c, row))).join('\t')}\n`)) await w.flush();
  }
}

async function streamJsonList<T>(w: ChunkWriter, key: string, rows: Rows<T>, map: (r: T) => unknown, o: RenderOptions, sideEffects: boolean): Promise<number> {
  let n = 0;
  await w.write(`{${toJson(key)}: [`);
  for await (const batch of batches(rows)) {
    for (const row of batch) {
      if (w.push(`${n++ === 0 ? '\n  ' : ',\n  '}${toJson(map(row))}`)) await w.flush();
    }
    if (!sideEffects && o.stdoutClosed()) break;
  }
  await w.write(n ? '\n]' : ']');
  return n;
}

async function renderUsers(r: UsersResult, mode: Mode, o: RenderOptions, s: Styles): Promise<void> {
  const sideEffects = Boolean(r.sideEffects);
  const w = new ChunkWriter(o.stdout);
  const quietHides = Boolean(r.report);
  if (mode === 'json') {
    await streamJsonList(w, r.jsonKey ?? 'users', r.users, (u) => u, o, sideEffects);
    for (const [k, v] of Object.entries(r.jsonExtra?.() ?? {})) await w.write(`, ${toJson(k)}: ${toJson(v)}`);
    await w.write('}\n');
    await w.flush();
    return;
  }
  if (mode === 'csv') {
    await w.write(csvLine(USER_CSV_COLUMNS.map(([h]) => h)));
    for await (const batch of batches(r.users)) {
      for (const u of batch) if (w.push(csvLine(USER_CSV_COLUMNS.map(([, f]) => f(u))))) await w.flush();
      if (o.stdoutClosed()) break;
    }
    await w.flush();
    return;
  }
  const columns = userColumns(o.now);
  if (mode === 'tsv') {
    let n = 0;
    for await (const batch of batches(r.users)) {
      if (o.quiet && quietHides) continue;
      if (n === 0) await w.write(`${columns.map((c) => c.header).join('\t')}\n`);
      n += batch.length;
      await writeTsv(w, columns, batch);
      if (!sideEffects && o.stdoutClosed()) break;
    }
    if (n === 0 && !(o.quiet && quietHides)) {
      if (r.empty) o.stderr.write(o.quiet ? '' : `${r.empty}\n`);
      else await w.write(`${columns.map((c) => c.header).join('\t')}\n`);
    }
    await w.flush();
    return;
  }
  // A terminal: at most TERMINAL_ROWS rows unless --limit says how many (SUMMARY_ROWS for bulk work), the rest counted.
  const cap = r.summary ? SUMMARY_ROWS : (r.limit ?? TERMINAL_ROWS);
  const shown: UserView[] = [];
  let total = 0;
  for await (const batch of batches(r.users)) {
    total += batch.length;
    for (const u of batch) if (shown.length < cap) shown.push(u);
    // A summary counts every row; a listing stops reading once the terminal's share is shown.
    if (!sideEffects && !r.summary && shown.length >= cap && total > cap) break;
  }
  if (shown.length === 0) {
    const empty = r.empty ?? r.emptyOnTerminal;
    if (empty && !o.quiet) o.stderr.write(`${empty}\n`);
  } else if (!(o.quiet && quietHides)) {
    o.stdout.write(`${await drawForTerminal(columns, shown, o, s, stackedUserColumns(o.now))}\n`);
  }
  if (r.summary) {
    const summary = r.summary();
    if (!o.quiet) {
      for (const line of summary.lines) o.stderr.write(`${line}\n`);
      if (total > shown.length && summary.seeAll)
        o.stderr.write(`Showing the first ${shown.length} of ${total}; \`${summary.seeAll}\` shows them all (or use --json).\n`);
    }
  } else if (shown.length >= cap) {
    const all = (await r.total?.()) ?? total;
    if (all > shown.length && !o.quiet) {
      o.stderr.write(
        `Showing the first ${shown.length} of ${all} users. Narrow with --status or --search, raise --limit, or pipe the output (tab-separated) or use --json or --csv for all of them.\n`,
      );
    }
  }
}

async function renderTable<T>(r: TableResult<T>, mode: Mode, o: RenderOptions, s: Styles): Promise<void> {
  const w = new ChunkWriter(o.stdout);
  if (o.quiet && r.report && mode !== 'json') {
    for await (const _ of batches(r.rows)); // the work still happens
    return;
  }
  if (mode === 'json') {
    if (r.jsonLines) {
      for await (const batch of batches(r.rows)) {
        for (const row of batch) await w.write(`${toJson(r.toJson(row))}\n`);
        await w.flush();
        if (o.stdoutClosed()) break;
      }
      return;
    }
    await streamJsonList(w, r.jsonKey, r.rows, r.toJson, o, Boolean(r.sideEffects));
    for (const [k, v] of Object.entries(r.jsonExtra?.() ?? {})) await w.write(`, ${toJson(k)}: ${toJson(v)}`);
    await w.write('}\n');
    await w.flush();
    return;
  }
  if (mode === 'tsv' || r.jsonLines) {
    // A stream that never ends (events --follow) is printed line by line, on a terminal too.
    let n = 0;
    const header = `${piped(r.columns)
      .map((c) => c.header)
      .join('\t')}\n`;
    for await (const batch of batches(r.rows)) {
      if (n === 0 && !r.jsonLines) await w.write(header);
      n += batch.length;
      if (mode === 'tty') {
        for (const row of batch)
          await w.write(
            `${r.columns
              .filter((c) => c.only !== 'piped')
              .map((c) => ttyCell(c, row, o, s, r.jsonLines ? 'absolute' : false).text)
              .join('  ')}\n`,
          );
      } else await writeTsv(w, r.columns, batch);
      await w.flush();
      if (o.stdoutClosed() && !r.sideEffects) break;
    }
    if (n === 0 && r.empty && !o.quiet) o.stderr.write(`${r.empty}\n`);
    await w.flush();
    return;
  }
  // Bulk work shows its first rows and a summary; a listing shows up to TERMINAL_ROWS.
  const cap = r.summary ? SUMMARY_ROWS : TERMINAL_ROWS;
  const shown: T[] = [];
  let total = 0;
  for await (const batch of batches(r.rows)) {
    total += batch.length;
    for (const row of batch) if (shown.length < cap) shown.push(row);
    if (total > cap && !r.sideEffects && !r.summary) break;
  }
  if (shown.length === 0) {
    if (r.empty && !o.quiet) o.stderr.write(`${r.empty}\n`);
    return;
  }
  o.stdout.write(`${await drawForTerminal(r.columns, shown, o, s, r.stacked)}\n`);
  if (o.quiet) return;
  if (r.summary) {
    const summary = r.summary();
    for (const line of summary.lines) o.stderr.write(`${line}\n`);
    if (total > shown.length)
      o.stderr.write(
        `Showing the first ${shown.length} of ${total}; ${summary.seeAll ? `\`${summary.seeAll}\` shows them all (or use --json).` : '--json lists them all.'}\n`,
      );
  } else if (total > shown.length) o.stderr.write(`Showing the first ${shown.length}; pipe the output or use --json for all of them.\n`);
}

async function renderDocument(r: DocumentResult, mode: Mode, o: RenderOptions, s: Styles): Promise<void> {
  if (mode === 'json') {
    o.stdout.write(`${toJson(r.json, 2)}\n`);
    return;
  }
  // The report of a change (store copy's counts): --quiet silences it, as it does every result table of a change.
  if (o.quiet && r.report) return;
  let first = true;
  for (const section of r.sections) {
    const title = 'title' in section ? section.title : undefined;
    if (title) o.stdout.write(`${first ? '' : '\n'}${mode === 'tty' ? s.bold(title) : `# ${title}`}\n`);
    first = false;
    await renderSection(section, mode, o, s);
  }
}

async function renderSection(section: Section, mode: Mode, o: RenderOptions, s: Styles): Promise<void> {
  const w = new ChunkWriter(o.stdout);
  switch (section.kind) {
    case 'users': {
      const columns = userColumns(o.now);
      if (mode === 'tty') o.stdout.write(`${await drawForTerminal(columns, section.users, o, s, stackedUserColumns(o.now))}\n`);
      else {
        await w.write(`${columns.map((c) => c.header).join('\t')}\n`);
        await writeTsv(w, columns, section.users);
      }
      break;
    }
    case 'table': {
      if (section.rows.length === 0) {
        o.stdout.write(`${section.empty ?? 'none'}\n`);
        break;
      }
      if (mode === 'tty') o.stdout.write(`${await drawForTerminal(section.columns, section.rows, o, s, section.stacked)}\n`);
      else {
        await w.write(
          `${piped(section.columns)
            .map((c) => c.header)
            .join('\t')}\n`,
        );
        await writeTsv(w, section.columns, section.rows);
      }
      break;
    }
    case 'text':
      for (const line of section.lines) {
        if (mode !== 'tty' || o.columns === undefined) {
          await w.write(`${line}\n`);
          continue;
        }
        // On a terminal a long line wraps between words, a bullet's continuation under its text (not
        // the terminal's own wrap, which cuts words). Piped, each stays one line for grep.
        const lead = /^ *(?:- )?/.exec(line)![0];
        const wrapped = wrapText(line.slice(lead.length), Math.max(20, o.columns - lead.length));
        await w.write(`${wrapped.map((l, i) => `${i === 0 ? lead : ' '.repeat(lead.length)}${l}`).join('\n')}\n`);
      }
      break;
    case 'checks': {
      const paint = { ok: s.green, warn: s.yellow, fail: s.red } as const;
      const pad = Math.max(...section.checks.map((c) => displayWidth(c.name)));
      for (const c of section.checks) {
        if (o.quiet && c.status === 'ok') continue;
        const status = paint[c.status](c.status.padEnd(4));
        if (mode !== 'tty') {
          await w.write(`${c.status}\t${neutralize(c.name)}\t${neutralize(c.detail)}\n`);
          continue;
        }
        // The detail wrapped under itself, not under the status, when the window leaves it room.
        const indent = 4 + 2 + pad + 2;
        const room = (o.columns ?? 200) - indent;
        const detail = room >= 30 ? wrapText(neutralize(c.detail), room).join(`\n${' '.repeat(indent)}`) : neutralize(c.detail);
        await w.write(`${status}  ${s.bold(neutralize(c.name).padEnd(pad))}  ${detail}\n`);
      }
      break;
    }
  }
  await w.flush();
}
