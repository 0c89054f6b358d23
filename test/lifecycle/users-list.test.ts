// `users list --sort` and `--csv`: the order of each sort, and CSV that a
// spreadsheet (here: csv-parse, an independent RFC 4180 parser) reads back
// to the very values stored — commas, quotes and line breaks included — with
// formulas defused.

import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'csv-parse/sync';
import { readdirSync, readFileSync } from 'node:fs';
import { at, GRANTS, world, type World } from '../helpers/run.js';
import { storeSql } from '../helpers/sql.js';

const worlds: World[] = [];
afterEach(() => {
  for (const w of worlds.splice(0)) w.close();
});

async function people(): Promise<World> {
  const w = world();
  worlds.push(w);
  expect((await w.run(GRANTS)).exitCode).toBe(0);
  const invite = async (email: string, first: string, last: string, now: string) => {
    const r = await w.run(['users', 'invite', '--email', email, '--first-name', first, '--last-name', last], { now });
    expect(r.exitCode, r.stderr).toBe(0);
  };
  await invite('zoe@example.org', 'Zoë', 'Abbott', at(0)); // 1
  await invite('Carl@Example.org', 'Carl', "O'Brien, Jr.", at(1)); // 2
  await invite('ann@example.org', 'Ann "Nan"', 'Zimmer', at(2)); // 3
  await invite('bea@example.org', '=1+2', 'bé', at(3)); // 4
  await invite('dan@example.org', '+CMD', '-2', at(4)); // 5
  await invite('eve@example.org', '@SUM(1)', 'Éclair', at(5)); // 6
  // User 3 links; user 2's removal countdown is restarted short.
  const link = await w.run(['link', '-', '--service', 'nih', '--account', 'ann'], { now: at(6), input: linkOf(w, 3) });
  expect(link.exitCode, link.stderr).toBe(0);
  expect((await w.run(['users', 'set-removal-days', '2', '1'], { now: at(6) })).exitCode).toBe(0);
  return w;
}

/** The Step 2 link of a user, from the .eml file the mailer wrote (no SMTP server here). */
function linkOf(w: World, userId: number): string {
  const file = readdirSync(w.mailDir).find((f) => f.includes(`-user${userId}-`))!;
  const raw = readFileSync(`${w.mailDir}/${file}`, 'utf8')
    .replace(/=\r?\n/g, '')
    .replace(/=3D/g, '=');
  return /https:\/\/\S+\?token=[A-Za-z0-9_-]+/.exec(raw)![0];
}

const order = async (w: World, sort: string) => (await w.json(['users', 'list', '--sort', sort], { now: at(6) })).users.map((u: any) => u.id);

describe('users list --sort', () => {
  it('orders by id, name (last, first; any case and accent), email, status, link expiry and removal date', async () => {
    const w = await people();
    expect(await order(w, 'id')).toEqual([1, 2, 3, 4, 5, 6]);
    // -2, Abbott, bé, Éclair, O'Brien, Zimmer
    expect(await order(w, 'name')).toEqual([5, 1, 4, 6, 2, 3]);
    // ann, bea, Carl, dan, eve, zoe
    expect(await order(w, 'email')).toEqual([3, 4, 2, 5, 6, 1]);
    // linked, then pending (links of days 0–5 expire on days 7–12: all valid on day 6), by id
    expect(await order(w, 'status')).toEqual([3, 1, 2, 4, 5, 6]);
    expect((await w.json(['users', 'list', '--sort', 'status'], { now: at(8.5) })).users.map((u: any) => [u.id, u.status])).toEqual([
      [3, 'linked'],
      [4, 'pending'],
      [5, 'pending'],
      [6, 'pending'],
      [1, 'expired'],
      [2, 'expired'],
    ]);
    // soonest expiry first; the linked user (no active link) last
    expect(await order(w, 'expires')).toEqual([1, 2, 4, 5, 6, 3]);
    // user 2's removal is tomorrow; the others 30 days after their invitation; linked last
    expect(await order(w, 'removal')).toEqual([2, 1, 4, 5, 6, 3]);
    const bad = await w.run(['users', 'list', '--sort', 'age']);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('id, name, email, status, expires, removal');
  });
});

describe('users list --csv', () => {
  it('is RFC 4180 that a CSV parser reads back to the stored values: commas, quotes, line breaks; formulas defused; ISO times', async () => {
    const w = await people();
    // A name with a line break, as an older version or an import may have stored it.
    await storeSql(w, "UPDATE users SET last_name = 'Abbott\nSmith' WHERE id = 1");

    const r = await w.run(['users', 'list', '--csv', '--sort', 'id'], { now: at(6) });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout.endsWith('\r\n')).toBe(true);
    expect(r.stdout.split('\r\n')[0]).toBe(
      'id,first_name,last_name,email,login_service,username,status,registration_expires_at,removal_due_at,linked_at,created_at',
    );
    const records: Record<string, string>[] = parse(r.stdout, { columns: true, bom: false, relax_quotes: false });
    const json = (await w.json(['users', 'list', '--sort', 'id'], { now: at(6) })).users;
    json[0].lastName = 'Abbott\nSmith';
    expect(records).toHaveLength(6);
    const defused = (v: string) => (/^[=+\-@]/.test(v) ? `'${v}` : v);
    records.forEach((rec, i) => {
      const u = json[i];
      expect(rec).toEqual({
        id: String(u.id),
        first_name: defused(u.firstName),
        last_name: defused(u.lastName),
        email: u.email,
        login_service: u.loginService ?? '',
        username: u.username ?? '',
        status: u.status,
        registration_expires_at: u.registrationExpiresAt ?? '',
        removal_due_at: u.removalDueAt ?? '',
        linked_at: u.linkedAt ?? '',
        created_at: u.createdAt,
      });
    });
    expect(records[0]!.last_name).toBe('Abbott\nSmith');
    expect(records[1]!.last_name).toBe("O'Brien, Jr.");
    expect(records[2]).toMatchObject({ first_name: 'Ann "Nan"', login_service: 'nih', username: 'ann', status: 'linked', linked_at: at(6) });
    expect([records[3]!.first_name, records[4]!.first_name, records[4]!.last_name, records[5]!.first_name]).toEqual(["'=1+2", "'+CMD", "'-2", "'@SUM(1)"]);
    // The same on a terminal: CSV is for files and pipes, never a table.
    const tty = await w.run(['users', 'list', '--csv'], { now: at(6), tty: true });
    expect(tty.stdout).toBe(r.stdout);
  });
});
