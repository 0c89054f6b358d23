import type { Command } from 'commander';
import type { Context } from '../../context.js';
import { UsageError } from '../../errors.js';
import { iso } from '../../domain/time.js';
import { parseStatusFilter, statusCondition, toUserView, type StatusFilter, type UserView } from '../../domain/users.js';
import { parseWholeNumber } from '../../domain/validate.js';
import { printUsers, say } from '../../output/output.js';
import { USER_LIST_SELECT, type UserListRow } from '../../store/store.js';

export interface UsersListOptions {
  status?: string;
  search?: string;
  limit?: string;
}

export interface UserQuery {
  status?: StatusFilter;
  search?: string;
  limit?: number;
}

export function parseUsersListOptions(o: UsersListOptions): UserQuery {
  const q: UserQuery = {};
  if (o.status !== undefined) q.status = parseStatusFilter(o.status);
  if (o.search !== undefined) {
    const s = o.search.trim();
    // eslint-disable-next-line no-control-regex
    if (s === '' || s.length > 200 || /[\u0000-\u001f\u007f]/.test(s)) throw new UsageError('Invalid --search: give 1–200 printable characters of a name, address or username.', 'invalid_search');
    q.search = s;
  }
  if (o.limit !== undefined) q.limit = parseWholeNumber(o.limit, '--limit', 1, 10_000_000);
  return q;
}

/** The users of a portal matching the query, streamed in id order. */
function userFilter(portalId: number, q: UserQuery, now: string): { where: string; params: Record<string, unknown> } {
  // `+u.portal_id`: the unary plus keeps SQLite from answering the portal test
  // through users_portal_email, which visits rows in email order and then
  // sorts the whole result in a temporary B-tree before the first row comes
  // out. Scanning users in rowid order matches ORDER BY u.id, so rows stream
  // as they are read and --limit stops early.
  const where = [`+u.portal_id = :portal`, statusCondition(q.status)];
  const params: Record<string, unknown> = { portal: portalId, now };
  if (q.search) {
    where.push(`(u.first_name || ' ' || u.last_name LIKE :like ESCAPE '\\' OR u.email LIKE :like ESCAPE '\\' OR u.username LIKE :like ESCAPE '\\')`);
    params.like = `%${q.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  }
  return { where: where.join(' AND '), params };
}

/** The users of a portal matching the query, streamed in id order. */
export function* queryUsers(ctx: Context, portalId: number, q: UserQuery): Generator<UserView> {
  const now = iso(ctx.now());
  const { where, params } = userFilter(portalId, q, now);
  const sql = `${USER_LIST_SELECT} WHERE ${where} ORDER BY u.id${q.limit ? ' LIMIT :limit' : ''}`;
  if (q.limit) params.limit = q.limit;
  const store = ctx.store();
  const stmt = store.db.prepare(sql);
  for (const row of store.read(() => stmt.iterate(params)) as Iterable<UserListRow>) yield toUserView(row, now);
}

export function countUsers(ctx: Context, portalId: number, q: UserQuery): number {
  const { where, params } = userFilter(portalId, q, iso(ctx.now()));
  const sql = `SELECT count(*) AS n FROM users u LEFT JOIN registrations r ON r.user_id = u.id AND r.state = 'active' WHERE ${where}`;
  return (ctx.store().read(() => ctx.store().db.prepare(sql).get(params)) as { n: number }).n;
}

/** A terminal shows at most this many users unless --limit says otherwise; piped and --json output is always complete. */
export const TERMINAL_LIMIT = 500;

export async function usersListRun(ctx: Context, o: UsersListOptions): Promise<void> {
  const q = parseUsersListOptions(o);
  const portal = ctx.portal();
  const onTerminal = ctx.io.stdoutIsTTY && !ctx.options.json;
  if (onTerminal && q.limit === undefined) {
    const shown = await printUsers(ctx, queryUsers(ctx, portal.id, { ...q, limit: TERMINAL_LIMIT }));
    if (shown === TERMINAL_LIMIT) {
      const total = countUsers(ctx, portal.id, q);
      if (total > shown) say(ctx, `Showing the first ${shown} of ${total} users. Narrow with --status or --search, raise --limit, or pipe the output (tab-separated) or use --json for all of them.`);
    }
    return;
  }
  await printUsers(ctx, queryUsers(ctx, portal.id, q));
}

export function register(parent: Command, ctx: Context): void {
  parent
    .command('list')
    .summary('the Users overview')
    .description('The Users overview: every user of the portal with their Username/ID (Login Service), status, link expiry and removal countdown.')
    .option('--status <status>', 'only linked, pending (link valid), expired (link expired) or unlinked users')
    .option('--search <text>', 'only users whose name, email or username contains TEXT')
    .option('--limit <n>', `at most N users (on a terminal the default is ${TERMINAL_LIMIT}; piped or --json, all)`)
    .addHelpText('after', '\nExamples:\n  portalctl users list\n  portalctl users list --status expired\n  portalctl users list --search doe --json')
    .action((o: UsersListOptions) => usersListRun(ctx, o));
}
