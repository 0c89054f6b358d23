// The registration lifecycle (SPEC "Lifecycle rules") on a real SQLite store,
// with the emails written as .eml files and the clock moved by the test.

import { afterEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  invite,
  inviteMany,
  prune,
  redeemLink,
  resendRegistrations,
  setRemovalDays,
  type NewPerson,
  type RecordedRegistration,
} from '../../src/domain/lifecycle.js';
import type { ServiceKey } from '../../src/domain/services.js';
import type { PortalctlError } from '../../src/errors.js';
import type { UserListing } from '../../src/store/types.js';
import { inspect, storeWorld, tokenInEml, type StoreWorld } from '../helpers/store.js';

let w: StoreWorld;
afterEach(async () => {
  await w?.close();
});

const jane = { email: 'jane.doe@example.org', firstName: 'Jane', lastName: 'Doe' };
const bob = { email: 'bob@example.org', firstName: 'Bob', lastName: 'Roe' };

async function sent(recorded: RecordedRegistration): Promise<RecordedRegistration & { token: string }> {
  const [r] = await w.send([recorded]);
  expect(r!.state).toBe('sent');
  return { ...recorded, token: tokenInEml(r!.where!) };
}

const inviteAndSend = async (person: NewPerson = jane) => sent(await invite(w.store, w.portal, person, w.stamp()));
const resendAndSend = async (userId: number, email?: string) => sent((await resendRegistrations(w.store, w.portal, [userId], email, w.stamp()))[0]!);

async function linkCode(token: string, service: ServiceKey, account: string): Promise<string> {
  try {
    return (await redeemLink(w.store, { token, service, account, portalId: w.portal.id }, w.stamp())).outcome;
  } catch (err) {
    return (err as PortalctlError).code;
  }
}

const user = (id: number) => w.store.read((tx) => tx.users.listing(id));

async function pruneAll(dryRun = false): Promise<UserListing[]> {
  const out: UserListing[] = [];
  for await (const batch of prune(w.store, {}, w.stamp(), dryRun)) out.push(...batch);
  return out;
}

describe('the registration lifecycle', () => {
  it('links with a fresh link; the store holds only its digest', async () => {
    w = await storeWorld();
    const { token, userId } = await inviteAndSend();
    const digests = w.store.db.prepare('SELECT group_concat(hex(digest)) AS d FROM link_tokens').get() as { d: string };
    expect(digests.d).not.toContain(Buffer.from(token).toString('hex').toUpperCase());
    expect(await linkCode(token, 'nih', 'jdoe')).toBe('linked');
    expect(await user(userId)).toMatchObject({ loginService: 'nih', username: 'jdoe', removalDueAt: null, linkedAt: w.now.toISOString() });
  });

  it('expires after the link lifetime, to the second', async () => {
    w = await storeWorld();
    const { token } = await inviteAndSend();
    w.advance(7);
    expect(await linkCode(token, 'nih', 'jdoe')).toBe('link_expired');
    w.advance(-1 / 86400);
    expect(await linkCode(token, 'nih', 'jdoe')).toBe('linked');
  });

  it("follows the portal's link lifetime", async () => {
    w = await storeWorld({ linkDays: 14 });
    const { token } = await inviteAndSend();
    w.advance(13.9);
    expect(await linkCode(token, 'nih', 'jdoe')).toBe('linked');
  });

  it('Send New Registration supersedes every earlier link and keeps the removal date', async () => {
    w = await storeWorld();
    const first = await inviteAndSend();
    const dueBefore = (await user(first.userId))!.removalDueAt;
    w.advance(3);
    const second = await resendAndSend(first.userId);
    expect(await linkCode(first.token, 'nih', 'jdoe')).toBe('link_superseded');
    expect((await user(first.userId))!.removalDueAt).toBe(dueBefore);
    expect((await user(first.userId))!.registrationExpiresAt).toBe(new Date(w.now.getTime() + 7 * 86_400_000).toISOString());
    expect(await linkCode(second.token, 'nih', 'jdoe')).toBe('linked');
  });

  it('a used link answers link_used for another account and succeeds, unchanged, for the same one (any case)', async () => {
    w = await storeWorld();
    const { token } = await inviteAndSend();
    expect(await linkCode(token, 'nih', 'jdoe')).toBe('linked');
    expect(await linkCode(token, 'nih', 'JDOE')).toBe('unchanged');
    expect(await linkCode(token, 'ims', 'mallory')).toBe('link_used');
    expect(await linkCode(token, 'ims', 'jdoe')).toBe('link_used');
  });

  it('relinking replaces the account on the same user (switching login service)', async () => {
    w = await storeWorld();
    const a = await inviteAndSend();
    await linkCode(a.token, 'nih', 'jdoe');
    const [queued] = await resendRegistrations(w.store, w.portal, [a.userId], 'jane@new.example.org', w.stamp());
    // Still linked, and able to sign in, until the new link is used.
    expect((await user(a.userId))!.loginService).toBe('nih');
    const { token } = await sent(queued!);
    expect(await linkCode(token, 'ims', 'jane.d')).toBe('relinked');
    expect(await user(a.userId)).toMatchObject({ id: a.userId, loginService: 'ims', username: 'jane.d', email: 'jane@new.example.org' });
    // The first link, used by the old account, now says it was replaced.
    expect(await linkCode(a.token, 'nih', 'jdoe')).toBe('link_superseded');
  });

  it('one account links to one user per portal; the same username at another service is another account', async () => {
    w = await storeWorld();
    const a = await inviteAndSend();
    const b = await inviteAndSend(bob);
    expect(await linkCode(a.token, 'nih', 'jdoe')).toBe('linked');
    expect(await linkCode(b.token, 'nih', 'JDoe')).toBe('account_in_use');
    expect(await linkCode(b.token, 'ims', 'jdoe')).toBe('linked');
  });

  it('an address has one profile per portal, in any case', async () => {
    w = await storeWorld();
    await invite(w.store, w.portal, jane, w.stamp());
    await expect(invite(w.store, w.portal, { ...jane, email: 'JANE.DOE@EXAMPLE.ORG' }, w.stamp())).rejects.toMatchObject({
      code: 'already_registered',
      exitCode: 1,
      message: expect.stringContaining('portalctl users resend-registration 1'),
    });
  });

  it('a new address that belongs to another user is refused, and nothing changes', async () => {
    w = await storeWorld();
    const a = await inviteAndSend();
    await inviteAndSend(bob);
    await expect(resendRegistrations(w.store, w.portal, [a.userId], 'BOB@example.org', w.stamp())).rejects.toMatchObject({ code: 'email_in_use' });
    expect((await user(a.userId))!.email).toBe(jane.email);
    expect(await linkCode(a.token, 'nih', 'jdoe')).toBe('linked');
  });

  it('prune removes an unlinked user after the removal date, never a linked one, never with a live link', async () => {
    w = await storeWorld();
    const a = await inviteAndSend();
    const b = await inviteAndSend(bob);
    await linkCode(b.token, 'nih', 'bob');
    w.advance(29);
    expect(await pruneAll()).toHaveLength(0);
    // A registration re-sent on day 29 keeps the link alive past day 30.
    await resendAndSend(a.userId);
    w.advance(2);
    expect(await pruneAll()).toHaveLength(0);
    w.advance(6);
    expect((await pruneAll(true)).map((u) => u.id)).toEqual([a.userId]);
    expect((await pruneAll()).map((u) => u.id)).toEqual([a.userId]);
    expect(await user(a.userId)).toBeUndefined();
    expect(await user(b.userId)).toBeDefined();
    // The audit trail keeps the removed user.
    const actions = (w.store.db.prepare('SELECT action FROM audit WHERE user_id = ? ORDER BY id').all(a.userId) as { action: string }[]).map((x) => x.action);
    expect(actions).toEqual(['invite', 'resend-registration', 'prune']);
  });

  it('set-removal-days restarts the countdown, and is refused for a linked user', async () => {
    w = await storeWorld();
    const a = await inviteAndSend();
    w.advance(25);
    await setRemovalDays(w.store, w.portal, a.userId, 10, w.stamp());
    w.advance(9);
    expect(await pruneAll()).toHaveLength(0);
    w.advance(1);
    expect(await pruneAll()).toHaveLength(1);

    const b = await inviteAndSend(bob);
    await linkCode(b.token, 'nih', 'bob');
    await expect(setRemovalDays(w.store, w.portal, b.userId, 5, w.stamp())).rejects.toMatchObject({ code: 'user_linked' });
  });

  it('user ids are never reused, even after prune empties the store', async () => {
    w = await storeWorld();
    const a = await inviteAndSend();
    w.advance(40);
    expect(await pruneAll()).toHaveLength(1);
    expect(inspect(w.path).users).toBe(0);
    const b = await invite(w.store, w.portal, bob, w.stamp());
    expect(b.userId).toBeGreaterThan(a.userId);
    expect(b.registrationId).toBeGreaterThan(a.registrationId);
    expect(b.outboxId).toBeGreaterThan(a.outboxId);
  });

  it('a bulk invite records everyone in one transaction and skips addresses that already have a profile', async () => {
    w = await storeWorld();
    await invite(w.store, w.portal, jane, w.stamp());
    const bulk = await inviteMany(
      w.store,
      w.portal,
      [bob, { ...jane, email: 'Jane.Doe@example.org' }, { email: 'cy@example.org', firstName: 'Cy', lastName: 'Co' }],
      w.stamp(),
    );
    expect(bulk.invited.map((i) => i.email)).toEqual(['bob@example.org', 'cy@example.org']);
    expect(bulk.skipped).toEqual([{ email: 'Jane.Doe@example.org', userId: 1 }]);
    // Jane's first email never went out: a re-run sends it.
    expect(bulk.leftover).toHaveLength(1);
    expect(inspect(w.path)).toMatchObject({ users: 3, queued: 3, orphanUsers: 0, orphanRegs: 0 });
  });
});

// Random sequences of invite / resend / link / prune / clock moves, checking
// the invariants the whole design rests on.
describe('lifecycle invariants under random operation sequences', () => {
  type Op =
    | { op: 'invite'; who: number }
    | { op: 'resend'; who: number }
    | { op: 'link'; who: number; which: 'latest' | 'any'; pick: number; account: number }
    | { op: 'prune' }
    | { op: 'advance'; days: number };
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ op: fc.constant('invite' as const), who: fc.nat(4) }),
    fc.record({ op: fc.constant('resend' as const), who: fc.nat(4) }),
    fc.record({
      op: fc.constant('link' as const),
      who: fc.nat(4),
      which: fc.constantFrom('latest' as const, 'any' as const),
      pick: fc.nat(10),
      account: fc.nat(3),
    }),
    fc.record({ op: fc.constant('prune' as const) }),
    fc.record({ op: fc.constant('advance' as const), days: fc.double({ min: 0, max: 12, noNaN: true }) }),
  );

  it('hold: one active link per user; prune spares linked users and live links; a used link never links a second account', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 5, maxLength: 25 }), async (ops) => {
        w = await storeWorld();
        try {
          const tokens = new Map<number, string[]>(); // person -> tokens sent, oldest first
          const ids = new Map<number, number>(); // person -> user id
          const usedBy = new Map<string, string>(); // token -> account it linked
          for (const o of ops) {
            if (o.op === 'advance') w.advance(o.days);
            else if (o.op === 'invite') {
              if (ids.has(o.who)) continue;
              const s = await inviteAndSend({ email: `p${o.who}@example.org`, firstName: 'P', lastName: String(o.who) });
              ids.set(o.who, s.userId);
              tokens.set(o.who, [s.token]);
            } else if (o.op === 'resend') {
              const id = ids.get(o.who);
              if (id === undefined || !(await user(id))) continue;
              tokens.get(o.who)!.push((await resendAndSend(id)).token);
            } else if (o.op === 'link') {
              const list = tokens.get(o.who);
              if (!list) continue;
              const token = o.which === 'latest' ? list[list.length - 1]! : list[o.pick % list.length]!;
              const account = `acct${o.account}`;
              const outcome = await linkCode(token, 'nih', account);
              if (outcome === 'linked' || outcome === 'relinked') {
                // A link is redeemed at most once.
                expect(usedBy.has(token)).toBe(false);
                usedBy.set(token, account);
              }
              if (outcome === 'unchanged') expect(usedBy.get(token)).toBe(account);
            } else {
              const nowIso = w.now.toISOString();
              const before = w.store.db
                .prepare(
                  `SELECT u.id, u.login_service, (SELECT max(expires_at) FROM registrations r WHERE r.user_id = u.id AND r.state = 'active') AS live FROM users u`,
                )
                .all() as { id: number; login_service: string | null; live: string | null }[];
              const removed = await pruneAll();
              for (const r of removed) {
                const b = before.find((x) => x.id === r.id)!;
                expect(b.login_service).toBeNull();
                expect(b.live === null || b.live <= nowIso).toBe(true);
              }
              for (const [who, id] of ids)
                if (removed.some((r) => r.id === id)) {
                  ids.delete(who);
                  tokens.delete(who);
                }
            }
            // At most one active registration, and at most one unretired token for it, per user.
            const multi = w.store.db.prepare(`SELECT user_id FROM registrations WHERE state = 'active' GROUP BY user_id HAVING count(*) > 1`).all();
            expect(multi).toEqual([]);
            const twoLinks = w.store.db
              .prepare(
                `SELECT r.user_id FROM link_tokens t JOIN registrations r ON r.id = t.registration_id WHERE t.retired_at IS NULL AND r.state = 'active' GROUP BY r.user_id HAVING count(*) > 1`,
              )
              .all();
            expect(twoLinks).toEqual([]);
          }
        } finally {
          await w.close();
        }
      }),
      { numRuns: 40 },
    );
  });
});
