// The request log's own promises (src/server/log.ts): no query string and
// nothing token-like in a logged path, and the lines of one turn of the event
// loop — the answers to every request the poll phase took in — go out in one
// write, in that same turn.

import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { loggablePath, requestLog } from '../../src/server/log.js';

const AT = new Date('2026-11-28T14:00:00.000Z');

function recorder() {
  const writes: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      writes.push(String(chunk));
      done();
    },
  });
  return { writes, log: requestLog(stream, () => AT) };
}

describe('the request log', () => {
  it('writes the lines of callbacks that ran in one phase of the loop in one write, before the loop turns', async () => {
    const { writes, log } = recorder();
    const writesThen = await new Promise<number>((resolve) => {
      // Two callbacks of one phase of the loop, as the answers to two sockets read in one poll phase.
      // (Immediates queued together run in one check phase; two zero timers need not share a timers
      // phase when the millisecond turns between them, as it does on a busy machine.)
      setImmediate(() => log.write({ method: 'GET', path: '/a', status: 200 }));
      setImmediate(() => {
        log.write({ method: 'GET', path: '/b', status: 429 });
        // Checked at the next check phase, after the flush queued before it: by then the lines are out, together.
        setImmediate(() => resolve(writes.length));
      });
    });
    expect(writesThen).toBe(1);
    expect(
      writes[0]!
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l)),
    ).toEqual([
      { time: AT.toISOString(), method: 'GET', path: '/a', status: 200 },
      { time: AT.toISOString(), method: 'GET', path: '/b', status: 429 },
    ]);
  });

  it('logs a path without its query and without token-like runs; text is neutralised', () => {
    expect(loggablePath('/register/link?token=abc')).toBe('/register/link');
    expect(loggablePath('/register/AbCdEfGhIjKlMnOpQrStUvWx/x')).toBe('/register/[redacted]/x');
    expect(loggablePath('/a\u001b[2Jb')).not.toContain('\u001b');
  });
});
