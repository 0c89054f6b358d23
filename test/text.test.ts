import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  anyOf,
  BIDI_CONTROL,
  CONTROL,
  escapeHtml,
  hasVisibleCharacter,
  INVISIBLE,
  LINE_SEPARATOR,
  neutralize,
  neutralizeData,
  plural,
  quote,
} from '../src/text.js';

describe('untrusted text', () => {
  it('neutralize() never lets an escape, C1 control, line separator or bidi control through to a terminal', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        expect(neutralize(s)).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\u2028\u2029\u200e\u200f\u061c]/);
      }),
    );
  });

  it('shows what it neutralised as visible escapes, and leaves other text alone', () => {
    expect(neutralize('Ja\u001b]0;pwned\u0007ne D\u202eoe')).toBe('Ja\\x1B]0;pwned\\x07ne D\\u202Eoe');
    expect(neutralize('Zoë 李 👩‍🔬')).toBe('Zoë 李 👩‍🔬');
    // What draws nothing inside a name, so that look-alikes can be told apart on a terminal.
    expect(neutralize('Ev\u200bil Ev\u2060il Ev\ufeffil Ev\u00adil Ev\u{e0041}il')).toBe('Ev\\u200Bil Ev\\u2060il Ev\\uFEFFil Ev\\xADil Ev\\uE0041il');
    // Joiners stay: Persian and Indic names and emoji sequences need them.
    expect(neutralize('می\u200cخواهم')).toBe('می\u200cخواهم');
  });

  it('quote() JSON-quotes, neutralises and shortens a value named in a message', () => {
    expect(quote('a"b')).toBe('"a\\"b"');
    expect(quote('x\u009b2J')).toBe('"x\\x9B2J"');
    expect(quote('abcdef', 3)).toBe('"abc…"');
  });

  it('neutralizeData() lets no control through either, and keeps direction marks', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        expect(neutralizeData(s)).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\u2028\u2029]/);
      }),
    );
    expect(neutralizeData('\u200fשלום\u001b')).toBe('\u200fשלום\\x1B');
  });

  it('escapeHtml() makes markup text', () => {
    expect(escapeHtml(`<b a="1">'&'</b>`)).toBe('&lt;b a=&quot;1&quot;&gt;&#39;&amp;&#39;&lt;/b&gt;');
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        const html = escapeHtml(s);
        expect(html).not.toMatch(/[<>"']/);
        expect(html.replace(/&(lt|gt|quot|#39|amp);/g, (_, e: string) => ({ lt: '<', gt: '>', quot: '"', '#39': "'", amp: '&' })[e]!)).toBe(s);
      }),
    );
  });

  it('knows when nothing would be seen', () => {
    expect(hasVisibleCharacter('\u200b \u200f\u0301')).toBe(false);
    expect(hasVisibleCharacter('\u200bx')).toBe(true);
  });

  it('plural()', () => {
    expect(plural(1, 'user')).toBe('1 user');
    expect(plural(2, 'person', 'people')).toBe('2 people');
  });
});

describe('anyOf', () => {
  it('matches a character of any class given, and of no other', () => {
    const linkUnsafe = anyOf('', CONTROL, BIDI_CONTROL);
    for (const c of ['\u0000', '\u001b', '\u009b', '\u202e', '\u2066']) expect(linkUnsafe.test(`a${c}b`), JSON.stringify(c)).toBe(true);
    for (const c of ['a', 'é', '\u2028', '\u200e']) expect(linkUnsafe.test(c), JSON.stringify(c)).toBe(false);
  });

  it('keeps the unicode flag a class needs (tag characters are astral)', () => {
    const re = anyOf('g', LINE_SEPARATOR, INVISIBLE);
    expect(re.flags).toBe('gu');
    expect('x\u{e0041}y\u2028z'.replace(re, '')).toBe('xyz');
  });
});
