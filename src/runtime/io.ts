// The streams of a run and what they are: terminals or not, how wide, whether
// colour is on, whether prompts are allowed. Built once per run (tests build
// their own). stdout is guarded: a reader that went away (`| head`) makes
// further output quietly vanish while the command finishes its work; a write
// that fails otherwise (`> /dev/full`) is remembered and reported as one line.

import type { Readable, Writable } from 'node:stream';
import { isatty } from 'node:tty';
import type { ColorLevel } from '../output/styles.js';

export interface RawStreams {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
  stdinIsTTY: boolean;
  stdoutIsTTY: boolean;
  stderrIsTTY: boolean;
  /** Width of the terminal stdout is on, if it is one. */
  columns?: number;
}

export interface IOStreams extends RawStreams {
  /** Colour on stdout / stderr (NO_COLOR, FORCE_COLOR, --no-color, TERM=dumb, terminal or not). */
  colorOut: ColorLevel;
  colorErr: ColorLevel;
  /** Prompts only when stdin and stdout are both terminals (gh's CanPrompt). */
  canPrompt: boolean;
  /** True once the reader of stdout went away (EPIPE): output stops, work goes on. */
  readonly stdoutClosed: boolean;
  /** A write to stdout that failed for another reason (ENOSPC, EIO), for main to report. */
  readonly stdoutError: NodeJS.ErrnoException | undefined;
  /** Turns colour off (--no-color), once the flags are parsed. */
  disableColor(): void;
  /**
   * Resolves once what was written to stdout has gone out or failed. A file
   * (`> /dev/full`) reports a failed write a tick later, so stdoutError is
   * only known after this.
   */
  flushStdout(): Promise<void>;
}

export function colorLevel(env: NodeJS.ProcessEnv, isTTY: boolean): ColorLevel {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return 0;
  const force = env.FORCE_COLOR;
  if (force !== undefined) {
    if (force === '0' || force === 'false') return 0;
    if (force === '2') return 2;
    if (force === '3') return 3;
    return 1;
  }
  if (!isTTY || env.TERM === 'dumb') return 0;
  return 1;
}

/** Makes a stream drop writes after EPIPE and keep other write errors, never throwing. */
function guard(stream: Writable, state: { closed: boolean; error?: NodeJS.ErrnoException }): Writable {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED') state.closed = true;
    else state.error ??= err;
  });
  const original = stream.write.bind(stream) as (chunk: unknown, ...rest: unknown[]) => boolean;
  // Patched in place, so that listeners (drain, error) stay on the one stream.
  stream.write = ((chunk: unknown, ...rest: unknown[]) => {
    if (state.closed || state.error || stream.destroyed) {
      const cb = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
      cb?.();
      return true;
    }
    try {
      return original(chunk, ...rest);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code === 'EPIPE') state.closed = true;
      else state.error ??= e;
      return true;
    }
  }) as Writable['write'];
  return stream;
}

/**
 * A terminal that reports a width of 0 (a pseudo-terminal made by `script`, some
 * containers and ssh sessions before they learn their size): $COLUMNS, else 80.
 * Taken as 0, every table squeezed into its narrowest layout.
 */
function unknownWidth(env: NodeJS.ProcessEnv): number {
  const n = Number(env.COLUMNS);
  return Number.isInteger(n) && n >= 20 && n <= 1000 ? n : 80;
}

export function createIO(raw: RawStreams, env: NodeJS.ProcessEnv): IOStreams {
  const out = { closed: false } as { closed: boolean; error?: NodeJS.ErrnoException };
  const err = { closed: false } as { closed: boolean; error?: NodeJS.ErrnoException };
  const io: IOStreams = {
    get stdin() {
      return raw.stdin; // read only by the commands that take input
    },
    stdinIsTTY: raw.stdinIsTTY,
    stdoutIsTTY: raw.stdoutIsTTY,
    stderrIsTTY: raw.stderrIsTTY,
    columns: raw.columns === 0 ? unknownWidth(env) : raw.columns,
    stdout: guard(raw.stdout, out),
    stderr: guard(raw.stderr, err),
    colorOut: colorLevel(env, raw.stdoutIsTTY),
    colorErr: colorLevel(env, raw.stderrIsTTY),
    canPrompt: raw.stdinIsTTY && raw.stdoutIsTTY,
    get stdoutClosed() {
      return out.closed;
    },
    get stdoutError() {
      return out.error;
    },
    disableColor() {
      io.colorOut = 0;
      io.colorErr = 0;
    },
    flushStdout() {
      return new Promise<void>((resolve) => io.stdout.write('', () => resolve()));
    },
  };
  return io;
}

export function processStreams(): RawStreams {
  return {
    // Made on first use: Node builds process.stdin (a file, pipe or terminal
    // stream) only when asked, and most commands never read it.
    get stdin() {
      return process.stdin;
    },
    stdout: process.stdout,
    stderr: process.stderr,
    stdinIsTTY: isatty(0),
    stdoutIsTTY: Boolean(process.stdout.isTTY),
    stderrIsTTY: Boolean(process.stderr.isTTY),
    columns: process.stdout.isTTY ? process.stdout.columns : undefined,
  };
}
