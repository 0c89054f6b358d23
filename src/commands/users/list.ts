// `users list`: the Users overview.

import { UsageError } from '../../errors.js';
import { CONTROL, quote } from '../../text.js';
import { iso } from '../../domain/time.js';
import { parseStatusFilter, parseUserSort, toUserView } from '../../domain/users.js';
import { parseWholeNumber } from '../../domain/validate.js';
import type { StatusFilter, UserSort } from '../../store/types.js';
import { mapRows, type Result } from '../../output/results.js';
import type { Context } from '../../runtime/context.js';
import { flag, str, type RawInput } from '../command.js';

export interface ListOptions {
  status?: StatusFilter;
  search?: string;
  sort?: UserSort;
  limit?: number;
  csv: boolean;
}

export function parseSearch(raw: string): string {
  const s = raw.trim();
  if (s === '' || s.length > 200 || CONTROL.test(s))
    throw new UsageError('Invalid --search: give 1–200 printable characters of a name, address or username.', 'invalid_search');
  return s;
}

export function parse(raw: RawInput): ListOptions {
  const status = str(raw, 'status');
  const search = str(raw, 'search');
  const sort = str(raw, 'sort');
  const limit = str(raw, 'limit');
  if (flag(raw, 'csv') && raw.program.opts().json) throw new UsageError('--csv and --json ask for two formats; give one of them.', 'conflicting_options');
  return {
    status: status === undefined ? undefined : parseStatusFilter(status),
    search: search === undefined ? undefined : parseSearch(search),
    sort: sort === undefined ? undefined : parseUserSort(sort),
    limit: limit === undefined ? undefined : parseWholeNumber(limit, '--limit', 1, 100_000_000),
    csv: flag(raw, 'csv'),
  };
}

export async function run(ctx: Context, o: ListOptions): Promise<Result> {
  const portal = await ctx.portal({ readOnly: true });
  const store = await ctx.store();
  const now = iso(ctx.now);
  const query = { portalId: portal.id, now, status: o.status, search: o.search };
  return {
    kind: 'users',
    users: mapRows(store.listUsers({ ...query, sort: o.sort, limit: o.limit }), (u) => toUserView(u, now)),
    csv: o.csv,
    limit: o.limit,
    total: async () => (o.limit === undefined ? store.countUsers(query) : undefined),
    emptyOnTerminal:
      o.search !== undefined || o.status !== undefined
        ? `No users of portal ${portal.slug} match${o.search !== undefined ? ` ${quote(o.search)}` : ''}${o.status !== undefined ? ` with status ${o.status}` : ''}.`
        : `Portal ${portal.slug} has no users yet; invite one with \`portalctl users invite\`.`,
  };
}
