// Waiting on a stream without ever waiting forever.

import type { Writable } from 'node:stream';

/** Resolves when the stream can take more, or never will (closed or failed). */
export function drained(stream: Writable): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      stream.off('drain', done);
      stream.off('error', done);
      stream.off('close', done);
      resolve();
    };
    stream.once('drain', done);
    stream.once('error', done);
    stream.once('close', done);
  });
}
