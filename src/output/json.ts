// JSON on stdout. Lists are streamed as they are produced (a million users in
// flat memory), in chunks, waiting for the pipe to drain. Characters that a
// terminal would act on even inside a JSON string — C1 controls such as CSI
// (U+009B), line separators, bidi overrides — are written as \u escapes: the
// same string to any JSON parser, harmless on a screen.

import type { Writable } from 'node:stream';
import { drained } from './stream.js';
import { anyOf, BIDI_CONTROL, BIDI_MARK, C1_CONTROL, LINE_SEPARATOR } from '../text.js';

// JSON.stringify escapes C0 controls in strings itself (and indenting adds our own line breaks);
// what it leaves as it is would still reach a terminal that shows the JSON.
const RISKY = anyOf('g', C1_CONTROL, LINE_SEPARATOR, BIDI_CONTROL, BIDI_MARK);

export function toJson(value: unknown, indent?: number): string {
  return JSON.stringify(value, null, indent).replace(RISKY, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Buffers output and writes it in large chunks, waiting for a full pipe to drain. */
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
    if (!this.out.write(chunk)) await drained(this.out);
  }
}
