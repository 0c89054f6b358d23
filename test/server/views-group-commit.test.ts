// Page views under group commit (src/domain/group-commit.ts): concurrent GETs
// of a Step 2 page share transactions, yet every answered view is recorded
// exactly once — a link_views row and a link_viewed event each — on both stores.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GroupCommit } from '../../src/domain/group-commit.js';
import { buildServer } from '../../src/server/app.js';
import type { Store } from '../../src/store/types.js';
import { GRANTS, T0, world, type World } from '../helpers/run.js';
import { newStore, STORE_KINDS, type TestStore } from '../helpers/stores.js';

function tokenIn(dir: string): string {
  for (const f of readdirSync(dir).filter((f) => f.endsWith('.eml'))) {
    const m = /token=([A-Za-z0-9_-]{27})/.exec(
      readFileSync(join(dir, f), 'utf8')
        .replace(/=\r?\n/g, '')
        .replace(/=3D/g, '='),
    );
    if (m) return m[1]!;
  }
  throw new Error(`no token in ${dir}`);
}

const quiet = new Writable({ write: (_c, _e, done) => done() });

describe.each(STORE_KINDS)('on %s', (kind) => {
  let ts: TestStore;
  let w: World;
  let store: Store;
  let token: string;
  beforeAll(async () => {
    ts = await newStore(kind, { bare: true });
    w = world(ts.env);
    expect((await w.run(GRANTS)).exitCode).toBe(0);
    const inv = await w.run(['users', 'invite', '--email', 'ann@example.org', '--first-name', 'Ann', '--last-name', 'Lee']);
    expect(inv.exitCode, inv.stderr).toBe(0);
    token = tokenIn(kind === 'sqlite' ? join(ts.location, '..', 'mail') : join(w.dir, 'data', 'portalctl', 'mail'));
    store = await ts.open(false);
  }, 60_000);
  afterAll(async () => {
    await store?.close();
    w.close();
    await ts.cleanup();
  }, 60_000);

  it('50 concurrent page views: 50 answers, exactly 50 link_views rows and 50 link_viewed events, one per client', async () => {
    const app = await buildServer({ store, clock: () => new Date(T0), zone: 'UTC', actor: 'serve', services: {}, apiTokens: [], log: quiet, expirySweepMs: 0 });
    try {
      const before = await store.read((tx) => tx.events.last());
      const answers = await Promise.all(
        Array.from({ length: 50 }, (_, i) => app.inject({ method: 'GET', url: `/register/link?token=${token}`, remoteAddress: `192.0.2.${i + 1}` })),
      );
      expect(answers.map((a) => a.statusCode)).toEqual(Array(50).fill(200));
      const user = (await store.read((tx) => tx.users.byEmail(1, 'ann@example.org')))!;
      const rows = await store.read((tx) => tx.linkViews.ofUser(user.id));
      expect(rows).toHaveLength(50);
      expect(new Set(rows.map((r) => r.clientAddress)).size).toBe(50);
      const events = await store.read((tx) => tx.events.since(before, 1000));
      expect(events.filter((e) => e.type === 'link_viewed')).toHaveLength(50);
      expect(new Set(events.map((e) => (e.data as { clientAddress: string }).clientAddress)).size).toBe(50);
    } finally {
      await app.close();
    }
  });
});

describe('GroupCommit', () => {
  it('gathers concurrent items into few writes, each item once, and a failing item fails only its own caller', async () => {
    const writes: number[][] = [];
    const gc = new GroupCommit<number>(async (items) => {
      if (items.includes(7)) throw new Error('seven');
      writes.push(items);
    }, 10);
    const results = await Promise.allSettled(Array.from({ length: 25 }, (_, i) => gc.add(i)));
    expect(results.filter((r) => r.status === 'rejected')).toHaveLength(1);
    expect((results[7] as PromiseRejectedResult).reason.message).toBe('seven');
    expect(writes.flat().sort((a, b) => a - b)).toEqual(Array.from({ length: 25 }, (_, i) => i).filter((i) => i !== 7));
    expect(writes.filter((b) => b.length > 1).length).toBeGreaterThan(0);
    await gc.idle();
  });
});
