// What commands return. A command never prints: it hands one of these to the
// renderer (output/render.ts), which alone decides between a terminal table,
// tab-separated text, CSV and JSON, applies --quiet, and formats times.
//
// Rows may be an array or a stream of batches (AsyncIterable<T[]>): a stream
// is consumed as it is written, so a million users or a prune of a million
// never sit in memory, and work that produces the rows (prune, remove) stops
// when the stream is abandoned.

import type { PortalctlError } from '../errors.js';
import type { UserView } from '../domain/users.js';
import type { Styles } from './styles.js';

export type Rows<T> = readonly T[] | AsyncIterable<readonly T[]>;

/** A line for stderr: `info` is silenced by --quiet and --json, `warn` only by --json. */
export interface Message {
  level: 'info' | 'warn';
  text: string;
}

export type CellKind = 'text' | 'time' | 'number';

export interface Column<T> {
  header: string;
  /** The header when the terminal is narrow. */
  short?: string;
  /** The plain value: text (untrusted; the printer neutralises it), an ISO time for `time`, a number. */
  value: (row: T) => string | number | null;
  kind?: CellKind;
  /** Colour on a terminal, given the neutralised text (one line of it; `paragraph`: which line of the value). */
  style?: (row: T, text: string, s: Styles, paragraph: number) => string;
  /** On a terminal, the text if it differs from the plain value (e.g. words instead of JSON, times in the local zone). */
  tty?: (row: T, at: { now: Date; zone: string }) => string;
  /** The value's line breaks are ours (one field a line): each line is neutralised, the breaks kept. */
  multiline?: boolean;
  /** On a terminal, keep these lines of the value (0: the first) on one line when the table can: a phrase that reads as one. */
  keep?: number[];
  /** For a `time` column on a terminal: the word before a time past ("expired 2 days ago"). */
  past?: string;
  /** Shown only on a terminal, or only in tab-separated output. */
  only?: 'terminal' | 'piped';
}

/** Shared by every result: what to say on stderr, and an error that still stands once the result is shown (exit 75 or 1). */
export interface Outcome {
  messages?: Message[];
  error?: PortalctlError;
  /** A report of what the command changed: --quiet hides it (a listing is shown whatever --quiet says). */
  report?: boolean;
  /** Reading the rows does the work (prune, remove): they are read to the end even when nobody reads the output. */
  sideEffects?: boolean;
  /** Computed once the rows are written: what to say and whether it still fails (counts of streamed work, an interrupt). */
  finish?: () => Promise<Pick<Outcome, 'messages' | 'error'>> | Pick<Outcome, 'messages' | 'error'>;
}

/** For bulk work on a terminal: counts by outcome, the first rows, and how to see the rest. */
export interface Summary {
  /** "Invited 1,990 people to grants", … — printed after the first rows. */
  lines: string[];
  /** The command that shows every row. */
  seeAll?: string;
}

/** The Users overview (SPEC): `users list`, and every command that shows users. */
export interface UsersResult extends Outcome {
  kind: 'users';
  users: Rows<UserView>;
  /** The JSON key of the list: `users`, or `removed` for prune and remove. */
  jsonKey?: string;
  /** Extra top-level JSON fields after the list ({"dryRun": true}, {"skipped": […]}). */
  jsonExtra?: () => Record<string, unknown>;
  /** Bulk output: on a terminal show the first rows and this summary instead of every row. */
  summary?: () => Summary;
  /** --csv (users list only). */
  csv?: boolean;
  /** On a terminal when the list was cut: how many there are in all. */
  total?: () => Promise<number | undefined>;
  /** --limit: the user chose how many rows; a terminal shows them all instead of TERMINAL_ROWS. */
  limit?: number;
  /** Nothing to list: say this on stderr (JSON still prints the empty list). */
  empty?: string;
  /** Nothing to list, on a terminal only (piped, the header line alone says it): say this on stderr. */
  emptyOnTerminal?: string;
}

/**
 * On a narrow terminal, a table with fewer, taller columns: each cell's text
 * may hold several lines (a name above its address), and so may the header
 * (one line per line of the cells).
 */
export type StackedColumns<T> = Column<T>[];

/** Any other list: portals, outbox, audit, events, settings, removal plans. */
export interface TableResult<T> extends Outcome {
  kind: 'table';
  jsonKey: string;
  rows: Rows<T>;
  columns: Column<T>[];
  toJson: (row: T) => unknown;
  jsonExtra?: () => Record<string, unknown>;
  empty?: string;
  /** Print the JSON list as newline-delimited objects (events --follow). */
  jsonLines?: boolean;
  /** Bulk work on a terminal: the first rows, then this summary (like UsersResult.summary). */
  summary?: () => Summary;
  /** On a narrow terminal, these fewer, taller columns when they read better. */
  stacked?: StackedColumns<T>;
}

/** A document made of sections (users show, access-check, config, doctor, store copy). */
export interface DocumentResult extends Outcome {
  kind: 'document';
  json: unknown;
  sections: Section[];
}

export type Section =
  | { kind: 'users'; title?: string; users: UserView[] }
  | { kind: 'table'; title?: string; columns: Column<any>[]; rows: readonly unknown[]; empty?: string; stacked?: StackedColumns<any> }
  | { kind: 'text'; title?: string; lines: string[] }
  | { kind: 'checks'; checks: Check[] };

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface Check {
  name: string;
  status: CheckStatus;
  detail: string;
}

/** Text for stdout as it is (a completion script). */
export interface TextResult extends Outcome {
  kind: 'text';
  text: string;
  json?: unknown;
}

/** Nothing for stdout; only messages. */
export interface NoneResult extends Outcome {
  kind: 'none';
  json?: unknown;
}

export type Result = UsersResult | TableResult<any> | DocumentResult | TextResult | NoneResult;

export const info = (text: string): Message => ({ level: 'info', text });
export const warning = (text: string): Message => ({ level: 'warn', text });

/** Rows mapped one by one, batches kept: for a stream from the store. */
export function mapRows<A, B>(rows: Rows<A>, f: (a: A) => B): Rows<B> {
  if (Array.isArray(rows)) return (rows as readonly A[]).map(f);
  return (async function* () {
    for await (const batch of rows as AsyncIterable<readonly A[]>) yield batch.map(f);
  })();
}
