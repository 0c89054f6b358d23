// The event log's cursor on PostgreSQL (SPEC "Events": `id` is the cursor).
// Ids come from a sequence, and two transactions can commit in the other
// order than they took their ids: a reader that saw id 2 before id 1 was
// committed would move its cursor past 1 and never see it (nor would a
// webhook's queue). The store appends events under a lock held to COMMIT, so
// ids become visible in increasing order. (SQLite has one writer at a time.)

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NewEvent, Store } from '../../src/store/types.js';
import { newStore, type TestStore } from '../helpers/stores.js';

const event = (n: number): NewEvent => ({ at: '2026-11-28T14:00:00.000Z', type: 'invited', portal: 'grants', userId: n, email: null, data: { n } });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('on postgres: event ids become visible in increasing order', () => {
  let ts: TestStore;
  const stores: Store[] = [];
  beforeAll(async () => {
    ts = await newStore('postgres');
  }, 60_000);
  afterAll(async () => {
    for (const s of stores) await s.close();
    await ts?.cleanup();
  }, 60_000);

  it('a transaction that appends after another one that is still open waits for it: a reader never sees the later id first', async () => {
    const [first, second, reader] = await Promise.all([ts.open(false), ts.open(false), ts.open(false)]);
    stores.push(first!, second!, reader!);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let appended!: () => void;
    const firstAppended = new Promise<void>((r) => (appended = r));

    const one = first!.write(async (tx) => {
      await tx.events.append(event(1));
      await tx.events.last(); // the buffered insert goes out before this statement
      appended();
      await gate;
    });
    await firstAppended;
    let twoCommitted = false;
    const two = second!.write((tx) => tx.events.append(event(2))).then(() => (twoCommitted = true));
    await sleep(500);
    // While the first is open, the second has not committed, and a reader sees neither.
    expect(twoCommitted).toBe(false);
    expect(await reader!.read((tx) => tx.events.since(0, 10))).toEqual([]);

    release();
    await Promise.all([one, two]);
    const seen = await reader!.read((tx) => tx.events.since(0, 10));
    expect(seen.map((e) => e.data.n)).toEqual([1, 2]);
    expect(seen[0]!.id).toBeLessThan(seen[1]!.id);
  });
});
