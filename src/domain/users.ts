// Users as the Users overview shows them (SPEC "The Users overview table" and
// the JSON shape), their status, and finding one by id or address.

import { NotFoundError, UsageError } from '../errors.js';
import { quote } from '../text.js';
import type { Portal, StatusFilter, Tx, UserListing, UserSort } from '../store/types.js';
import { serviceName } from './services.js';
import { formatDate } from './time.js';

export type UserStatus = 'linked' | 'pending' | 'expired';

export const STATUS_FILTERS: readonly StatusFilter[] = ['linked', 'pending', 'expired', 'unlinked'];
export const USER_SORTS: readonly UserSort[] = ['id', 'name', 'email', 'status', 'expires', 'removal'];

/** A user in the shape of SPEC's JSON (times ISO 8601 UTC). */
export interface UserView {
  id: number;
  portal: string;
  firstName: string;
  lastName: string;
  email: string;
  status: UserStatus;
  loginService: string | null;
  loginServiceName: string | null;
  username: string | null;
  registrationExpiresAt: string | null;
  removalDueAt: string | null;
  linkedAt: string | null;
  createdAt: string;
}

export function userStatus(u: Pick<UserListing, 'loginService' | 'registrationExpiresAt'>, nowIso: string): UserStatus {
  if (u.loginService) return 'linked';
  return u.registrationExpiresAt !== null && u.registrationExpiresAt > nowIso ? 'pending' : 'expired';
}

export function toUserView(u: UserListing, nowIso: string): UserView {
  return {
    id: u.id,
    portal: u.portal,
    firstName: u.firstName,
    lastName: u.lastName,
    email: u.email,
    status: userStatus(u, nowIso),
    loginService: u.loginService,
    loginServiceName: serviceName(u.loginService),
    username: u.username,
    registrationExpiresAt: u.registrationExpiresAt,
    removalDueAt: u.loginService ? null : u.removalDueAt,
    linkedAt: u.linkedAt,
    createdAt: u.createdAt,
  };
}

export function parseStatusFilter(raw: string): StatusFilter {
  const v = raw.trim().toLowerCase();
  if (!(STATUS_FILTERS as readonly string[]).includes(v))
    throw new UsageError(`Unknown status ${quote(raw)}; use one of: ${STATUS_FILTERS.join(', ')}.`, 'invalid_status');
  return v as StatusFilter;
}

export function parseUserSort(raw: string): UserSort {
  const v = raw.trim().toLowerCase();
  if (!(USER_SORTS as readonly string[]).includes(v)) throw new UsageError(`Unknown sort ${quote(raw)}; use one of: ${USER_SORTS.join(', ')}.`, 'invalid_sort');
  return v as UserSort;
}

/** A USER argument: a numeric id or an email address. */
export type UserRef = { id: number } | { email: string };

export function parseUserRef(raw: string): UserRef {
  const value = raw.trim();
  if (/^[0-9]{1,15}$/.test(value)) return { id: Number(value) };
  if (value.includes('@') && value.length <= 254 && !/[\s\u0000-\u001f]/.test(value)) return { email: value };
  throw new UsageError(`${quote(value)} is not a user id or an email address; find the user with \`portalctl users list --search TEXT\`.`, 'invalid_user');
}

export function describeRef(ref: UserRef): string {
  return 'id' in ref ? String(ref.id) : ref.email;
}

/** Finds a user of the portal by id or by address (case-insensitive), or fails naming the reference. */
export async function findUser(tx: Tx, portal: Portal, ref: UserRef): Promise<UserListing> {
  const found = 'id' in ref ? await tx.users.listing(ref.id) : await tx.users.byEmail(portal.id, ref.email);
  if (found && found.portalId === portal.id) return found;
  const no = `No user ${quote(describeRef(ref))} in portal ${portal.slug}`;
  // The helpdesk's next question: a profile that is gone was removed by someone, on some day, and the trail says so.
  const gone = found ? undefined : await tx.audit.lastRemoval(portal.slug, ref);
  if (!gone) throw new NotFoundError(`${no}; find the user with \`portalctl users list --search TEXT\`.`);
  const by = gone.action === 'prune' ? 'by `portalctl prune` (never linked)' : `by ${quote(gone.actor)} (\`portalctl users remove\`)`;
  const email = gone.userEmail ?? '';
  throw new NotFoundError(
    `${no}: user ${gone.userId} (${quote(email)}) was removed on ${formatDate(gone.at, portal.timeZone ?? 'UTC')} ${by}. ` +
      `\`portalctl audit --user ${gone.userId}\` shows the record; \`portalctl users invite --email ${quote(email)}\` registers them again.`,
    { removed: { userId: gone.userId, email, at: gone.at, action: gone.action, actor: gone.actor } },
  );
}

/** A user's profile fields as the audit trail records them. */
export function auditSnapshot(u: {
  email: string;
  firstName: string;
  lastName: string;
  loginService: string | null;
  username: string | null;
  removalDueAt: string | null;
}) {
  return {
    email: u.email,
    firstName: u.firstName,
    lastName: u.lastName,
    loginService: u.loginService,
    username: u.username,
    removalDueAt: u.loginService ? null : u.removalDueAt,
  };
}
