// The one module that prints. Commands hand it rows; it decides between a
// boxed, coloured table (terminal), tab-separated text (piped) and JSON, and
// neutralises untrusted text on the way. Data goes to stdout; messages,
// warnings and progress to stderr.

import type { Chalk as ChalkClass } from 'chalk';
import type { Writable } from 'node:stream';
import type { Context } from '../context.js';
import { colorLevel } from '../context.js';
import { daysLeft, formatLocal } from '../domain/time.js';
import { usernameCell } from '../domain/services.js';
import type { UserView } from '../domain/users.js';
import { neutralize } from './sanitize.js';

export const NOT_LINKED = '(This account is not linked)...';

/** The styles portalctl uses; a chalk instance, or plain text when colour is off. */
export interface Styler {
  level: number;
  bold(text: string): string;
  dim(text: string): string;
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
}

const plain = (text: string) => text;
const PLAIN: Styler = { level: 0, bold: plain, dim: plain, red: plain, green: plain, yellow: plain };

// chalk is loaded only when some stream will be coloured: a piped or cron run never pays for it.
let chalk: typeof ChalkClass | undefined;

function wantsColor(ctx: Context): boolean {
  return colorLevel(ctx.env, ctx.io.stdoutIsTTY, ctx.options.color) > 0 || colorLevel(ctx.env, ctx.io.stderrIsTTY, ctx.options.color) > 0;
}

/** Call once the colour options are known, before chalkFor(). */
export async function loadColor(ctx: Context): Promise<void> {
  if (!chalk && wantsColor(ctx)) chalk = (await import('chalk')).Chalk;
}

export function chalkFor(ctx: Context, stream: 'stdout' | 'stderr' = 'stdout'): Styler {
  const tty = stream === 'stdout' ? ctx.io.stdoutIsTTY : ctx.io.stderrIsTTY;
  const level = colorLevel(ctx.env, tty, ctx.options.color);
  if (level === 0 || !chalk) return PLAIN;
  return new chalk({ level });
}

/** Writes in large chunks and waits for the pipe to drain, so 100k rows stream in bounded memory. */
export class ChunkWriter {
  private buf = '';
  constructor(private readonly out: Writable) {}
  /** Buffers s; true when a chunk is full and flush() should be awaited. Synchronous, for per-row loops. */
  push(s: string): boolean {
    this.buf += s;
    return this.buf.length >= 1 << 16;
  }
  async write(s: string): Promise<void> {
    if (this.push(s)) await this.flush();
  }
  async flush(): Promise<void> {
    if (!this.buf) return;
    const chunk = this.buf;
    this.buf = '';
    if (!this.out.write(chunk)) await new Promise<void>((resolve) => this.out.once('drain', resolve));
  }
}

export interface Column<T> {
  header: string;
  /** Plain text of the cell (untrusted parts are neutralised by the printer). */
  text: (row: T) => string;
  /** Text for the terminal table, if it differs (local times, colour). Already neutralised. */
  tty?: (row: T, c: Styler) => string;
}

// Tabs and newlines in a value would break the TSV; neutralize() escapes them.
const tsvCell = neutralize;

// eslint-disable-next-line no-control-regex
const plainText = (s: string) => s.replace(/\u001b\[[0-9;]*m/g, '');
const width = (s: string) => [...plainText(s)].length;

/**
 * Column widths (including cell padding) that fit `columns` terminal columns.
 * A column may shrink down to its longest single word, so cells wrap between
 * words and nothing (an address, say) is ever cut. `widths` is undefined when
 * the table fits as it is; `fits` is false when even the narrowest layout is
 * too wide.
 */
export function fitColumns(cells: string[][], columns: number): { widths?: number[]; fits: boolean } {
  const count = cells[0]?.length ?? 0;
  const natural = Array.from({ length: count }, (_, i) => 2 + Math.max(...cells.map((r) => width(r[i] ?? ''))));
  const floor = Array.from({ length: count }, (_, i) => 2 + Math.max(...cells.flatMap((r) => plainText(r[i] ?? '').split(/\s+/).map((w) => [...w].length))));
  const total = (ws: number[]) => ws.reduce((a, b) => a + b, 0) + count + 1;
  if (total(natural) <= columns) return { fits: true };
  if (total(floor) > columns) return { fits: false };
  const widths = [...natural];
  let excess = total(widths) - columns;
  // Take a column at a time from the one with the most room above its floor.
  while (excess > 0) {
    let best = -1;
    for (let i = 0; i < count; i++) if (widths[i]! > floor[i]! && (best < 0 || widths[i]! - floor[i]! > widths[best]! - floor[best]!)) best = i;
    widths[best]!--;
    excess--;
  }
  return { widths, fits: true };
}

/** Terminal: a boxed table fitted to its width; piped: TSV with one header line. Returns the number of rows. */
export async function printTable<T>(ctx: Context, columns: Column<T>[], rows: Iterable<T>): Promise<number> {
  let n = 0;
  if (ctx.io.stdoutIsTTY) {
    const c = chalkFor(ctx);
    const { default: Table } = await import('cli-table3');
    const head = columns.map((col) => c.bold(col.header));
    const body: string[][] = [];
    for (const row of rows) {
      body.push(columns.map((col) => (col.tty ? col.tty(row, c) : neutralize(col.text(row)))));
      n++;
    }
    const style = { head: [], border: c.level > 0 ? ['grey'] : [] };
    const fit = ctx.io.columns ? fitColumns([columns.map((col) => col.header), ...body], ctx.io.columns) : { fits: true };
    if (fit.fits) {
      const table = new Table({ head, style, wordWrap: true, ...(fit.widths ? { colWidths: fit.widths } : {}) });
      table.push(...body);
      ctx.io.stdout.write(`${table.toString()}\n`);
      return n;
    }
    // Too narrow for the columns side by side: one boxed record per row, field by field.
    const keyWidth = 2 + Math.max(...columns.map((col) => col.header.length));
    const widest = 2 + Math.max(...body.flatMap((cells) => cells.map(width)));
    // Never narrower than the longest word: better a line the terminal wraps than a cut address.
    const longestWord = 2 + Math.max(...body.flatMap((cells) => cells.flatMap((v) => plainText(v).split(/\s+/).map((w) => [...w].length))));
    const valueWidth = Math.max(12, longestWord, Math.min(widest, ctx.io.columns! - keyWidth - 3));
    const compact = { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' };
    const blocks = body.map((cells) => {
      const record = new Table({ style, chars: compact, wordWrap: true, colWidths: [keyWidth, valueWidth] });
      columns.forEach((col, i) => record.push([c.bold(col.header), cells[i]!]));
      return record.toString();
    });
    ctx.io.stdout.write(`${blocks.join('\n')}\n`);
    return n;
  }
  const w = new ChunkWriter(ctx.io.stdout);
  await w.write(`${columns.map((c) => c.header).join('\t')}\n`);
  for (const row of rows) {
    // Awaiting only when a chunk is full: an await per row costs more than building the row.
    if (w.push(`${columns.map((col) => tsvCell(col.text(row))).join('\t')}\n`)) await w.flush();
    n++;
  }
  await w.flush();
  return n;
}

/** Streams `{"<key>": [ ... ]}` followed by any extra top-level fields. */
export async function printJsonList<T>(ctx: Context, key: string, rows: Iterable<T>, extra?: Record<string, unknown>): Promise<number> {
  const w = new ChunkWriter(ctx.io.stdout);
  let n = 0;
  await w.write(`{${JSON.stringify(key)}: [`);
  for (const row of rows) {
    if (w.push(`${n++ === 0 ? '\n  ' : ',\n  '}${JSON.stringify(row)}`)) await w.flush();
  }
  await w.write(n ? '\n]' : ']');
  for (const [k, v] of Object.entries(extra ?? {})) await w.write(`, ${JSON.stringify(k)}: ${JSON.stringify(v)}`);
  await w.write('}\n');
  await w.flush();
  return n;
}

export function printJson(ctx: Context, doc: unknown): void {
  ctx.io.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
}

export function userColumns(ctx: Context): Column<UserView>[] {
  const now = ctx.now();
  const removal = (u: UserView) => {
    if (u.status === 'linked' || !u.removalDueAt) return '';
    const d = daysLeft(u.removalDueAt, now);
    return d <= 0 ? 'due now' : `${d} day${d === 1 ? '' : 's'}`;
  };
  const statusColor = (s: string, c: Styler) => (s === 'linked' ? c.green(s) : s === 'pending' ? c.yellow(s) : c.red(s));
  return [
    { header: 'ID', text: (u) => String(u.id) },
    {
      header: 'Name',
      text: (u) => `${u.firstName} ${u.lastName}${u.status === 'linked' ? '' : ` ${NOT_LINKED}`}`,
      tty: (u, c) => `${neutralize(`${u.firstName} ${u.lastName}`)}${u.status === 'linked' ? '' : ` ${c.dim(NOT_LINKED)}`}`,
    },
    { header: 'Email', text: (u) => u.email },
    { header: 'Username/ID (Login Service)', text: (u) => usernameCell(u.loginService, u.username) },
    { header: 'Status', text: (u) => u.status, tty: (u, c) => statusColor(u.status, c) },
    {
      header: 'Link expires',
      text: (u) => (u.status === 'linked' ? '' : (u.registrationExpiresAt ?? '')),
      tty: (u) => (u.status === 'linked' || !u.registrationExpiresAt ? '' : formatLocal(u.registrationExpiresAt)),
    },
    { header: 'Removal in', text: removal },
  ];
}

/** The Users overview, in whichever form the output calls for. */
export async function printUsers(ctx: Context, users: Iterable<UserView>, extra?: Record<string, unknown>): Promise<number> {
  if (ctx.options.json) return printJsonList(ctx, 'users', users, extra);
  return printTable(ctx, userColumns(ctx), users);
}

/** A human message on stderr (suppressed by --quiet and --json). */
export function say(ctx: Context, text: string): void {
  if (ctx.options.quiet || ctx.options.json) return;
  ctx.io.stderr.write(`${text}\n`);
}

/** A warning on stderr: shown even with --quiet, never with --json (JSON callers read the exit code). */
export function warn(ctx: Context, text: string): void {
  if (ctx.options.json) return;
  const c = chalkFor(ctx, 'stderr');
  ctx.io.stderr.write(`${c.yellow('warning:')} ${text}\n`);
}
