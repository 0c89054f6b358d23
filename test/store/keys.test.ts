import { describe, expect, it } from 'vitest';
import { accountKey, emailKey, foldKey, searchKey } from '../../src/store/keys.js';

describe('the one case rule of the store', () => {
  it('folds Unicode case, not only ASCII: MÜLLER is müller, STRASSE is Straße', () => {
    expect(foldKey('MÜLLER')).toBe(foldKey('müller'));
    expect(accountKey('STRASSE')).toBe(accountKey('Straße'));
    expect(foldKey('ÖLAF')).toBe('ölaf');
    // The capital sharp s too: STRAẞE, Straße and STRASSE are one account.
    expect(accountKey('STRAẞE')).toBe(accountKey('Straße'));
    expect(accountKey('STRAẞE')).toBe('strasse');
    expect(emailKey('Jane.Doe@Example.ORG')).toBe('jane.doe@example.org');
  });

  it('treats composed and decomposed letters alike', () => {
    expect(foldKey('Zoe\u0308')).toBe(foldKey('Zoë'));
  });

  it('keeps different letters apart', () => {
    expect(accountKey('jdoe')).not.toBe(accountKey('jdoe2'));
    expect(emailKey('ann@example.org')).not.toBe(emailKey('anne@example.org'));
  });

  it('searches the name, the address and the username', () => {
    const key = searchKey({ firstName: 'Jürgen', lastName: 'Müller', email: 'jm@example.org', username: 'JMUE' });
    for (const part of ['jürgen müller', 'MÜLLER', 'jm@example', 'jmue']) expect(key).toContain(foldKey(part));
  });
});
