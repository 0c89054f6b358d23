// The registration lifecycle (SPEC "Lifecycle rules"): invite, Send New
// Registration, Step 2 linking, removal dates and prune. Every function here
// runs its reads and writes in one immediate transaction and leaves an audit
// record; none of them knows about argv, terminals or email transport.

import { RefusedError, UsageError } from '../errors.js';
import { neutralize } from '../output/sanitize.js';
import type { PortalRow, RegistrationRow, Store, UserListRow, UserRow } from '../store/store.js';
import { USER_LIST_SELECT } from '../store/store.js';
import { serviceName, type ServiceKey } from './services.js';
import { addDays, formatLocal, iso } from './time.js';
import { isWellFormedToken, tokenDigest } from './tokens.js';
import { auditSnapshot } from './users.js';
import { accountKey, emailKey } from './validate.js';

export interface Actor {
  name: string;
  now: Date;
}

export interface NewPerson {
  email: string;
  firstName: string;
  lastName: string;
}

export interface Queued {
  userId: number;
  registrationId: number;
  outboxId: number;
}

function insertRegistration(store: Store, userId: number, email: string, portal: PortalRow, now: Date): Queued {
  const nowIso = iso(now);
  const reg = store
    .prepare(`INSERT INTO registrations (user_id, email, created_at, expires_at, state) VALUES (?, ?, ?, ?, 'active')`)
    .run(userId, email, nowIso, iso(addDays(now, portal.link_days)));
  const registrationId = Number(reg.lastInsertRowid);
  const out = store
    .prepare(`INSERT INTO outbox (registration_id, state, created_at, updated_at) VALUES (?, 'queued', ?, ?)`)
    .run(registrationId, nowIso, nowIso);
  return { userId, registrationId, outboxId: Number(out.lastInsertRowid) };
}

function alreadyRegistered(portal: PortalRow, email: string, existingId: number): RefusedError {
  return new RefusedError(
    'already_registered',
    `${neutralize(email)} already has a profile in portal ${portal.slug} (user ${existingId}); to send them a new registration email use \`portalctl users resend-registration ${existingId}\`.`,
    { userId: existingId },
  );
}

/** Rule 1: a new unlinked user, an active registration and its queued email — all or nothing. */
export function invite(store: Store, portal: PortalRow, person: NewPerson, actor: Actor): Queued {
  return store.write(() => inviteInTransaction(store, portal, person, actor));
}

/** The body of invite(), for callers that batch many invitations in one transaction. */
export function inviteInTransaction(store: Store, portal: PortalRow, person: NewPerson, actor: Actor): Queued {
  const key = emailKey(person.email);
  const existing = store.prepare('SELECT id FROM users WHERE portal_id = ? AND email_key = ?').get(portal.id, key) as
    | { id: number }
    | undefined;
  if (existing) throw alreadyRegistered(portal, person.email, existing.id);
  const nowIso = iso(actor.now);
  const removalDue = iso(addDays(actor.now, portal.removal_days));
  const res = store
    .prepare(
      `INSERT INTO users (portal_id, first_name, last_name, email, email_key, removal_due_at, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    )
    .run(portal.id, person.firstName, person.lastName, person.email, key, removalDue, nowIso);
  const userId = Number(res.lastInsertRowid);
  const queued = insertRegistration(store, userId, person.email, portal, actor.now);
  store.audit({
    at: nowIso,
    actor: actor.name,
    action: 'invite',
    portal: portal.slug,
    userId,
    userEmail: person.email,
    after: { ...auditSnapshot({ email: person.email, first_name: person.firstName, last_name: person.lastName, login_service: null, username: null, removal_due_at: removalDue }), registrationId: queued.registrationId },
  });
  return queued;
}

/** Supersedes the user's active registration: its links stop working and an unsent email for it is dropped. */
function supersedeActive(store: Store, userId: number, nowIso: string): RegistrationRow | undefined {
  const active = store.prepare(`SELECT * FROM registrations WHERE user_id = ? AND state = 'active'`).get(userId) as
    | RegistrationRow
    | undefined;
  if (!active) return undefined;
  store.prepare(`UPDATE registrations SET state = 'superseded', superseded_at = ? WHERE id = ?`).run(nowIso, active.id);
  store.prepare(`UPDATE link_tokens SET retired_at = ? WHERE registration_id = ? AND retired_at IS NULL`).run(nowIso, active.id);
  store.prepare(`DELETE FROM outbox WHERE registration_id = ? AND state <> 'sent'`).run(active.id);
  return active;
}

/** Rule 3, "Send New Registration": a new link and expiry, optionally to a new address. */
export function resendRegistration(store: Store, portal: PortalRow, userId: number, newEmail: string | undefined, actor: Actor): Queued {
  return store.write(() => {
    const user = store.prepare('SELECT * FROM users WHERE id = ? AND portal_id = ?').get(userId, portal.id) as UserRow | undefined;
    if (!user) throw new RefusedError('not_found', `User ${userId} no longer exists in portal ${portal.slug}.`);
    const nowIso = iso(actor.now);
    let email = user.email;
    if (newEmail !== undefined && emailKey(newEmail) !== user.email_key) {
      const other = store.prepare('SELECT id FROM users WHERE portal_id = ? AND email_key = ? AND id <> ?').get(portal.id, emailKey(newEmail), user.id) as
        | { id: number }
        | undefined;
      if (other) {
        throw new RefusedError(
          'email_in_use',
          `${neutralize(newEmail)} already belongs to user ${other.id} in portal ${portal.slug}; choose another address, or re-send to user ${other.id} instead.`,
        );
      }
    }
    if (newEmail !== undefined) {
      email = newEmail;
      store.prepare('UPDATE users SET email = ?, email_key = ? WHERE id = ?').run(email, emailKey(email), user.id);
    }
    const previous = supersedeActive(store, user.id, nowIso);
    const queued = insertRegistration(store, user.id, email, portal, actor.now);
    store.audit({
      at: nowIso,
      actor: actor.name,
      action: 'resend-registration',
      portal: portal.slug,
      userId: user.id,
      userEmail: email,
      before: { email: user.email, registrationId: previous?.id ?? null, registrationExpiresAt: previous?.expires_at ?? null },
      after: { email, registrationId: queued.registrationId },
    });
    return queued;
  });
}

/** Rule 6: restart an unlinked user's removal countdown at `days` from now. */
export function setRemovalDays(store: Store, portal: PortalRow, userId: number, days: number, actor: Actor): void {
  store.write(() => {
    const user = store.prepare('SELECT * FROM users WHERE id = ? AND portal_id = ?').get(userId, portal.id) as UserRow | undefined;
    if (!user) throw new RefusedError('not_found', `User ${userId} no longer exists in portal ${portal.slug}.`);
    if (user.login_service) {
      throw new RefusedError(
        'user_linked',
        `User ${user.id} (${neutralize(user.email)}) is linked to a login service account, and linked users are never removed; there is no removal date to reset.`,
      );
    }
    const due = iso(addDays(actor.now, days));
    store.prepare('UPDATE users SET removal_due_at = ? WHERE id = ?').run(due, user.id);
    store.audit({
      at: iso(actor.now),
      actor: actor.name,
      action: 'set-removal-days',
      portal: portal.slug,
      userId: user.id,
      userEmail: user.email,
      before: { removalDueAt: user.removal_due_at },
      after: { removalDueAt: due, days },
    });
  });
}

// ---------------------------------------------------------------- Step 2

const MAX_LINK_INPUT = 4096;

/**
 * Extracts the token from what a person pasted: the full Step 2 URL or the bare
 * token. Input that cannot be a copied link at all (control characters, NUL,
 * kilobytes of text) is a usage error; a link that is merely incomplete or
 * altered is link_malformed, as the FAQ's "incorrectly copied" case.
 */
export function parseLinkInput(raw: string): string {
  if (raw.length > MAX_LINK_INPUT) {
    throw new UsageError(`The link given is ${raw.length} characters long, far longer than a Step 2 link; copy the link from the registration email again.`, 'invalid_link');
  }
  const value = raw.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, '');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/.test(value)) {
    throw new UsageError(`The link given contains control characters (${JSON.stringify(neutralize(value.slice(0, 60)))}); copy the link from the registration email again.`, 'invalid_link');
  }
  let token = value;
  if (/^[a-z][a-z0-9+.-]*:/i.test(value)) {
    let url: URL | undefined;
    try {
      url = new URL(value);
    } catch {
      url = undefined;
    }
    token = url?.searchParams.get('token') ?? '';
  }
  if (!isWellFormedToken(token)) throw malformed();
  return token;
}

function malformed(): RefusedError {
  return new RefusedError(
    'link_malformed',
    'Error linking your account: the link is incomplete or has been altered, most likely because it was not copied whole. Click the link in Step 2 of the registration email, or copy and paste the entire URL.',
  );
}

export interface LinkRequest {
  token: string;
  service: ServiceKey;
  account: string;
}

export interface LinkResult {
  userId: number;
  portal: PortalRow;
  outcome: 'linked' | 'relinked' | 'unchanged';
}

interface TokenRow {
  retired_at: string | null;
  reg_id: number;
}

/** Rules 4 and 5: redeem a Step 2 link. Exactly one of two racing redemptions wins. */
export function redeemLink(store: Store, req: LinkRequest, actor: Actor): LinkResult {
  const digest = tokenDigest(req.token);
  const nowIso = iso(actor.now);
  const outcome = store.write(() => {
    const tok = store.prepare('SELECT retired_at, registration_id AS reg_id FROM link_tokens WHERE digest = ?').get(digest) as TokenRow | undefined;
    if (!tok) {
      return {
        error: new RefusedError(
          'link_unknown',
          'Error linking your account: there is no such registration link. It may have been copied incompletely or changed; click the link in Step 2 of the registration email, or copy the entire URL. If it still fails, ask the Site Administrator for a new registration email.',
        ),
      };
    }
    const reg = store.prepare('SELECT * FROM registrations WHERE id = ?').get(tok.reg_id) as RegistrationRow;
    const user = store.prepare('SELECT * FROM users WHERE id = ?').get(reg.user_id) as UserRow;
    const portal = store.portalById(user.portal_id)!;
    const key = accountKey(req.account);
    const record = (result: string) =>
      store
        .prepare('INSERT INTO link_attempts (at, user_id, registration_id, service, username, outcome, actor) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(nowIso, user.id, reg.id, req.service, req.account, result, actor.name);
    const fail = (error: RefusedError) => {
      record(error.code);
      return { error };
    };
    const zone = portal.time_zone ?? undefined;
    const admin = `the Site Administrator (${portal.admin_email})`;

    if (reg.state === 'used') {
      const sameAccount = reg.used_service === req.service && accountKey(reg.used_username ?? '') === key;
      if (sameAccount && user.login_service === req.service && user.username_key === key) {
        record('unchanged');
        return { result: { userId: user.id, portal, outcome: 'unchanged' as const } };
      }
      if (!sameAccount) {
        return fail(
          new RefusedError(
            'link_used',
            `Error linking your account: this link has already been used to link a different account. Each registration email is unique to the person receiving it; if someone shared their registration email, contact ${admin} to create a new portal account.`,
          ),
        );
      }
    }
    if (reg.state !== 'active' || tok.retired_at) {
      const newer = store
        .prepare(`SELECT created_at FROM registrations WHERE user_id = ? AND id > ? ORDER BY id DESC LIMIT 1`)
        .get(user.id, reg.id) as { created_at: string } | undefined;
      const when = reg.superseded_at ?? tok.retired_at ?? newer?.created_at ?? nowIso;
      return fail(
        new RefusedError(
          'link_superseded',
          `Error linking your account: this link was replaced by a newer registration email sent ${formatLocal(when, zone)}. Use the link in Step 2 of the newest registration email.`,
          { supersededAt: when },
        ),
      );
    }
    if (reg.expires_at <= nowIso) {
      return fail(
        new RefusedError(
          'link_expired',
          `Error linking your account: this link expired ${formatLocal(reg.expires_at, zone)}. Ask ${admin} to send you a new registration email.`,
          { expiredAt: reg.expires_at },
        ),
      );
    }
    const holder = store
      .prepare('SELECT id FROM users WHERE portal_id = ? AND login_service = ? AND username_key = ? AND id <> ?')
      .get(portal.id, req.service, key, user.id) as { id: number } | undefined;
    if (holder) {
      return fail(
        new RefusedError(
          'account_in_use',
          `Error linking your account: the ${serviceName(req.service)} account ${JSON.stringify(neutralize(req.account))} is already linked to another user of portal ${portal.slug}. Sign in with your own account, or contact ${admin}.`,
        ),
      );
    }

    const relink = user.login_service !== null;
    store
      .prepare(`UPDATE registrations SET state = 'used', used_at = ?, used_service = ?, used_username = ? WHERE id = ?`)
      .run(nowIso, req.service, req.account, reg.id);
    store.prepare('UPDATE link_tokens SET retired_at = ? WHERE registration_id = ? AND digest <> ? AND retired_at IS NULL').run(nowIso, reg.id, digest);
    store
      .prepare('UPDATE users SET login_service = ?, username = ?, username_key = ?, linked_at = ?, removal_due_at = NULL WHERE id = ?')
      .run(req.service, req.account, key, nowIso, user.id);
    const outcomeName = relink ? 'relinked' : 'linked';
    record(outcomeName);
    store.audit({
      at: nowIso,
      actor: actor.name,
      action: relink ? 'relink' : 'link',
      portal: portal.slug,
      userId: user.id,
      userEmail: user.email,
      before: { loginService: user.login_service, username: user.username, removalDueAt: user.removal_due_at },
      after: { loginService: req.service, username: req.account, registrationId: reg.id },
    });
    return { result: { userId: user.id, portal, outcome: outcomeName as LinkResult['outcome'] } };
  });
  if ('error' in outcome) throw outcome.error;
  return outcome.result;
}

// ---------------------------------------------------------------- prune

/** Rule 6: unlinked, past the removal date, and no link that is still valid. */
const PRUNABLE = `u.login_service IS NULL AND u.removal_due_at <= :now
  AND NOT EXISTS (SELECT 1 FROM registrations a WHERE a.user_id = u.id AND a.state = 'active' AND a.expires_at > :now)`;

/**
 * Removes (or, dry-run, lists) the users due for removal. The check and the
 * removal are one write transaction, so a link completed at the same moment
 * either lands first (and the user is kept) or waits for the prune.
 */
export function prune(store: Store, portalIds: number[] | 'all', dryRun: boolean, actor: Actor): UserListRow[] {
  const nowIso = iso(actor.now);
  const scope = portalIds === 'all' ? '' : `AND u.portal_id IN (${portalIds.map(Number).join(',') || 'NULL'})`;
  const select = store.prepare(`${USER_LIST_SELECT} WHERE ${PRUNABLE} ${scope} ORDER BY u.id`);
  if (dryRun) return store.read(() => select.all({ now: nowIso }) as UserListRow[]);
  return store.write(() => {
    const rows = select.all({ now: nowIso }) as UserListRow[];
    if (rows.length === 0) return rows;
    const auditStmt = store.prepare(
      `INSERT INTO audit (at, actor, action, portal, user_id, user_email, before, after) VALUES (?, ?, 'prune', ?, ?, ?, ?, NULL)`,
    );
    for (const row of rows) {
      auditStmt.run(nowIso, actor.name, row.portal, row.id, row.email, JSON.stringify({ ...auditSnapshot(row), createdAt: row.created_at }));
    }
    store.prepare(`DELETE FROM users AS u WHERE ${PRUNABLE} ${scope}`).run({ now: nowIso });
    return rows;
  });
}
