// The Users overview's cells (SPEC "The Users overview table").

import { describe, expect, it } from 'vitest';
import type { UserView } from '../../src/domain/users.js';
import { toUserView, userStatus } from '../../src/domain/users.js';
import { removalIn, USER_CSV_COLUMNS, userColumns, usernameCell } from '../../src/output/users.js';
import type { UserListing } from '../../src/store/types.js';

const NOW = new Date('2026-11-28T14:00:00Z');
const listing = (over: Partial<UserListing> = {}): UserListing => ({
  id: 1,
  portalId: 1,
  portal: 'grants',
  firstName: 'Jane',
  lastName: 'Doe',
  email: 'jane.doe@example.org',
  loginService: null,
  username: null,
  linkedAt: null,
  removalDueAt: '2026-12-28T14:00:00.000Z',
  createdAt: '2026-11-28T14:00:00.000Z',
  registrationExpiresAt: '2026-12-05T14:00:00.000Z',
  ...over,
});
const view = (over: Partial<UserListing> = {}): UserView => toUserView(listing(over), NOW.toISOString());

describe('the Users overview', () => {
  it('has the columns of SPEC, in order', () => {
    expect(userColumns(NOW).map((c) => c.header)).toEqual(['ID', 'Name', 'Email', 'Username/ID (Login Service)', 'Status', 'Link expires', 'Removal in']);
  });

  it('a linked user reads "jdoe (NIH Network Login)"; the Name cell holds the name only', () => {
    const u = view({ loginService: 'nih', username: 'jdoe', linkedAt: NOW.toISOString(), removalDueAt: null });
    expect(usernameCell(u)).toBe('jdoe (NIH Network Login)');
    expect(userColumns(NOW)[1]!.value(u)).toBe('Jane Doe');
    expect(u).toMatchObject({ status: 'linked', loginServiceName: 'NIH Network Login', removalDueAt: null });
    expect(removalIn(u, NOW)).toBe('');
  });

  it('an unlinked user reads "(This account is not linked)..." (the FAQ), with the Name cell holding the name only', () => {
    const u = view();
    expect(usernameCell(u)).toBe('(This account is not linked)...');
    expect(userColumns(NOW)[1]!.value(u)).toBe('Jane Doe');
  });

  it('status: linked, pending while the link is valid, expired after', () => {
    expect(userStatus(listing(), NOW.toISOString())).toBe('pending');
    expect(userStatus(listing(), '2026-12-05T14:00:00.000Z')).toBe('expired');
    expect(userStatus(listing({ registrationExpiresAt: null }), NOW.toISOString())).toBe('expired');
    expect(userStatus(listing({ loginService: 'ims', username: 'x' }), '2027-01-01T00:00:00.000Z')).toBe('linked');
  });

  it('"Removal in" counts whole days, rounded up, and says "due now" once the date has passed', () => {
    expect(removalIn(view(), NOW)).toBe('30 days');
    expect(removalIn(view({ removalDueAt: '2026-11-29T13:00:00.000Z' }), NOW)).toBe('1 day');
    expect(removalIn(view({ removalDueAt: '2026-11-28T14:00:00.000Z' }), NOW)).toBe('due now');
  });

  it('"Link expires" is empty for a linked user', () => {
    const expires = userColumns(NOW)[5]!;
    expect(expires.value(view())).toBe('2026-12-05T14:00:00.000Z');
    expect(expires.value(view({ loginService: 'nih', username: 'j' }))).toBeNull();
  });

  it('CSV has plain fields: the service key, the username, ISO times', () => {
    const u = view({ loginService: 'ims-employee', username: 'jd', removalDueAt: null, linkedAt: NOW.toISOString() });
    expect(Object.fromEntries(USER_CSV_COLUMNS.map(([h, f]) => [h, f(u)]))).toEqual({
      id: 1,
      first_name: 'Jane',
      last_name: 'Doe',
      email: 'jane.doe@example.org',
      login_service: 'ims-employee',
      username: 'jd',
      status: 'linked',
      registration_expires_at: '2026-12-05T14:00:00.000Z',
      removal_due_at: null,
      linked_at: '2026-11-28T14:00:00.000Z',
      created_at: '2026-11-28T14:00:00.000Z',
    });
  });
});
