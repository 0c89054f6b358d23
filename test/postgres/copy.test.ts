// `portalctl store copy --to`, through the real command: SQLite → PostgreSQL
// and back, links sent before the move still work after it, ids go on where
// the source left off, and a target that holds anything is refused.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharedPostgres, type PgServer } from '../helpers/postgres.js';
import { at, GRANTS, world, type World } from '../helpers/run.js';

function linkFor(dir: string, to: string): string {
  for (const f of readdirSync(dir)
    .filter((x) => x.endsWith('.eml'))
    .sort()
    .reverse()) {
    const raw = readFileSync(join(dir, f), 'utf8')
      .replace(/=\r?\n/g, '')
      .replace(/=3D/g, '=');
    if (!raw.includes(`To: ${to}`)) continue;
    const m = /(https:\/\/[^\s"<>]*\/register\/link\?token=[A-Za-z0-9_-]+)/.exec(raw);
    if (m) return m[1]!;
  }
  throw new Error(`no email to ${to}`);
}

describe('store copy', () => {
  let pgs: PgServer;
  let w: World;
  beforeAll(async () => {
    pgs = await sharedPostgres();
    w = world({ PGPASSWORD: pgs.password });
  });
  afterAll(() => w.close());

  it('SQLite → PostgreSQL → SQLite: every record, links keep working, ids never reused, non-empty targets refused', async () => {
    expect((await w.run(GRANTS)).exitCode).toBe(0);
    for (const e of ['a@copy.example.org', 'b@copy.example.org']) await w.json(['users', 'invite', '--email', e, '--first-name', 'C', '--last-name', 'Opy']);
    // Invited 40 days ago and never linked: prune removes them, and their id must never come back.
    const gone = (await w.json(['users', 'invite', '--email', 'gone@copy.example.org', '--first-name', 'G', '--last-name', 'One'], { now: at(-40) })).users[0]
      .id;
    expect((await w.json(['prune', '--yes'])).removed.map((u: { id: number }) => u.id)).toEqual([gone]);
    const linkA = linkFor(w.mailDir, 'a@copy.example.org');
    const linkB = linkFor(w.mailDir, 'b@copy.example.org');
    await w.json(['link', linkA, '--service', 'nih', '--account', 'ca'], { now: at(1) });

    const url = await pgs.createDatabase();
    const copied = await w.json(['store', 'copy', '--to', url]);
    expect(copied).toMatchObject({ to: url, verified: true, tables: { portals: 1, users: 2, registrations: 2 } });
    expect(copied.tables.audit).toBeGreaterThan(0);
    expect(copied.tables.events).toBeGreaterThan(0);
    expect(copied.tables.link_tokens).toBe(2);
    // Analysed at once: the first commands on the new store are planned with statistics.
    const unanalysed = await pgs.sql<{ relname: string }>(
      new URL(url).pathname.slice(1),
      `SELECT relname FROM pg_stat_user_tables WHERE relname IN ('users', 'registrations', 'link_tokens', 'audit') AND last_analyze IS NULL`,
    );
    expect(unanalysed).toEqual([]);

    // The same answers from the new store.
    const onPg = { PORTALCTL_DB: url };
    const before = await w.json(['users', 'list'], { now: at(1) });
    expect(await w.json(['users', 'list'], { now: at(1), env: onPg })).toEqual(before);
    expect(await w.json(['audit'], { env: onPg })).toEqual(await w.json(['audit']));

    // A link emailed before the move works after it; the used one stays used.
    const b = await w.json(['link', linkB, '--service', 'ims', '--account', 'cb'], { now: at(2), env: onPg });
    expect(b.users[0]).toMatchObject({ email: 'b@copy.example.org', status: 'linked' });
    const again = await w.run(['--json', 'link', linkA, '--service', 'ims', '--account', 'other'], { now: at(2), env: onPg });
    expect(JSON.parse(again.stderr).error.code).toBe('link_used');

    // Ids go on past the removed user's.
    const next = await w.json(['users', 'invite', '--email', 'next@copy.example.org', '--first-name', 'N', '--last-name', 'X'], { env: onPg });
    expect(next.users[0].id).toBeGreaterThan(gone);

    // A target that holds anything is refused, and nothing changes.
    const refused = await w.run(['--json', 'store', 'copy', '--to', url]);
    expect(refused.exitCode).toBe(1);
    expect(JSON.parse(refused.stderr).error.code).toBe('store_not_empty');

    // And back to a new SQLite file.
    const back = join(w.dir, 'back', 'portalctl.db');
    const home = await w.json(['store', 'copy', '--to', back], { env: onPg });
    expect(home.tables.users).toBe(3);
    const onFile = { PORTALCTL_DB: back };
    expect(await w.json(['users', 'list'], { now: at(2), env: onFile })).toEqual(await w.json(['users', 'list'], { now: at(2), env: onPg }));
    const last = await w.json(['users', 'invite', '--email', 'last@copy.example.org', '--first-name', 'L', '--last-name', 'X'], { env: onFile });
    expect(last.users[0].id).toBeGreaterThan(next.users[0].id);
    expect((await w.run(['store', 'copy', '--to', back], { env: onPg })).exitCode).toBe(1);
    expect((await w.run(['store', 'copy', '--to', url], { env: onPg })).exitCode).toBe(2); // the store itself
  });

  it('a target database that does not exist is store_missing (portalctl never creates databases)', async () => {
    const r = await w.run(['--json', 'store', 'copy', '--to', pgs.url('no_such_database')]);
    expect(r.exitCode).toBe(2);
    expect(JSON.parse(r.stderr).error.code).toBe('store_missing');
  });
});
