// `portalctl users remove`: parse. What it removes, asks and records is in
// test/lifecycle/remove.test.ts.

import { describe, expect, it } from 'vitest';
import { parse } from '../../../src/commands/users/remove.js';
import { codeOf, rawInput } from '../../helpers/run.js';

describe('parse', () => {
  it('reads users (ids and addresses) or a status, and the flags', () => {
    expect(parse(rawInput([['7', ' Jane@Example.org ']]))).toEqual({
      users: [{ id: 7 }, { email: 'Jane@Example.org' }],
      status: undefined,
      includeLinked: false,
      dryRun: false,
    });
    expect(parse(rawInput([[]], { status: 'Expired', dryRun: true }))).toEqual({ users: [], status: 'expired', includeLinked: false, dryRun: true });
    expect(parse(rawInput([undefined], { status: 'linked', includeLinked: true }))).toMatchObject({ status: 'linked', includeLinked: true });
  });

  it('refuses users and --status together, neither, linked users without --include-linked, and what is not a user', async () => {
    expect(await codeOf(() => parse(rawInput([['1']], { status: 'pending' })))).toBe('usage');
    expect(await codeOf(() => parse(rawInput([[]])))).toBe('missing_value');
    expect(await codeOf(() => parse(rawInput([[]], { status: 'linked' })))).toBe('usage');
    expect(await codeOf(() => parse(rawInput([[]], { status: 'gone' })))).toBe('invalid_status');
    expect(await codeOf(() => parse(rawInput([['jane doe']])))).toBe('invalid_user');
  });
});
