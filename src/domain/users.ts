// The portal user as the Users overview and --json show it, and finding a
// user from what an administrator types (an id or an email address).

import { NotFoundError, UsageError } from '../errors.js';
import { neutralize } from '../output/sanitize.js';
import type { PortalRow, Store, UserListRow } from '../store/store.js';
import { USER_LIST_SELECT } from '../store/store.js';
import { serviceName } from './services.js';
import { emailKey } from './validate.js';

export type UserStatus = 'linked' | 'pending' | 'expired';
export const STATUS_FILTERS = ['linked', 'pending', 'expired', 'unlinked'] as const;
export type StatusFilter = (typeof STATUS_FILTERS)[number];

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

export function userStatus(row: Pick<UserListRow, 'login_service' | 'reg_expires_at'>, nowIso: string): UserStatus {
  if (row.login_service) return 'linked';
  return row.reg_expires_at !== null && row.reg_expires_at > nowIso ? 'pending' : 'expired';
}

export function toUserView(row: UserListRow, nowIso: string): UserView {
  return {
    id: row.id,
    portal: row.portal,
    firstName: row.first_name,
    lastName: row.last_name,
    email: row.email,
    status: userStatus(row, nowIso),
    loginService: row.login_service,
    loginServiceName: serviceName(row.login_service),
    username: row.username,
    registrationExpiresAt: row.reg_expires_at,
    removalDueAt: row.login_service ? null : row.removal_due_at,
    linkedAt: row.linked_at,
    createdAt: row.created_at,
  };
}

/** SQL for a --status filter; :now is bound to the current time. */
export function statusCondition(status: StatusFilter | undefined): string {
  switch (status) {
    case 'linked':
      return 'u.login_service IS NOT NULL';
    case 'pending':
      return 'u.login_service IS NULL AND r.expires_at > :now';
    case 'expired':
      return 'u.login_service IS NULL AND (r.expires_at IS NULL OR r.expires_at <= :now)';
    case 'unlinked':
      return 'u.login_service IS NULL';
    default:
      return '1';
  }
}

export function parseStatusFilter(raw: string): StatusFilter {
  const v = raw.trim().toLowerCase();
  if (!(STATUS_FILTERS as readonly string[]).includes(v)) {
    throw new UsageError(`Unknown status ${JSON.stringify(neutralize(raw))}; use one of: ${STATUS_FILTERS.join(', ')}.`, 'invalid_status');
  }
  return v as StatusFilter;
}

/** Finds a user of the portal by numeric id or by email address (case-insensitive). */
export function findUser(store: Store, portal: PortalRow, ref: string): UserListRow {
  const value = ref.trim();
  let row: UserListRow | undefined;
  if (/^[0-9]{1,15}$/.test(value)) {
    row = store.read(() => store.prepare(`${USER_LIST_SELECT} WHERE u.portal_id = ? AND u.id = ?`).get(portal.id, Number(value))) as
      | UserListRow
      | undefined;
  } else if (value.includes('@') && value.length <= 254) {
    row = store.read(() => store.prepare(`${USER_LIST_SELECT} WHERE u.portal_id = ? AND u.email_key = ?`).get(portal.id, emailKey(value))) as
      | UserListRow
      | undefined;
  } else {
    throw new UsageError(
      `${JSON.stringify(neutralize(value.slice(0, 80)))} is not a user id or an email address; find the user with \`portalctl users list --search TEXT\`.`,
      'invalid_user',
    );
  }
  if (!row) {
    throw new NotFoundError(
      `No user ${JSON.stringify(neutralize(value))} in portal ${portal.slug}; find the user with \`portalctl users list --search TEXT\`.`,
    );
  }
  return row;
}

/** A user's profile fields as recorded in the audit trail. */
export function auditSnapshot(row: {
  email: string;
  first_name: string;
  last_name: string;
  login_service: string | null;
  username: string | null;
  removal_due_at: string | null;
}) {
  return {
    email: row.email,
    firstName: row.first_name,
    lastName: row.last_name,
    loginService: row.login_service,
    username: row.username,
    removalDueAt: row.login_service ? null : row.removal_due_at,
  };
}
