// `portalctl events`: parse. What the command shows and follows is in
// test/lifecycle/events.test.ts; webhook retries in test/lifecycle/webhooks.test.ts.

import { describe, expect, it } from 'vitest';
import { parse } from '../../src/commands/events.js';
import { codeOf, rawInput } from '../helpers/run.js';

describe('parse', () => {
  it('reads the cursor, the event types and the flags', () => {
    expect(parse(rawInput())).toEqual({ since: 0, follow: false, types: undefined, retryDead: false });
    expect(parse(rawInput([], { since: '42', follow: true, type: ' Linked, expired ,linked' }))).toEqual({
      since: 42,
      follow: true,
      types: ['linked', 'expired'],
      retryDead: false,
    });
    expect(parse(rawInput([], { retryDead: true }))).toMatchObject({ retryDead: true });
  });

  it('refuses a cursor that is not an event id, an unknown or empty type, and --retry-dead with anything else', async () => {
    for (const since of ['-1', 'yesterday', '1.5', '']) expect(await codeOf(() => parse(rawInput([], { since })))).not.toBe('ok');
    expect(await codeOf(() => parse(rawInput([], { type: 'linked,bogus' })))).toBe('invalid_type');
    expect(await codeOf(() => parse(rawInput([], { type: ' , ' })))).toBe('invalid_type');
    for (const other of [{ follow: true }, { since: '3' }, { type: 'linked' }])
      expect(await codeOf(() => parse(rawInput([], { retryDead: true, ...other })))).toBe('usage');
  });
});
