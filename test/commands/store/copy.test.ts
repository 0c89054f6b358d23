// `portalctl store copy`: parse. Copies between stores are in
// test/postgres/copy.test.ts and test/store/.

import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from '../../../src/commands/store/copy.js';
import { codeOf, rawInput } from '../../helpers/run.js';

describe('parse', () => {
  it('takes a PostgreSQL URL as given, and a SQLite path made absolute', () => {
    expect(parse(rawInput([], { to: 'postgres://portalctl@db.example.org/portalctl' }))).toEqual({ to: 'postgres://portalctl@db.example.org/portalctl' });
    expect(parse(rawInput([], { to: 'copy.db' }))).toEqual({ to: resolve('copy.db') });
  });

  it('a URL pasted with spaces around it is the URL, not a SQLite file named after it', () => {
    expect(parse(rawInput([], { to: ' postgres://portalctl@db.example.org/portalctl\n' }))).toEqual({ to: 'postgres://portalctl@db.example.org/portalctl' });
  });

  it('refuses a missing or empty --to', async () => {
    expect(await codeOf(() => parse(rawInput()))).toBe('usage');
    expect(await codeOf(() => parse(rawInput([], { to: '  ' })))).toBe('usage');
  });
});
