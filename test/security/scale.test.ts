// Issue 14, Low: `prune` of a million users held the write lock for 50 s
// (every Step 2 link failed store_busy meanwhile) and kept everything in
// memory; `outbox list` read the whole queue before printing a line. Both
// must work in batches and stream. A smaller store shows the shape: the
// first output is written while most of the work is still to come, the
// write lock is free between batches, and a reader that goes away stops
// the reading.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { createServer } from 'node:net';
import { PassThrough, Writable } from 'node:stream';
import { main } from '../../src/cli/main.js';
import { SqliteStore } from '../../src/store/sqlite/store.js';
import { at, GRANTS, world, type World } from '../helpers/run.js';
import { peopleCsv } from './fixtures.js';

const PEOPLE = 2100; // more than two pages of a streamed list (250 on SQLite, 1000 on PostgreSQL) and four of prune (500)
let w: World;
beforeAll(async () => {
  w = world();
  expect((await w.run(GRANTS)).exitCode).toBe(0);
  // A relay that is down: everyone is invited, every email stays queued.
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  const r = await w.run(['users', 'invite', '--from-csv', peopleCsv(w.dir, PEOPLE), '--yes'], { env: { PORTALCTL_SMTP_URL: `smtp://127.0.0.1:${port}` } });
  expect(r.exitCode, r.stderr).toBe(75);
}, 60_000);
afterAll(() => w.close());

/** Runs portalctl in-process with a stdout that calls `onWrite` for every chunk (and may say the reader went away). */
async function runWithStdout(
  argv: string[],
  onWrite: (chunk: Buffer, n: number) => 'ok' | 'epipe',
  now?: string,
): Promise<{ exitCode: number; bytes: number }> {
  let n = 0;
  let bytes = 0;
  const stdout = new Writable({
    write(chunk: Buffer, _enc, done) {
      bytes += chunk.length;
      if (onWrite(chunk, n++) === 'epipe') return done(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
      done();
    },
  });
  const stdin = new PassThrough();
  stdin.end();
  const exitCode = await main(argv, {
    streams: { stdin, stdout, stderr: new PassThrough().resume(), stdinIsTTY: false, stdoutIsTTY: false, stderrIsTTY: false },
    env: { ...w.env, ...(now ? { PORTALCTL_NOW: now } : {}) },
  });
  return { exitCode, bytes };
}

describe('outbox list streams the queue', () => {
  it(`prints its first lines after reading one batch of ${PEOPLE}, and stops reading when the reader goes away`, async () => {
    let pulled = 0;
    const original = SqliteStore.prototype.listPending;
    SqliteStore.prototype.listPending = function (this: SqliteStore, q) {
      const inner = original.call(this, q);
      return (async function* () {
        for await (const batch of inner) {
          pulled++;
          yield batch;
        }
      })();
    };
    try {
      let pulledAtFirstWrite = -1;
      const r = await runWithStdout(['outbox', 'list'], (_chunk, n) => {
        if (n === 0) pulledAtFirstWrite = pulled;
        return 'epipe'; // `| head -1`
      });
      expect(r.exitCode).toBe(0);
      expect(pulledAtFirstWrite).toBe(1);
      expect(pulled).toBeLessThanOrEqual(2);
      // The whole queue is still there for whoever reads it all.
      expect((await w.json(['outbox', 'list'])).messages).toHaveLength(PEOPLE);
    } finally {
      SqliteStore.prototype.listPending = original;
    }
  });
});

describe('prune works in batches', () => {
  it(`removes ${PEOPLE} users a batch per transaction: its first output comes while most are still there, and another connection can take the write lock between batches`, async () => {
    const later = at(31);
    const seen: { remaining: number; lockFree: boolean }[] = [];
    const r = await runWithStdout(
      ['--json', 'prune', '--yes'],
      () => {
        const other = new Database(w.db, { timeout: 0 });
        try {
          const remaining = (other.prepare('SELECT count(*) AS n FROM users').get() as { n: number }).n;
          let lockFree = true;
          try {
            other.exec('BEGIN IMMEDIATE');
            other.exec('ROLLBACK');
          } catch {
            lockFree = false;
          }
          seen.push({ remaining, lockFree });
        } finally {
          other.close();
        }
        return 'ok';
      },
      later,
    );
    expect(r.exitCode).toBe(0);
    expect(seen.length).toBeGreaterThan(2);
    // The first output is written after the first batch, not after the last.
    expect(seen[0]!.remaining).toBeGreaterThan(0);
    expect(seen[0]!.remaining).toBeLessThan(PEOPLE);
    // Between batches the write lock is free: a Step 2 link would go through.
    expect(seen.every((s) => s.lockFree)).toBe(true);
    expect((await w.json(['users', 'list'], { now: later })).users).toEqual([]);
  });
});
