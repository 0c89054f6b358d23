// `portalctl remind`: parse. What it sends, when, and to whom is in
// test/lifecycle/remind.test.ts.

import { describe, expect, it } from 'vitest';
import { parse } from '../../src/commands/remind.js';
import { rawInput } from '../helpers/run.js';

describe('parse', () => {
  it('takes --dry-run only', () => {
    expect(parse(rawInput())).toEqual({ dryRun: false });
    expect(parse(rawInput([], { dryRun: true }))).toEqual({ dryRun: true });
  });
});
