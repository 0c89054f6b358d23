// The registration lifecycle (SPEC "Lifecycle rules"): invite, Send New
// Registration, removal dates, Step 2 linking, prune and removal by hand.
// Each operation is one store transaction that also leaves its audit record
// and its lifecycle events; none of them knows argv, terminals, HTTP or mail.

import { RefusedError, UsageError } from '../errors.js';
import { anyOf, BIDI_CONTROL, CONTROL, quote } from '../text.js';
import type { NewEvent, Portal, Registration, StatusFilter, Store, Tx, UserListing } from '../store/types.js';
import { accountKey, emailKey } from '../store/keys.js';
import { serviceName, type ServiceKey } from './services.js';
import { addDays, formatLocal, iso } from './time.js';
import { isWellFormedToken, LINK_PATH, tokenDigest } from './tokens.js';
import { auditSnapshot, userStatus } from './users.js';

/** What a copied link never holds: control characters, and bidi controls that would hide part of it. */
const LINK_UNSAFE = anyOf('', CONTROL, BIDI_CONTROL);

/** When a change happens, who makes it, and the zone times are told in when the portal names none. */
export interface Stamp {
  now: Date;
  actor: string;
  zone: string;
}

export interface NewPerson {
  email: string;
  firstName: string;
  lastName: string;
}

/** A registration recorded with its email queued for delivery. */
export interface RecordedRegistration {
  userId: number;
  registrationId: number;
  outboxId: number;
}

/** Appends a lifecycle event; part of the caller's transaction. */
export function emit(
  tx: Tx,
  type: NewEvent['type'],
  portal: Portal | string,
  user: { id: number; email: string } | null,
  at: string,
  data: Record<string, unknown> = {},
): Promise<void> {
  return tx.events.append({ at, type, portal: typeof portal === 'string' ? portal : portal.slug, userId: user?.id ?? null, email: user?.email ?? null, data });
}

async function recordRegistration(tx: Tx, portal: Portal, userId: number, email: string, now: Date): Promise<RecordedRegistration> {
  const at = iso(now);
  const registrationId = await tx.registrations.insert({ userId, email, createdAt: at, expiresAt: iso(addDays(now, portal.linkDays)) });
  const outboxId = await tx.outbox.enqueue(registrationId, 'registration', at);
  return { userId, registrationId, outboxId };
}

export function alreadyRegistered(portal: Portal, email: string, existingId: number): RefusedError {
  return new RefusedError(
    'already_registered',
    `${quote(email)} already has a profile in portal ${portal.slug} (user ${existingId}); to send them a new registration email use \`portalctl users resend-registration ${existingId}\`.`,
    { userId: existingId },
  );
}

/** Rule 1 inside a transaction: a new unlinked user, an active registration and its queued email. */
export async function inviteInTx(tx: Tx, portal: Portal, person: NewPerson, stamp: Stamp, opts: { lookedUp?: boolean } = {}): Promise<RecordedRegistration> {
  // lookedUp: the caller asked for this address in this transaction and found nobody.
  const existing = opts.lookedUp ? undefined : await tx.users.byEmail(portal.id, person.email);
  if (existing) throw alreadyRegistered(portal, person.email, existing.id);
  const at = iso(stamp.now);
  const removalDueAt = iso(addDays(stamp.now, portal.removalDays));
  const userId = await tx.users.insert({
    portalId: portal.id,
    firstName: person.firstName,
    lastName: person.lastName,
    email: person.email,
    removalDueAt,
    createdAt: at,
  });
  const recorded = await recordRegistration(tx, portal, userId, person.email, stamp.now);
  await tx.audit.append({
    at,
    actor: stamp.actor,
    action: 'invite',
    portal: portal.slug,
    userId,
    userEmail: person.email,
    after: { ...auditSnapshot({ ...person, loginService: null, username: null, removalDueAt }), registrationId: recorded.registrationId },
  });
  await emit(tx, 'invited', portal, { id: userId, email: person.email }, at, {
    registrationId: recorded.registrationId,
    removalDueAt,
    firstName: person.firstName,
    lastName: person.lastName,
  });
  return recorded;
}

/** Rule 1: one person, all or nothing. */
export function invite(store: Store, portal: Portal, person: NewPerson, stamp: Stamp): Promise<RecordedRegistration> {
  return store.write((tx) => inviteInTx(tx, portal, person, stamp));
}

/** How many addresses of a bulk invite are looked up at once. */
const LOOKUP_BATCH = 1000;

export interface BulkInvite {
  invited: (RecordedRegistration & { email: string })[];
  /** People who already have a profile (found before, or invited meanwhile by another process). */
  skipped: { email: string; userId: number }[];
  /** Emails of earlier runs for the skipped people that never went out. */
  leftover: number[];
}

/**
 * Many people in one transaction: a run killed while recording has invited
 * nobody; a run killed later has invited everyone with their emails queued.
 */
export function inviteMany(store: Store, portal: Portal, people: NewPerson[], stamp: Stamp): Promise<BulkInvite> {
  return store.write(async (tx) => {
    const out: BulkInvite = { invited: [], skipped: [], leftover: [] };
    const skippedRegistrations: number[] = [];
    // Who already has a profile, asked a batch at a time: on PostgreSQL one round trip per
    // person would be most of a bulk invite's time. (A file never names an address twice.)
    for (let i = 0; i < people.length; i += LOOKUP_BATCH) {
      const batch = people.slice(i, i + LOOKUP_BATCH);
      const known = new Map(
        (
          await tx.users.byEmails(
            portal.id,
            batch.map((p) => p.email),
          )
        ).map((u) => [emailKey(u.email), u]),
      );
      for (const p of batch) {
        const existing = known.get(emailKey(p.email));
        if (existing) {
          out.skipped.push({ email: p.email, userId: existing.id });
          const active = await tx.registrations.active(existing.id);
          if (active && !existing.loginService) skippedRegistrations.push(active.id);
          continue;
        }
        out.invited.push({ ...(await inviteInTx(tx, portal, p, stamp, { lookedUp: true })), email: p.email });
      }
    }
    out.leftover = await tx.outbox.queuedFor(skippedRegistrations);
    return out;
  });
}

/** The users of the portal with an expired link who are not linked: whom `--all-expired` re-sends to. */
export async function expiredUserIds(store: Store, portal: Portal, now: Date): Promise<number[]> {
  const ids: number[] = [];
  for await (const batch of store.listUsers({ portalId: portal.id, now: iso(now), status: 'expired' })) for (const u of batch) ids.push(u.id);
  return ids;
}

/**
 * Rule 3, "Send New Registration", for each user: a new link and expiry,
 * optionally to a new address (one user only). Every earlier link of theirs
 * stops working. The whole batch is one transaction: all of it or none.
 */
export function resendRegistrations(
  store: Store,
  portal: Portal,
  userIds: number[],
  newEmail: string | undefined,
  stamp: Stamp,
): Promise<RecordedRegistration[]> {
  if (newEmail !== undefined && userIds.length !== 1) throw new UsageError("--email changes one user's address; name exactly one user with it.", 'usage');
  return store.write(async (tx) => {
    const out: RecordedRegistration[] = [];
    const at = iso(stamp.now);
    for (const id of userIds) {
      const user = await tx.users.listing(id);
      if (!user || user.portalId !== portal.id) throw new RefusedError('not_found', `User ${id} no longer exists in portal ${portal.slug}; nothing was sent.`);
      let email = user.email;
      if (newEmail !== undefined && emailKey(newEmail) !== emailKey(user.email)) {
        const other = await tx.users.byEmail(portal.id, newEmail);
        if (other && other.id !== user.id) {
          throw new RefusedError(
            'email_in_use',
            `${quote(newEmail)} already belongs to user ${other.id} in portal ${portal.slug}; choose another address, or re-send to user ${other.id} instead.`,
          );
        }
      }
      if (newEmail !== undefined) {
        email = newEmail;
        await tx.users.setEmail(user.id, email);
      }
      const previous = await tx.registrations.supersedeActive(user.id, at);
      const recorded = await recordRegistration(tx, portal, user.id, email, stamp.now);
      await tx.audit.append({
        at,
        actor: stamp.actor,
        action: 'resend-registration',
        portal: portal.slug,
        userId: user.id,
        userEmail: email,
        before: { email: user.email, registrationId: previous?.id ?? null, registrationExpiresAt: previous?.expiresAt ?? null },
        after: { email, registrationId: recorded.registrationId },
      });
      out.push(recorded);
    }
    return out;
  });
}

/** Rule 6: restart an unlinked user's removal countdown at `days` from now. */
export function setRemovalDays(store: Store, portal: Portal, userId: number, days: number, stamp: Stamp): Promise<string> {
  return store.write(async (tx) => {
    const user = await tx.users.listing(userId);
    if (!user || user.portalId !== portal.id) throw new RefusedError('not_found', `User ${userId} no longer exists in portal ${portal.slug}.`);
    if (user.loginService) {
      throw new RefusedError(
        'user_linked',
        `User ${user.id} (${quote(user.email)}) is linked to a login service account, and linked users are never removed; there is no removal date to reset.`,
      );
    }
    const due = iso(addDays(stamp.now, days));
    await tx.users.setRemovalDue(user.id, due);
    await tx.audit.append({
      at: iso(stamp.now),
      actor: stamp.actor,
      action: 'set-removal-days',
      portal: portal.slug,
      userId: user.id,
      userEmail: user.email,
      before: { removalDueAt: user.removalDueAt },
      after: { removalDueAt: due, days },
    });
    return due;
  });
}

// ---------------------------------------------------------------- Step 2

const MAX_LINK_INPUT = 4096;

/** What a person pasted, taken apart: the token, and the URL if a whole URL was given. */
export interface LinkInput {
  token: string;
  url?: URL;
}

/**
 * Extracts the token from the full Step 2 URL or the bare token. Input that
 * cannot be a copied link at all (control characters, kilobytes of text) is
 * a usage error; a link that is merely incomplete or altered is
 * link_malformed — the FAQ's "incorrectly copied". The token is never echoed.
 */
export function parseLinkInput(raw: string): LinkInput {
  if (raw.length > MAX_LINK_INPUT) {
    throw new UsageError(
      `The link given is ${raw.length} characters long, far longer than a Step 2 link; copy the link from the registration email again.`,
      'invalid_link',
    );
  }
  const value = raw.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, '');

  if (LINK_UNSAFE.test(value)) {
    throw new UsageError('The link given contains control characters; copy the link from the registration email again.', 'invalid_link');
  }
  if (/^[a-z][a-z0-9+.-]*:/i.test(value)) {
    let url: URL | undefined;
    try {
      url = new URL(value);
    } catch {
      throw malformed();
    }
    const token = url.searchParams.get('token') ?? '';
    if (!isWellFormedToken(token)) throw malformed();
    return { token, url };
  }
  if (!isWellFormedToken(value)) throw malformed();
  return { token: value };
}

/** True when the URL is this portal's own Step 2 address (scheme, host, port and path). */
export function isPortalLinkUrl(url: URL, portal: Portal): boolean {
  let base: URL;
  try {
    base = new URL(portal.baseUrl);
  } catch {
    return false;
  }
  const basePath = base.pathname.replace(/\/$/, '');
  return url.origin === base.origin && url.pathname === `${basePath}${LINK_PATH}` && url.protocol === base.protocol;
}

function malformed(): RefusedError {
  return new RefusedError(
    'link_malformed',
    'Error linking your account: the link is incomplete or has been altered, most likely because it was not copied whole. Click the link in Step 2 of the registration email, or copy and paste the entire URL.',
  );
}

function unknownLink(): RefusedError {
  return new RefusedError(
    'link_unknown',
    'Error linking your account: there is no such registration link. It may have been copied incompletely or changed; click the link in Step 2 of the registration email, or copy the entire URL. If it still fails, ask the Site Administrator for a new registration email.',
  );
}

export interface LinkRequest {
  token: string;
  service: ServiceKey;
  account: string;
  /** The portal in scope: a token of another portal is unknown here. Undefined: any portal (the web page). */
  portalId?: number;
}

export interface LinkResult {
  user: UserListing;
  portal: Portal;
  outcome: 'linked' | 'relinked' | 'unchanged';
}

/** Where a Step 2 token leads, read without changing anything (the web page shows it). */
export interface LinkTarget {
  portal: Portal;
  user: UserListing;
  registration: Registration;
}

/**
 * Why a token cannot be used, as the error the person is shown — or its
 * target when it can. Shared by the web page (which only looks) and by
 * redemption (which then links).
 */
async function judge(
  tx: Tx,
  token: string,
  portalId: number | undefined,
  stamp: Stamp,
  account?: { service: string; key: string },
): Promise<{ target?: LinkTarget; error?: RefusedError; same?: boolean }> {
  const found = await tx.tokens.target(tokenDigest(token));
  if (!found) return { error: unknownLink() };
  const { token: tok, registration, user, portal } = found;
  if (portalId !== undefined && user.portalId !== portalId) return { error: unknownLink() };
  const target = { portal, user, registration };
  const zone = portal.timeZone ?? stamp.zone;
  const admin = `the Site Administrator (${portal.adminEmail})`;
  if (registration.state === 'used') {
    const sameAccount = account !== undefined && registration.usedService === account.service && accountKey(registration.usedUsername ?? '') === account.key;
    if (sameAccount && user.loginService === account!.service && accountKey(user.username ?? '') === account!.key) return { target, same: true };
    if (!sameAccount) {
      return {
        target,
        error: new RefusedError(
          'link_used',
          `Error linking your account: this link has already been used to link a different account. Each registration email is unique to the person receiving it; if someone shared their registration email, contact ${admin} to create a new portal account.`,
        ),
      };
    }
  }
  if (registration.state !== 'active' || tok.retiredAt) {
    const newer = await tx.registrations.newestAfter(user.id, registration.id);
    const when = registration.supersededAt ?? tok.retiredAt ?? newer?.createdAt ?? iso(stamp.now);
    return {
      target,
      error: new RefusedError(
        'link_superseded',
        `Error linking your account: this link was replaced by a newer registration email sent ${formatLocal(when, zone)}. Use the link in Step 2 of the newest registration email.`,
        { supersededAt: when },
      ),
    };
  }
  if (registration.expiresAt <= iso(stamp.now)) {
    return {
      target,
      error: new RefusedError(
        'link_expired',
        `Error linking your account: this link expired ${formatLocal(registration.expiresAt, zone)}. Ask ${admin} to send you a new registration email.`,
        {
          expiredAt: registration.expiresAt,
        },
      ),
    };
  }
  return { target };
}

/**
 * Where a token leads, for the Step 2 page: the target when the link can be
 * used, else the error the page explains. Records nothing.
 */
export async function inspectLink(store: Store, token: string, stamp: Stamp, portalId?: number): Promise<{ target?: LinkTarget; error?: RefusedError }> {
  return store.read((tx) => judge(tx, token, portalId, stamp));
}

/** A Step 2 page view: who saw which link, and when. */
export interface LinkView {
  target: LinkTarget;
  clientAddress: string | null;
  userAgent: string | null;
  stamp: Stamp;
}

/** A Step 2 page view (by a person or a mail scanner): recorded, never uses the link up. */
export function recordLinkView(
  store: Store,
  target: LinkTarget,
  view: { clientAddress: string | null; userAgent: string | null },
  stamp: Stamp,
): Promise<void> {
  return recordLinkViews(store, [{ target, ...view, stamp }]);
}

/** Several page views in one transaction (serve groups concurrent views: see group-commit.ts), each as recordLinkView records it. */
export function recordLinkViews(store: Store, views: readonly LinkView[]): Promise<void> {
  return store.write(async (tx) => {
    for (const { target, clientAddress, userAgent, stamp } of views) {
      const at = iso(stamp.now);
      await tx.linkViews.record({ at, userId: target.user.id, registrationId: target.registration.id, clientAddress, userAgent });
      await emit(tx, 'link_viewed', target.portal, target.user, at, { registrationId: target.registration.id, clientAddress, userAgent });
    }
  });
}

/** Rules 4 and 5: redeem a Step 2 link. Exactly one of two racing redemptions wins. */
export async function redeemLink(store: Store, req: LinkRequest, stamp: Stamp): Promise<LinkResult> {
  const outcome = await store.write(async (tx): Promise<{ error: RefusedError } | { result: LinkResult }> => {
    const at = iso(stamp.now);
    const key = accountKey(req.account);
    const { target, error, same } = await judge(tx, req.token, req.portalId, stamp, { service: req.service, key });
    if (!target) return { error: error! };
    const { portal, user, registration } = target;
    const attempt = (outcome: string) =>
      tx.linkAttempts.record({
        at,
        userId: user.id,
        registrationId: registration.id,
        service: req.service,
        username: req.account,
        outcome,
        actor: stamp.actor,
      });
    const fail = async (err: RefusedError) => {
      await attempt(err.code);
      await emit(tx, 'link_failed', portal, user, at, { code: err.code, registrationId: registration.id, loginService: req.service, username: req.account });
      return { error: err };
    };
    if (same) {
      await attempt('unchanged');
      return { result: { user, portal, outcome: 'unchanged' as const } };
    }
    if (error) return fail(error);
    const holder = await tx.users.byAccount(portal.id, req.service, req.account);
    if (holder && holder.id !== user.id) {
      return fail(
        new RefusedError(
          'account_in_use',
          `Error linking your account: the ${serviceName(req.service)} account ${quote(req.account)} is already linked to another user of portal ${portal.slug}. Sign in with your own account, or contact the Site Administrator (${portal.adminEmail}).`,
        ),
      );
    }
    const relink = user.loginService !== null;
    await tx.registrations.markUsed(registration.id, at, req.service, req.account);
    await tx.tokens.retireOthers(registration.id, tokenDigest(req.token), at);
    await tx.users.link(user.id, req.service, req.account, at);
    const outcomeName = relink ? 'relinked' : 'linked';
    await attempt(outcomeName);
    await tx.audit.append({
      at,
      actor: stamp.actor,
      action: relink ? 'relink' : 'link',
      portal: portal.slug,
      userId: user.id,
      userEmail: user.email,
      before: { loginService: user.loginService, username: user.username, removalDueAt: user.removalDueAt },
      after: { loginService: req.service, username: req.account, registrationId: registration.id },
    });
    await emit(tx, outcomeName, portal, user, at, {
      registrationId: registration.id,
      loginService: req.service,
      username: req.account,
      ...(relink ? { previous: { loginService: user.loginService, username: user.username } } : {}),
    });
    const linked = (await tx.users.listing(user.id))!;
    return { result: { user: linked, portal, outcome: outcomeName } };
  });
  if ('error' in outcome) throw outcome.error;
  return outcome.result;
}

// ---------------------------------------------------------------- removal

/**
 * How many users each removal transaction takes: 500 first, so that a small run is one short
 * transaction and its first progress shows at once, then twice as many each time up to 2,000. The
 * write lock is held briefly whatever the total (~0.2 s a batch on a 100k store, ~0.3 s on 1M),
 * and a batch rewrites each index page it touches once: with 500 a batch, removing 50k of 100k
 * users rewrote the email, name and token indexes' pages ~40 times over (prune 1.58x the
 * set-based SQL; with 2,000, 1.26x).
 */
export const REMOVAL_BATCH = { first: 500, most: 2000 } as const;

/** The sizes of successive removal batches (REMOVAL_BATCH). */
function removalBatchSizes(): () => number {
  let next: number = REMOVAL_BATCH.first;
  return () => {
    const size = next;
    next = Math.min(next * 2, REMOVAL_BATCH.most);
    return size;
  };
}

async function removeInTx(tx: Tx, users: UserListing[], stamp: Stamp, action: 'prune' | 'remove'): Promise<void> {
  const at = iso(stamp.now);
  // prune records the expiry it notices (SPEC: events) of the links of the users it removes here,
  // before their removal: their registrations go with them, so nothing needs marking, and the
  // expiry sweep after the removal is left with the users who stay.
  const expired = new Map(
    action === 'prune'
      ? (
          await tx.registrations.newlyExpiredOf(
            users.map((u) => u.id),
            at,
          )
        ).map((r) => [r.userId, r])
      : [],
  );
  for (const u of users) {
    const registration = expired.get(u.id);
    if (registration) await emit(tx, 'expired', u.portal, u, at, { registrationId: registration.id, expiredAt: registration.expiresAt });
    await tx.audit.append({
      at,
      actor: stamp.actor,
      action,
      portal: u.portal,
      userId: u.id,
      userEmail: u.email,
      before: { ...auditSnapshot(u), createdAt: u.createdAt },
    });
    await emit(tx, 'removed', u.portal, u, at, { reason: action, wasLinked: u.loginService !== null });
  }
  await tx.users.remove(users.map((u) => u.id));
}

/**
 * Rule 6: removes (or, dry run, lists) unlinked users past their removal date
 * with no valid link, a batch per transaction. Each batch re-checks the rule
 * inside its transaction, so a link completed meanwhile keeps its user.
 * Yields each batch as it is done; stop iterating to stop removing.
 */
export async function* prune(store: Store, scope: { portalId?: number }, stamp: Stamp, dryRun: boolean): AsyncIterable<UserListing[]> {
  const now = iso(stamp.now);
  const nextSize = removalBatchSizes();
  let afterId = 0;
  for (;;) {
    const size = nextSize();
    const batch = dryRun
      ? await store.read((tx) => tx.users.prunable({ ...scope, afterId }, now, size))
      : await store.write(async (tx) => {
          const due = await tx.users.prunable({ ...scope, afterId }, now, size);
          if (due.length) await removeInTx(tx, due, stamp, 'prune');
          return due;
        });
    if (batch.length === 0) return;
    afterId = batch[batch.length - 1]!.id;
    yield batch;
  }
}

/** Who `users remove` removes: these users, or the portal's users with a status (ids up to `throughId`, the last when the run began). */
export type RemovalTarget = { ids: number[] } | { status: StatusFilter; throughId: number };

/**
 * Removal by hand ("users remove"): the profiles go at once and every link of
 * theirs stops working. Linked users only when `includeLinked`. Like prune, a
 * batch per transaction, each read inside it: users chosen by their status are
 * found a page at a time (by id, so the work and the memory do not grow with
 * the store), and one who linked or got a new link meanwhile is kept; users
 * invited after the run began are not touched.
 */
export async function* removeUsers(
  store: Store,
  portal: Portal,
  target: RemovalTarget,
  stamp: Stamp,
  opts: { includeLinked: boolean; dryRun: boolean },
): AsyncIterable<UserListing[]> {
  const now = iso(stamp.now);
  const keep = (u: UserListing | undefined): u is UserListing => u !== undefined && u.portalId === portal.id && (opts.includeLinked || !u.loginService); // gone meanwhile, or linked meanwhile
  const inTx = <T>(fn: (tx: Tx) => Promise<T>) => (opts.dryRun ? store.read(fn) : store.write(fn));
  const nextSize = removalBatchSizes();
  if ('status' in target) {
    let afterId = 0;
    for (;;) {
      const size = nextSize();
      const { page, users } = await inTx(async (tx) => {
        const page = await tx.users.withStatus({ portalId: portal.id, status: target.status, afterId, throughId: target.throughId }, now, size);
        const users = page.filter(keep);
        if (!opts.dryRun && users.length) await removeInTx(tx, users, stamp, 'remove');
        return { page, users };
      });
      if (page.length === 0) return;
      afterId = page[page.length - 1]!.id;
      if (users.length) yield users;
    }
  }
  for (let i = 0, size = nextSize(); i < target.ids.length; i += size, size = nextSize()) {
    const ids = target.ids.slice(i, i + size);
    const batch = await inTx(async (tx) => {
      const found = new Map((await tx.users.listings(ids)).map((u) => [u.id, u]));
      const users = ids.map((id) => found.get(id)).filter(keep);
      if (!opts.dryRun && users.length) await removeInTx(tx, users, stamp, 'remove');
      return users;
    });
    if (batch.length) yield batch;
  }
}

/** Whether the user has the status of a --status filter at `now`. */
export function hasStatus(u: UserListing, status: StatusFilter, now: string): boolean {
  return status === 'unlinked' ? u.loginService === null : userStatus(u, now) === status;
}

/**
 * Records an `expired` event for each active registration whose link has
 * expired and that no event has recorded yet. Run by remind, prune and serve.
 */
export async function recordExpiries(store: Store, stamp: Stamp, limit = 1000): Promise<number> {
  const at = iso(stamp.now);
  let total = 0;
  for (;;) {
    const n = await store.write(async (tx) => {
      const due = await tx.registrations.newlyExpired(at, limit);
      for (const { registration, user } of due) {
        await emit(tx, 'expired', user.portal, user, at, { registrationId: registration.id, expiredAt: registration.expiresAt });
      }
      await tx.registrations.markExpiryRecorded(due.map((d) => d.registration.id));
      return due.length;
    });
    total += n;
    if (n < limit) return total;
  }
}
