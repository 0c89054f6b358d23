import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { toJson } from '../../src/output/json.js';

describe('JSON on stdout', () => {
  it('is the same data to any parser, with nothing a terminal would act on', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        const text = toJson({ s });
        expect(JSON.parse(text)).toEqual({ s });
        expect(text).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/);
      }),
    );
  });
});
