// `audit`: the trail of every change, newest first.

import { NotFoundError } from '../errors.js';
import { parseSince } from '../domain/time.js';
import { findUser, parseUserRef } from '../domain/users.js';
import { parseWholeNumber } from '../domain/validate.js';
import type { AuditRecord } from '../store/types.js';
import type { Result } from '../output/results.js';
import { AUDIT_COLUMNS, AUDIT_STACKED } from '../output/audit.js';
import type { Context } from '../runtime/context.js';
import { str, type RawInput } from './command.js';
import { quote } from '../text.js';

export interface AuditOptions {
  user?: string;
  since?: string;
  limit?: number;
}

export function parse(raw: RawInput): AuditOptions {
  const limit = str(raw, 'limit');
  const user = str(raw, 'user');
  if (user !== undefined) parseUserRef(user);
  return { user, since: str(raw, 'since'), limit: limit === undefined ? undefined : parseWholeNumber(limit, '--limit', 1, 100_000_000) };
}

export async function run(ctx: Context, o: AuditOptions): Promise<Result> {
  const since = o.since === undefined ? undefined : parseSince(o.since, ctx.now, ctx.zone).toISOString();
  const scope = await ctx.portalScope({ readOnly: true });
  const store = await ctx.store({ readOnly: true });
  let userIds: number[] | undefined;
  if (o.user !== undefined) {
    const ref = o.user.trim();
    // A removed user no longer resolves; the trail still knows their id and address.
    userIds = await store.read(async (tx) => {
      const portals = await tx.portals.all();
      const portal = scope ?? (portals.length === 1 ? portals[0] : undefined);
      if (portal) {
        try {
          return [(await findUser(tx, portal, parseUserRef(ref))).id];
        } catch (err) {
          if (!(err instanceof NotFoundError)) throw err;
        }
      }
      return tx.audit.userIdsFor(ref);
    });
    if (userIds.length === 0) throw new NotFoundError(`No audit records for user ${quote(ref)}.`);
  }
  return {
    kind: 'table',
    jsonKey: 'audit',
    rows: store.listAudit({ portal: scope?.slug, userIds, since, limit: o.limit }),
    columns: AUDIT_COLUMNS,
    stacked: AUDIT_STACKED,
    toJson: (r: AuditRecord) => r,
    empty: 'No audit records match.',
  };
}
