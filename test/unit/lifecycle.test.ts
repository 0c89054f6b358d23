import { afterEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { invite, prune, redeemLink, resendRegistration, setRemovalDays } from '../../src/domain/registration.js';
import type { PortalctlError } from '../../src/errors.js';
import { world, type World } from '../helpers/store.js';

let w: World;
afterEach(() => w?.close());

const jane = { email: 'jane.doe@example.org', firstName: 'Jane', lastName: 'Doe' };

async function inviteAndSend(w: World, person = jane) {
  const q = invite(w.store, w.portal, person, w.actor());
  const [r] = await w.send([q]);
  expect(r!.state).toBe('sent');
  return { ...q, token: w.tokenIn(r!.where!) };
}

function linkCode(w: World, token: string, service: 'nih' | 'ims' | 'ims-employee', account: string): string {
  try {
    return redeemLink(w.store, { token, service, account }, w.actor()).outcome;
  } catch (err) {
    return (err as PortalctlError).code;
  }
}

describe('the registration lifecycle', () => {
  it('links with a fresh link, and the store never holds the token', async () => {
    w = await world();
    const { token, userId } = await inviteAndSend(w);
    const dump = w.store.db.prepare('SELECT group_concat(quote(digest)) AS d FROM link_tokens').get() as { d: string };
    expect(dump.d).not.toContain(token);
    expect(linkCode(w, token, 'nih', 'jdoe')).toBe('linked');
    expect(w.store.userListRow(userId)).toMatchObject({ login_service: 'nih', username: 'jdoe', removal_due_at: null });
  });

  it('expires after the link lifetime, to the second', async () => {
    w = await world();
    const { token } = await inviteAndSend(w);
    w.advance(7);
    expect(linkCode(w, token, 'nih', 'jdoe')).toBe('link_expired');
    w.advance(-1 / 86400);
    expect(linkCode(w, token, 'nih', 'jdoe')).toBe('linked');
  });

  it('Send New Registration supersedes every earlier link, keeps the removal date', async () => {
    w = await world();
    const first = await inviteAndSend(w);
    const dueBefore = w.store.userListRow(first.userId)!.removal_due_at;
    w.advance(3);
    const q2 = resendRegistration(w.store, w.portal, first.userId, undefined, w.actor());
    const [r2] = await w.send([q2]);
    const second = w.tokenIn(r2!.where!);
    expect(linkCode(w, first.token, 'nih', 'jdoe')).toBe('link_superseded');
    expect(w.store.userListRow(first.userId)!.removal_due_at).toBe(dueBefore);
    expect(linkCode(w, second, 'nih', 'jdoe')).toBe('linked');
  });

  it('a used link answers link_used for another account and succeeds, unchanged, for the same one', async () => {
    w = await world();
    const { token } = await inviteAndSend(w);
    expect(linkCode(w, token, 'nih', 'jdoe')).toBe('linked');
    expect(linkCode(w, token, 'nih', 'JDOE')).toBe('unchanged');
    expect(linkCode(w, token, 'ims', 'mallory')).toBe('link_used');
  });

  it('relinking replaces the account on the same user (switching login service)', async () => {
    w = await world();
    const a = await inviteAndSend(w);
    linkCode(w, a.token, 'nih', 'jdoe');
    const q = resendRegistration(w.store, w.portal, a.userId, 'jane@new.example.org', w.actor());
    // Still linked (and able to sign in) until the new link is used.
    expect(w.store.userListRow(a.userId)!.login_service).toBe('nih');
    const [r] = await w.send([q]);
    expect(linkCode(w, w.tokenIn(r!.where!), 'ims', 'jane.d')).toBe('relinked');
    expect(w.store.userListRow(a.userId)).toMatchObject({ id: a.userId, login_service: 'ims', username: 'jane.d', email: 'jane@new.example.org' });
  });

  it('one account links to one user per portal', async () => {
    w = await world();
    const a = await inviteAndSend(w);
    const b = await inviteAndSend(w, { email: 'bob@example.org', firstName: 'Bob', lastName: 'Roe' });
    expect(linkCode(w, a.token, 'nih', 'jdoe')).toBe('linked');
    expect(linkCode(w, b.token, 'nih', 'JDoe')).toBe('account_in_use');
    expect(linkCode(w, b.token, 'ims', 'jdoe')).toBe('linked');
  });

  it('prune removes an unlinked user after the removal date, never a linked one, never with a live link', async () => {
    w = await world();
    const a = await inviteAndSend(w);
    const b = await inviteAndSend(w, { email: 'bob@example.org', firstName: 'Bob', lastName: 'Roe' });
    linkCode(w, b.token, 'nih', 'bob');
    w.advance(29);
    expect(prune(w.store, 'all', false, w.actor())).toHaveLength(0);
    // A registration re-sent on day 29 keeps the link alive past day 30.
    const q = resendRegistration(w.store, w.portal, a.userId, undefined, w.actor());
    await w.send([q]);
    w.advance(2);
    expect(prune(w.store, 'all', false, w.actor())).toHaveLength(0);
    w.advance(6);
    const removed = prune(w.store, 'all', false, w.actor());
    expect(removed.map((r) => r.id)).toEqual([a.userId]);
    expect(w.store.userListRow(b.userId)).toBeDefined();
    // The audit trail keeps the removed user.
    const audit = w.store.db.prepare('SELECT action FROM audit WHERE user_id = ? ORDER BY id').all(a.userId) as { action: string }[];
    expect(audit.map((x) => x.action)).toEqual(['invite', 'resend-registration', 'prune']);
  });

  it('set-removal-days restarts the countdown, and is refused for a linked user', async () => {
    w = await world();
    const a = await inviteAndSend(w);
    w.advance(25);
    setRemovalDays(w.store, w.portal, a.userId, 10, w.actor());
    w.advance(9);
    expect(prune(w.store, 'all', false, w.actor())).toHaveLength(0);
    w.advance(1);
    expect(prune(w.store, 'all', false, w.actor())).toHaveLength(1);

    const b = await inviteAndSend(w, { email: 'bob@example.org', firstName: 'Bob', lastName: 'Roe' });
    linkCode(w, b.token, 'nih', 'bob');
    expect(() => setRemovalDays(w.store, w.portal, b.userId, 5, w.actor())).toThrow(/linked/);
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

  it('holds: one active link per user; prune spares linked users and live links; a used link never links a second account', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 5, maxLength: 25 }), async (ops) => {
        const w2 = await world();
        try {
          const tokens = new Map<number, string[]>(); // person -> tokens sent, oldest first
          const ids = new Map<number, number>(); // person -> user id
          const usedBy = new Map<string, string>(); // token -> account it linked
          for (const o of ops) {
            if (o.op === 'advance') w2.advance(o.days);
            else if (o.op === 'invite') {
              if (ids.has(o.who)) continue;
              const q = invite(w2.store, w2.portal, { email: `p${o.who}@example.org`, firstName: 'P', lastName: String(o.who) }, w2.actor());
              ids.set(o.who, q.userId);
              const [r] = await w2.send([q]);
              tokens.set(o.who, [w2.tokenIn(r!.where!)]);
            } else if (o.op === 'resend') {
              const id = ids.get(o.who);
              if (id === undefined || !w2.store.userListRow(id)) continue;
              const q = resendRegistration(w2.store, w2.portal, id, undefined, w2.actor());
              const [r] = await w2.send([q]);
              tokens.get(o.who)!.push(w2.tokenIn(r!.where!));
            } else if (o.op === 'link') {
              const list = tokens.get(o.who);
              if (!list) continue;
              const token = o.which === 'latest' ? list[list.length - 1]! : list[o.pick % list.length]!;
              const account = `acct${o.account}`;
              let outcome: string;
              try {
                outcome = redeemLink(w2.store, { token, service: 'nih', account }, w2.actor()).outcome;
              } catch (err) {
                outcome = (err as PortalctlError).code;
              }
              if (outcome === 'linked' || outcome === 'relinked') {
                // A link is redeemed at most once.
                expect(usedBy.has(token)).toBe(false);
                usedBy.set(token, account);
              }
              if (outcome === 'unchanged') expect(usedBy.get(token)).toBe(account);
            } else {
              const nowIso = w2.now.toISOString();
              const before = w2.store.db
                .prepare(
                  `SELECT u.id, u.login_service, (SELECT max(expires_at) FROM registrations r WHERE r.user_id = u.id AND r.state = 'active') AS live FROM users u`,
                )
                .all() as { id: number; login_service: string | null; live: string | null }[];
              const removed = prune(w2.store, 'all', false, w2.actor());
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
            const multi = w2.store.db.prepare(`SELECT user_id FROM registrations WHERE state = 'active' GROUP BY user_id HAVING count(*) > 1`).all();
            expect(multi).toEqual([]);
            const liveTokens = w2.store.db
              .prepare(
                `SELECT r.user_id FROM link_tokens t JOIN registrations r ON r.id = t.registration_id WHERE t.retired_at IS NULL AND r.state = 'active' GROUP BY r.user_id HAVING count(*) > 1`,
              )
              .all();
            expect(liveTokens).toEqual([]);
          }
        } finally {
          w2.close();
        }
      }),
      { numRuns: 40 },
    );
  });
});
