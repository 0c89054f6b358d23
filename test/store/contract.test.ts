// The Store contract (src/store/types.ts), run against both keepers of it:
// the same operations, the same answers, on SQLite and on PostgreSQL.

import { createHash } from 'node:crypto';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TABLE_NAMES } from '../../src/store/tables.js';
import type { ClaimedRow, Portal, PortalFields, Store, Tx } from '../../src/store/types.js';
import { newStore, STORE_KINDS, type TestStore } from '../helpers/stores.js';

const T0 = '2026-11-28T14:00:00.000Z';
const at = (days: number) => new Date(Date.parse(T0) + days * 86_400_000).toISOString();
const digest = (s: string) => createHash('sha256').update(s).digest();

const GRANTS: PortalFields = {
  slug: 'grants',
  name: 'Grants Portal',
  baseUrl: 'https://grants.example.org',
  adminEmail: 'admin@example.org',
  registerUrl: 'https://grants.example.org/register',
  linkDays: 7,
  removalDays: 30,
  timeZone: null,
  remindDays: [2, 5],
  warnDays: 7,
};

async function person(tx: Tx, portal: Portal, email: string, first = 'Pat', last = 'Smith', due = at(30)) {
  const userId = await tx.users.insert({ portalId: portal.id, firstName: first, lastName: last, email, removalDueAt: due, createdAt: T0 });
  const registrationId = await tx.registrations.insert({ userId, email, createdAt: T0, expiresAt: at(7) });
  const outboxId = await tx.outbox.enqueue(registrationId, 'registration', T0);
  return { userId, registrationId, outboxId };
}

async function all<T>(it: AsyncIterable<T[]>): Promise<T[]> {
  const out: T[] = [];
  for await (const b of it) out.push(...b);
  return out;
}

describe.each(STORE_KINDS)('the %s store', (kind) => {
  let ts: TestStore;
  let store: Store;
  let portal: Portal;
  const extra: TestStore[] = [];

  beforeEach(async () => {
    ts = await newStore(kind);
    store = await ts.open(true);
    portal = await store.write((tx) => tx.portals.insert(GRANTS, T0));
  }, 60_000);
  afterEach(async () => {
    await store.close();
    await ts.cleanup();
  }, 60_000);
  afterAll(async () => {
    for (const s of extra) await s.cleanup();
  }, 60_000);

  it('keeps portals with every field', async () => {
    expect(portal).toMatchObject({ ...GRANTS, createdAt: T0 });
    expect(typeof portal.id).toBe('number');
    const updated = await store.write((tx) => tx.portals.update(portal.id, { remindDays: [], warnDays: 0, timeZone: 'Europe/Berlin' }));
    expect(updated).toMatchObject({ remindDays: [], warnDays: 0, timeZone: 'Europe/Berlin' });
    expect(await store.read((tx) => tx.portals.bySlug('grants'))).toEqual(updated);
    expect(await store.read((tx) => tx.portals.all())).toEqual([updated]);
  });

  it('finds users by address and account under the Unicode key rule (MÜLLER finds Müller)', async () => {
    const { userId } = await store.write((tx) => person(tx, portal, 'Jörg.Müller@Example.org', 'Jörg', 'Müller'));
    const found = await store.read((tx) => tx.users.byEmail(portal.id, 'JÖRG.MÜLLER@example.ORG'));
    expect(found).toMatchObject({ id: userId, email: 'Jörg.Müller@Example.org', portal: 'grants', registrationExpiresAt: at(7), loginService: null });
    const listed = await all(store.listUsers({ portalId: portal.id, now: T0, search: 'MÜLLER' }));
    expect(listed.map((u) => u.id)).toEqual([userId]);
    expect(await store.countUsers({ portalId: portal.id, now: T0, search: 'müller' })).toBe(1);
    await store.write((tx) => tx.users.link(userId, 'ims', 'Ölaf', at(1)));
    expect((await store.read((tx) => tx.users.byAccount(portal.id, 'ims', 'ölaf')))?.id).toBe(userId);
    expect((await all(store.listUsers({ portalId: portal.id, now: T0, search: 'ÖLAF' }))).map((u) => u.id)).toEqual([userId]);
    await store.write((tx) =>
      tx.linkAttempts.record({ at: T0, userId, registrationId: null, service: 'nih', username: 'Ölaf', outcome: 'link_expired', actor: 'web' }),
    );
    expect((await store.read((tx) => tx.users.triedAccount(portal.id, 'nih', 'ölaf'))).map((u) => u.id)).toEqual([userId]);
  });

  it('looks up many addresses and many ids at once (a bulk invite), under the same key rule', async () => {
    const a = await store.write((tx) => person(tx, portal, 'Ann@Example.org', 'Ann', 'A'));
    const b = await store.write((tx) => person(tx, portal, 'Jörg.Müller@Example.org', 'Jörg', 'Müller'));
    const found = await store.read((tx) => tx.users.byEmails(portal.id, ['JÖRG.MÜLLER@example.ORG', 'nobody@example.org', 'ann@example.org']));
    expect(found.map((u) => u.id).sort((x, y) => x - y)).toEqual([a.userId, b.userId]);
    expect(found.find((u) => u.id === b.userId)).toMatchObject({ email: 'Jörg.Müller@Example.org', portal: 'grants', registrationExpiresAt: at(7) });
    expect(await store.read((tx) => tx.users.byEmails(portal.id, []))).toEqual([]);
    const listed = await store.read((tx) => tx.users.listings([b.userId, 999_999, a.userId]));
    expect(listed.map((u) => u.email)).toEqual(['Jörg.Müller@Example.org', 'Ann@Example.org']);
  });

  it('refuses a second profile for the same address, whatever its case', async () => {
    await store.write((tx) => person(tx, portal, 'dup@example.org'));
    const err = await store.write((tx) => person(tx, portal, 'DUP@example.org')).catch((e) => e);
    expect(err.code).toBe('store_conflict');
    expect(await store.countUsers({ portalId: portal.id, now: T0 })).toBe(1);
  });

  it('rolls back the whole transaction when fn throws', async () => {
    const err = await store
      .write(async (tx) => {
        await person(tx, portal, 'gone@example.org');
        throw new Error('changed my mind');
      })
      .catch((e) => e);
    expect(err.message).toBe('changed my mind');
    expect(await store.read((tx) => tx.users.byEmail(portal.id, 'gone@example.org'))).toBeUndefined();
  });

  it('lists, filters and sorts users in batches', async () => {
    await store.write(async (tx) => {
      for (let i = 0; i < 1203; i++) await person(tx, portal, `u${i}@example.org`, `F${i}`, `L${1202 - i}`);
    });
    const ids = (await all(store.listUsers({ portalId: portal.id, now: T0 }))).map((u) => u.id);
    expect(ids).toHaveLength(1203);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    let batches = 0;
    for await (const b of store.listUsers({ portalId: portal.id, now: T0 })) {
      batches++;
      expect(b.length).toBeLessThanOrEqual(1000);
    }
    // Each store picks its page size (SQLite 250, PostgreSQL 1000); 1203 users never come in one.
    expect(batches).toBeGreaterThan(1);
    const byName = await all(store.listUsers({ portalId: portal.id, now: T0, sort: 'name', limit: 3 }));
    expect(byName.map((u) => u.lastName)).toEqual(['L0', 'L1', 'L10']);
    expect(await store.countUsers({ portalId: portal.id, now: T0, status: 'pending' })).toBe(1203);
    expect(await store.countUsers({ portalId: portal.id, now: at(8), status: 'expired' })).toBe(1203);
    expect(await store.countUsers({ portalId: portal.id, now: T0, status: 'linked' })).toBe(0);
  });

  it('finds where a link leads in one look-up: the same token, registration, user and portal as asking each', async () => {
    const p = await store.write((tx) => person(tx, portal, 'where@example.org'));
    await store.write((tx) => tx.tokens.insert(digest('where'), p.registrationId, T0));
    const found = await store.read((tx) => tx.tokens.target(digest('where')));
    const each = await store.read(async (tx) => ({
      token: await tx.tokens.byDigest(digest('where')),
      registration: await tx.registrations.get(p.registrationId),
      user: await tx.users.listing(p.userId),
      portal: await tx.portals.byId(portal.id),
    }));
    expect(found).toEqual(each);
    expect(found?.portal.slug).toBe(portal.slug);
    expect(found?.user.email).toBe('where@example.org');
    expect(await store.read((tx) => tx.tokens.target(digest('nowhere')))).toBeUndefined();

    // An earlier link of a user who was sent a new one: the old registration (superseded, its token
    // retired), the user with the new registration's expiry — every column where it belongs.
    await store.write(async (tx) => {
      await tx.registrations.supersedeActive(p.userId, at(1));
      await tx.registrations.insert({ userId: p.userId, email: 'where@example.org', createdAt: at(1), expiresAt: at(9) });
    });
    const old = await store.read((tx) => tx.tokens.target(digest('where')));
    expect(old).toEqual({
      token: { registrationId: p.registrationId, mintedAt: T0, retiredAt: at(1) },
      registration: await store.read((tx) => tx.registrations.get(p.registrationId)),
      user: await store.read((tx) => tx.users.listing(p.userId)),
      portal: await store.read((tx) => tx.portals.byId(portal.id)),
    });
    expect(old?.registration).toMatchObject({ state: 'superseded', supersededAt: at(1), expiresAt: at(7) });
    expect(old?.user.registrationExpiresAt).toBe(at(9));
  });

  it('supersedes a registration: its tokens retire and its unsent email goes', async () => {
    const p = await store.write((tx) => person(tx, portal, 'a@example.org'));
    await store.write((tx) => tx.tokens.insert(digest('t1'), p.registrationId, T0));
    const old = await store.write((tx) => tx.registrations.supersedeActive(p.userId, at(1)));
    expect(old?.id).toBe(p.registrationId);
    expect(await store.read((tx) => tx.tokens.byDigest(digest('t1')))).toEqual({ registrationId: p.registrationId, mintedAt: T0, retiredAt: at(1) });
    expect(await store.read((tx) => tx.outbox.get(p.outboxId))).toBeUndefined();
    expect((await store.read((tx) => tx.registrations.get(p.registrationId)))?.state).toBe('superseded');
    expect(await store.read((tx) => tx.registrations.active(p.userId))).toBeUndefined();
  });

  it('claims an outbox message once: sent, gone, busy', async () => {
    const p = await store.write((tx) => person(tx, portal, 'o@example.org'));
    const live = () => false;
    const first = await store.write((tx) => tx.outbox.claim(p.outboxId, 'host:1', T0, T0, live));
    expect(first).toMatchObject({
      message: { id: p.outboxId, attempts: 1, claimedBy: 'host:1' },
      registration: { id: p.registrationId, userId: p.userId, state: 'active' },
      user: { id: p.userId, email: 'o@example.org', portal: 'grants' },
    });
    // Whole rows, as the store's own look-ups read them (the PostgreSQL store asks for all four in one statement).
    expect((first as ClaimedRow).portal).toEqual(await store.read((tx) => tx.portals.bySlug('grants')));
    expect((first as ClaimedRow).registration).toEqual(await store.read((tx) => tx.registrations.get(p.registrationId)));
    expect((first as ClaimedRow).user).toEqual(await store.read((tx) => tx.users.byEmail(portal.id, 'o@example.org')));
    expect((first as ClaimedRow).message).toEqual({ ...(await store.read((tx) => tx.outbox.get(p.outboxId))), claimedAt: T0 });
    expect(await store.write((tx) => tx.outbox.claim(p.outboxId, 'host:2', T0, T0, live))).toBe('busy');
    await store.write((tx) => tx.outbox.markSent(p.outboxId, T0));
    expect(await store.write((tx) => tx.outbox.claim(p.outboxId, 'host:2', T0, T0, live))).toBe('sent');
    expect(await store.write((tx) => tx.outbox.claim(999_999, 'host:2', T0, T0, live))).toBe('gone');
    expect(await all(store.listPending({}))).toEqual([]);
  });

  it('renews a link: earlier tokens retire, the new one is minted, the expiry restarts (and is recorded again when it passes)', async () => {
    const p = await store.write((tx) => person(tx, portal, 'renew@example.org'));
    await store.write((tx) => tx.tokens.insert(digest('first'), p.registrationId, T0));
    await store.write((tx) => tx.registrations.markExpiryRecorded([p.registrationId]));
    await store.write((tx) => tx.registrations.renewLink(p.registrationId, digest('second'), at(1), at(8)));
    expect(await store.read((tx) => tx.tokens.byDigest(digest('first')))).toEqual({ registrationId: p.registrationId, mintedAt: T0, retiredAt: at(1) });
    expect(await store.read((tx) => tx.tokens.byDigest(digest('second')))).toEqual({ registrationId: p.registrationId, mintedAt: at(1), retiredAt: null });
    expect((await store.read((tx) => tx.registrations.get(p.registrationId)))?.expiresAt).toBe(at(8));
    const expired = await store.read((tx) => tx.registrations.newlyExpired(at(9), 10));
    expect(expired.map((e) => e.registration.id)).toContain(p.registrationId);
  });

  it("marks a message sent; a registration email's registration with it, a reminder's not", async () => {
    const p = await store.write((tx) => person(tx, portal, 'sent@example.org'));
    const reminder = await store.write((tx) => tx.outbox.enqueue(p.registrationId, 'reminder', T0));
    await store.write((tx) => tx.outbox.markSent(reminder, at(1)));
    expect((await store.read((tx) => tx.registrations.get(p.registrationId)))?.sentAt).toBeNull();
    await store.write((tx) => tx.outbox.markSent(p.outboxId, at(2)));
    expect((await store.read((tx) => tx.registrations.get(p.registrationId)))?.sentAt).toBe(at(2));
    expect((await store.read((tx) => tx.outbox.get(p.outboxId)))?.sentAt).toBe(at(2));
  });

  it('claims a notice exactly once', async () => {
    const p = await store.write((tx) => person(tx, portal, 'n@example.org'));
    expect(await store.write((tx) => tx.notices.claim(p.registrationId, 'reminder', 2, T0))).toBe(true);
    expect(await store.write((tx) => tx.notices.claim(p.registrationId, 'reminder', 2, T0))).toBe(false);
    expect(await store.write((tx) => tx.notices.claim(p.registrationId, 'reminder', 5, T0))).toBe(true);
    expect(await store.write((tx) => tx.notices.claim(p.registrationId, 'reminder', 3, T0))).toBe(false); // a later reminder makes it moot
    await store.write((tx) => tx.outbox.markSent(p.outboxId, T0));
    const c = await store.read((tx) => tx.notices.reminderCandidates({ portalId: portal.id, now: T0, sentBefore: T0, afterUserId: 0, limit: 10 }));
    expect(c.map((x) => [x.user.id, x.registration.id, x.sentSteps])).toEqual([[p.userId, p.registrationId, [2, 5]]]);
  });

  it('appends events with increasing ids and reads them by cursor and type', async () => {
    await store.write(async (tx) => {
      await tx.events.append({ at: T0, type: 'invited', portal: 'grants', userId: 1, email: 'e@example.org', data: { b: 1, a: [2] } });
      await tx.events.append({ at: T0, type: 'email_sent', portal: 'grants', userId: 1, email: 'e@example.org', data: {} });
    });
    await store.write((tx) => tx.events.append({ at: at(1), type: 'linked', portal: 'grants', userId: 1, email: null, data: {} }));
    const since = await store.read((tx) => tx.events.since(0, 10));
    expect(since.map((e) => e.type)).toEqual(['invited', 'email_sent', 'linked']);
    const ids = since.map((e) => e.id);
    expect(ids[1]).toBeGreaterThan(ids[0]!);
    expect(ids[2]).toBeGreaterThan(ids[1]!);
    const more = ids[2]!;
    expect(JSON.stringify(since[0]!.data)).toBe('{"b":1,"a":[2]}');
    expect((await store.read((tx) => tx.events.since(ids[0]!, 10, { types: ['linked'] }))).map((e) => e.id)).toEqual([more]);
    expect(await store.read((tx) => tx.events.last())).toBe(more);
    expect((await all(store.listEvents({ since: 0, types: ['invited'] }))).map((e) => e.id)).toEqual([ids[0]]);
    // Many in one transaction: ids in the order appended.
    await store.write(async (tx) => {
      for (let n = 0; n < 40; n++) await tx.events.append({ at: T0, type: 'invited', portal: 'grants', userId: 2, email: null, data: { n } });
    });
    const batch = await store.read((tx) => tx.events.since(more, 100));
    expect(batch.map((e) => (e.data as { n: number }).n)).toEqual([...Array(40).keys()]);
  });

  it('keeps whatever text it is given; a lone surrogate in a name is replaced, not refused', async () => {
    const odd = 'O\'Brien "Ö" \\ \\ud800 \n\t😀 \u00e9';
    const lone = 'A\uD800B\uDC00C';
    const { userId } = await store.write(async (tx) => {
      const p = await person(tx, portal, 'odd@example.org', odd, lone);
      await tx.events.append({ at: T0, type: 'invited', portal: 'grants', userId: p.userId, email: null, data: { odd, lone } });
      return p;
    });
    // In a text column, a lone surrogate (not UTF-8 at all) is written as replacement characters
    // (by better-sqlite3 one per byte of its WTF-8 form); a JSON document keeps its \uD800 escape.
    expect(await store.read((tx) => tx.users.byId(userId))).toMatchObject({ firstName: odd, lastName: expect.stringMatching(/^A\uFFFD+B\uFFFD+C$/) });
    const [event] = await store.read((tx) => tx.events.since(0, 10));
    expect(event!.data).toEqual({ odd, lone });
  });

  it('queues webhook deliveries in order, one per user at a time', async () => {
    await store.write(async (tx) => {
      for (const [u, type] of [
        [1, 'invited'],
        [1, 'email_sent'],
        [2, 'invited'],
      ] as const)
        await tx.events.append({ at: T0, type, portal: 'grants', userId: u, email: null, data: {} });
    });
    expect(await store.write((tx) => tx.webhooks.lease('https://hook.example.org', 'a:1', at(1), () => false))).toBe(true);
    expect(await store.write((tx) => tx.webhooks.lease('https://hook.example.org', 'b:2', at(1), () => false))).toBe(false);
    expect(await store.write((tx) => tx.webhooks.enqueue('https://hook.example.org', undefined, 100, T0))).toEqual({ scanned: 3, queued: 3 });
    expect(await store.write((tx) => tx.webhooks.enqueue('https://hook.example.org', undefined, 100, T0))).toEqual({ scanned: 0, queued: 0 });
    const due = await store.read((tx) => tx.webhooks.due('https://hook.example.org', T0, 10));
    expect(due.map((d) => [d.userId, d.event.type])).toEqual([
      [1, 'invited'],
      [2, 'invited'],
    ]);
    await store.write((tx) => tx.webhooks.markDelivered(due[0]!.id, T0));
    await store.write((tx) => tx.webhooks.markFailed(due[1]!.id, 'HTTP 500', at(1), true));
    expect(await store.read((tx) => tx.webhooks.queues())).toMatchObject([
      { webhook: 'https://hook.example.org', pending: 1, dead: 1, oldestPendingEventId: due[0]!.eventId + 1, lastError: 'HTTP 500', enqueuedThrough: 3 },
    ]);
    expect(await store.write((tx) => tx.webhooks.retryDead(undefined, T0))).toBe(1);
    await store.write((tx) => tx.webhooks.release('https://hook.example.org', 'a:1'));
    expect(await store.write((tx) => tx.webhooks.lease('https://hook.example.org', 'b:2', at(1), () => false))).toBe(true);
  });

  it('prunes in batches and never reuses an id after removal', async () => {
    const made = await store.write(async (tx) => {
      const out = [];
      for (let i = 0; i < 5; i++) out.push(await person(tx, portal, `p${i}@example.org`, 'P', `${i}`, at(-1)));
      return out;
    });
    // Links expire at +7 days; at +8 every one is prunable.
    const due = await store.read((tx) => tx.users.prunable({ portalId: portal.id }, at(8), 3));
    expect(due.map((u) => u.id)).toEqual(made.slice(0, 3).map((m) => m.userId));
    const rest = await store.read((tx) => tx.users.prunable({ afterId: due[2]!.id }, at(8), 3));
    expect(rest.map((u) => u.id)).toEqual(made.slice(3).map((m) => m.userId));
    expect(await store.read((tx) => tx.users.prunable({}, T0, 10))).toEqual([]); // live links defer removal
    await store.write((tx) => tx.users.remove(made.map((m) => m.userId)));
    expect(await store.countUsers({ portalId: portal.id, now: T0 })).toBe(0);
    expect(await store.read((tx) => tx.registrations.get(made[0]!.registrationId))).toBeUndefined();
    const again = await store.write((tx) => person(tx, portal, 'next@example.org'));
    expect(again.userId).toBeGreaterThan(made[4]!.userId);
    expect(again.registrationId).toBeGreaterThan(made[4]!.registrationId);
    expect(again.outboxId).toBeGreaterThan(made[4]!.outboxId);
  });

  it('keeps the audit trail and finds removed users in it by address, any case', async () => {
    const p = await store.write((tx) => person(tx, portal, 'Zoë@Example.org'));
    await store.write((tx) =>
      tx.audit.append({ at: T0, actor: 'me', action: 'invite', portal: 'grants', userId: p.userId, userEmail: 'Zoë@Example.org', after: { x: 1 } }),
    );
    await store.write((tx) => tx.users.remove([p.userId]));
    expect(await store.read((tx) => tx.audit.userIdsFor('ZOË@example.org'))).toEqual([p.userId]);
    expect(await store.read((tx) => tx.audit.userIdsFor(String(p.userId)))).toEqual([p.userId]);
    const trail = await all(store.listAudit({ userIds: [p.userId] }));
    expect(trail).toMatchObject([{ action: 'invite', userEmail: 'Zoë@Example.org', before: null, after: { x: 1 }, at: T0 }]);
  });

  it('finds a user\'s last removal from a portal by id or address, any case (the reason behind a "No user")', async () => {
    const zoe = await store.write((tx) => person(tx, portal, 'Zoë@Example.org'));
    const jo = await store.write((tx) => person(tx, portal, 'Jo@Example.org'));
    const entry = (action: string, userId: number, userEmail: string, when: string, where = 'grants') =>
      store.write((tx) => tx.audit.append({ at: when, actor: 'me', action, portal: where, userId, userEmail }));
    await entry('invite', zoe.userId, 'Zoë@Example.org', T0);
    await entry('remove', zoe.userId, 'Zoë@Example.org', at(1));
    await entry('prune', jo.userId, 'Jo@Example.org', at(2));
    await entry('prune', 999, 'jo@example.org', at(3), 'other'); // another portal's
    await store.write((tx) => tx.users.remove([zoe.userId, jo.userId]));
    const last = (ref: { id: number } | { email: string }) => store.read((tx) => tx.audit.lastRemoval('grants', ref));
    expect(await last({ id: zoe.userId })).toMatchObject({ action: 'remove', userId: zoe.userId, userEmail: 'Zoë@Example.org', actor: 'me', at: at(1) });
    expect(await last({ email: 'ZOË@example.org' })).toMatchObject({ action: 'remove', userId: zoe.userId });
    expect(await last({ email: 'JO@EXAMPLE.ORG' })).toMatchObject({ action: 'prune', userId: jo.userId, at: at(2) });
    expect(await last({ email: 'nobody@example.org' })).toBeUndefined();
    expect(await last({ id: 999 })).toBeUndefined();
    // A later removal of the same address (invited again, removed again) is the one given.
    await entry('prune', jo.userId + 100, 'jo@example.org', at(9));
    expect(await last({ email: 'jo@example.org' })).toMatchObject({ userId: jo.userId + 100, at: at(9) });
  });

  it('reports what it is for doctor', async () => {
    const info = await store.info();
    expect(info).toMatchObject({ kind, schemaVersion: info.latestSchemaVersion });
    expect(info.serverVersion).toMatch(kind === 'sqlite' ? /^SQLite \d/ : /^PostgreSQL \d/);
    const checks = await store.checks();
    expect(checks.length).toBeGreaterThan(0);
    for (const c of checks) expect(['ok', 'warn']).toContain(c.status);
  });

  it('refuses a named store that does not exist (store_missing, exit 2)', async () => {
    const other = await newStore(kind, { bare: true });
    extra.push(other);
    const err = await other.open(false).catch((e) => e);
    expect([err.code, err.exitCode]).toEqual(['store_missing', 2]);
  });

  describe.each(STORE_KINDS)('copied to a %s store', (toKind) => {
    it('moves every table, keeps ids, continues the sequences and refuses a non-empty target', async () => {
      const made = await store.write(async (tx) => {
        const a = await person(tx, portal, 'keep@example.org');
        const b = await person(tx, portal, 'drop@example.org');
        await tx.tokens.insert(digest('keep'), a.registrationId, T0);
        await tx.notices.claim(a.registrationId, 'reminder', 2, T0);
        await tx.audit.append({ at: T0, actor: 'me', action: 'invite', portal: 'grants', userId: a.userId, userEmail: 'keep@example.org', after: { k: 'v' } });
        await tx.events.append({ at: T0, type: 'invited', portal: 'grants', userId: a.userId, email: 'keep@example.org', data: { z: 1, a: 2 } });
        await tx.linkViews.record({ at: T0, userId: a.userId, registrationId: a.registrationId, clientAddress: '::1', userAgent: 'test' });
        await tx.linkAttempts.record({ at: T0, userId: a.userId, registrationId: a.registrationId, service: 'ims', username: 'k', outcome: 'ok', actor: 'me' });
        return { a, b };
      });
      await store.write((tx) => tx.webhooks.enqueue('https://hook.example.org', undefined, 10, T0));
      await store.write((tx) => tx.users.remove([made.b.userId])); // the highest ids are gone from the source
      const target = await newStore(toKind, { bare: true });
      extra.push(target);
      const to = await target.open(true);
      try {
        const counts = await store.dump((d) => to.load(d));
        expect(Object.keys(counts).sort()).toEqual([...TABLE_NAMES].sort());
        expect(counts).toMatchObject({ portals: 1, users: 1, registrations: 1, link_tokens: 1, outbox: 1, notices: 1, audit: 1, events: 1, webhooks: 1 });
        expect(await to.read((tx) => tx.users.byEmail(portal.id, 'KEEP@example.org'))).toEqual(
          await store.read((tx) => tx.users.byEmail(portal.id, 'keep@example.org')),
        );
        expect(await to.read((tx) => tx.tokens.byDigest(digest('keep')))).toMatchObject({ registrationId: made.a.registrationId, retiredAt: null });
        expect(await to.read((tx) => tx.events.since(0, 10))).toEqual(await store.read((tx) => tx.events.since(0, 10)));
        expect(await all(to.listAudit({}))).toEqual(await all(store.listAudit({})));
        expect(await to.read((tx) => tx.linkViews.ofUser(made.a.userId))).toEqual(await store.read((tx) => tx.linkViews.ofUser(made.a.userId)));
        expect(await to.read((tx) => tx.registrations.get(made.a.registrationId))).toEqual(
          await store.read((tx) => tx.registrations.get(made.a.registrationId)),
        );
        const next = await to.write((tx) => person(tx, portal, 'new@example.org'));
        expect(next.userId).toBeGreaterThan(made.b.userId);
        expect(next.registrationId).toBeGreaterThan(made.b.registrationId);
        expect(next.outboxId).toBeGreaterThan(made.b.outboxId);
        const err = await store.dump((d) => to.load(d)).catch((e) => e);
        expect(err.code).toBe('store_not_empty');
        expect(err.message).toMatch(
          / is not empty \(rows: portals 1, users \d+, registrations \d+, .*\); copy only into a new, empty store\. Nothing was copied\.$/,
        );
      } finally {
        await to.close();
      }
    });
  });
});

describe('the PostgreSQL migrations', () => {
  it('the code knows the newest migration file', async () => {
    const { LATEST_POSTGRES_VERSION, listPostgresMigrations } = await import('../../src/store/postgres/migrate.js');
    const files = listPostgresMigrations();
    expect(files.map((f) => f.version)).toEqual(files.map((_, i) => i + 1));
    expect(files[files.length - 1]!.version).toBe(LATEST_POSTGRES_VERSION);
  });

  it('a schema newer than the code is refused (store_too_new)', async () => {
    const ts = await newStore('postgres');
    try {
      const { sharedPostgres } = await import('../helpers/postgres.js');
      const pg = await sharedPostgres();
      await pg.sql(new URL(ts.location).pathname.slice(1), `INSERT INTO portalctl_migrations (version, file) VALUES (999, '0999_future.sql')`);
      const err = await ts.open(false).catch((e) => e);
      expect(err.code).toBe('store_too_new');
    } finally {
      await ts.cleanup();
    }
  });
});

describe.each(STORE_KINDS)('upgrading a %s store whose keys were made before ẞ folded to ss', (kind) => {
  it('mends the keys of ẞ, so STRAẞE is the account straße and GROẞ@ the address gross@; a mended key taken by another user is left alone', async () => {
    const ts = await newStore(kind);
    try {
      let store = await ts.open(true);
      const portal = await store.write((tx) => tx.portals.insert(GRANTS, T0));
      const ids = await store.write(async (tx) => {
        const sven = await person(tx, portal, 'GROẞ@example.org', 'Sven', 'STRAẞE');
        const tom = await person(tx, portal, 'tom@example.org', 'Tom', 'One');
        const tim = await person(tx, portal, 'tim@example.org', 'Tim', 'Two');
        await tx.users.link(sven.userId, 'ims', 'GROẞ', T0);
        await tx.users.link(tim.userId, 'nih', 'strasse', T0);
        // Tom's STRAẞE is taken to nih below: before, it was not strasse, so both could be linked.
        await tx.users.link(tom.userId, 'ims-employee', 'STRAẞE', T0);
        return { sven: sven.userId, tom: tom.userId, tim: tim.userId };
      });
      await store.close();
      // The keys as the rule before made them (ẞ → ß), and the schema one migration back.
      const old = (col: string) => `${col} = replace(${col}, 'ss', 'ß')`;
      const rewind = [
        `UPDATE users SET ${old('email_key')}, ${old('username_key')}, ${old('search_key')}, ${old('name_key')} WHERE id = ${ids.sven}`,
        `UPDATE users SET login_service = 'nih', ${old('username_key')}, ${old('search_key')} WHERE id = ${ids.tom}`,
      ];
      if (kind === 'sqlite') {
        const { default: Database } = await import('better-sqlite3');
        const db = new Database(ts.location);
        for (const sql of rewind) db.exec(sql);
        db.pragma('user_version = 6');
        db.close();
      } else {
        const { sharedPostgres } = await import('../helpers/postgres.js');
        const pg = await sharedPostgres();
        const name = new URL(ts.location).pathname.slice(1);
        for (const sql of [...rewind, 'DELETE FROM portalctl_migrations WHERE version = 2']) await pg.sql(name, sql);
      }
      store = await ts.open(false);
      try {
        const found = await store.read(async (tx) => ({
          byAddress: (await tx.users.byEmail(portal.id, 'gross@example.org'))?.id,
          byAccount: (await tx.users.byAccount(portal.id, 'ims', 'GROSS'))?.id,
          strasse: (await tx.users.byAccount(portal.id, 'nih', 'STRAẞE'))?.id,
          tomStill: (await tx.users.byId(ids.tom))?.username,
        }));
        const searched = (await all(store.listUsers({ portalId: portal.id, now: T0, search: 'strasse' }))).map((u) => u.id);
        expect(found).toEqual({ byAddress: ids.sven, byAccount: ids.sven, strasse: ids.tim, tomStill: 'STRAẞE' });
        expect(searched).toEqual([ids.sven, ids.tom, ids.tim]);
      } finally {
        await store.close();
      }
    } finally {
      await ts.cleanup();
    }
  }, 60_000);
});
