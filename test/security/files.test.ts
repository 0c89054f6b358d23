// Issue 14: files given to portalctl that are not what they claim. The CSV
// cap is checked before reading (Medium): /dev/zero, FIFOs, folders and a
// sparse 1 GB file are refused at once, without reading them; the same for
// PORTALCTL_CONFIG. The list of bad CSV lines prints one per line (Low).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GRANTS, world, type World } from '../helpers/run.js';
import { fingerprint } from './fixtures.js';

let w: World;
let fifo: string;
let sparse: string;
let folder: string;
beforeAll(async () => {
  w = world();
  expect((await w.run(GRANTS)).exitCode).toBe(0);
  fifo = join(w.dir, 'people.fifo');
  execFileSync('mkfifo', [fifo]);
  sparse = join(w.dir, 'sparse.csv');
  execFileSync('truncate', ['-s', '1G', sparse]);
  folder = join(w.dir, 'folder.csv');
  mkdirSync(folder);
});
afterAll(() => w.close());

/** Runs fn and reports how long it took and how much the heap grew. */
async function measured<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number; grewMb: number }> {
  const heap = process.memoryUsage().rss;
  const started = Date.now();
  const value = await fn();
  return { value, ms: Date.now() - started, grewMb: (process.memoryUsage().rss - heap) / 1024 / 1024 };
}

describe('users invite --from-csv with something that is not a CSV file', () => {
  const cases: [string, () => string, RegExp][] = [
    ['/dev/zero', () => '/dev/zero', /not a regular file/],
    ['/dev/urandom', () => '/dev/urandom', /not a regular file/],
    ['a FIFO (opening it would block, reading it never end)', () => fifo, /not a regular file/],
    ['a folder', () => folder, /not a regular file/],
    ['a sparse 1 GB file', () => sparse, /larger than 50 MB/],
  ];
  it.each(cases)('%s: exit 2 at once, nothing read, nobody invited', async (_name, path, why) => {
    const before = fingerprint(path());
    const { value: r, ms, grewMb } = await measured(() => w.run(['--json', 'users', 'invite', '--from-csv', path(), '--yes']));
    expect(r.exitCode, r.stderr).toBe(2);
    const error = JSON.parse(r.stderr).error;
    expect(error.code).toBe('invalid_csv');
    expect(error.message).toMatch(why);
    expect(error.message).toMatch(/nobody was invited/);
    expect(ms).toBeLessThan(10_000);
    expect(grewMb).toBeLessThan(100);
    expect(fingerprint(path())).toEqual(before);
    expect((await w.json(['users', 'list'])).users).toEqual([]);
  });

  it('a file just over 50 MB of real rows: refused from its size, before a row is parsed', async () => {
    const big = join(w.dir, 'big.csv');
    const row = 'someone@example.org,Some,One\n';
    writeFileSync(big, `email,first_name,last_name\n${row.repeat(Math.ceil((50 * 1024 * 1024) / row.length) + 10)}`);
    const { value: r, ms } = await measured(() => w.run(['--json', 'users', 'invite', '--from-csv', big, '--yes']));
    expect(r.exitCode).toBe(2);
    expect(JSON.parse(r.stderr).error.message).toMatch(/larger than 50 MB/);
    expect(ms).toBeLessThan(10_000);
  });
});

describe('PORTALCTL_CONFIG pointing at something that is not a config file', () => {
  const cases: [string, () => string][] = [
    ['/dev/zero', () => '/dev/zero'],
    ['a FIFO', () => fifo],
    ['a folder', () => folder],
    ['a sparse 1 GB file', () => sparse],
  ];
  it.each(cases)('%s: exit 2 at once, for any command, nothing read', async (_name, path) => {
    for (const argv of [['users', 'list'], ['config'], ['doctor']]) {
      const { value: r, ms, grewMb } = await measured(() => w.run(['--json', ...argv], { env: { PORTALCTL_CONFIG: path() } }));
      expect(r.exitCode, `${argv.join(' ')}: ${r.stderr}`).toBe(2);
      expect(JSON.parse(r.stderr).error.code).toBe('invalid_config');
      expect(ms).toBeLessThan(10_000);
      expect(grewMb).toBeLessThan(100);
    }
  });
});

describe('the list of bad CSV lines', () => {
  it('prints one bad line per line of stderr, never a literal \\x0A', async () => {
    const csv = join(w.dir, 'bad.csv');
    writeFileSync(csv, 'email,first_name,last_name\nnot-an-address,A,B\nok@example.org,,C\n"two\nlines@example.org",D,E\n');
    const r = await w.run(['users', 'invite', '--from-csv', csv, '--yes']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr, r.stderr).not.toMatch(/\\x0A/);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines[0]).toMatch(/has 3 bad lines; nobody was invited/);
    expect(lines.filter((l) => /^ {2}line \d+: /.test(l))).toHaveLength(3);
    // A value with a line break inside it is shown escaped within its own line, not as a new line.
    expect(r.stderr, r.stderr).toMatch(/ {2}line \d+: Invalid email address "two\\nlines@example\.org"/);
  });
});
