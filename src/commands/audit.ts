import type { Command } from 'commander';
import type { Context } from '../context.js';
import { NotFoundError } from '../errors.js';
import { formatLocal, iso, parseIsoTime } from '../domain/time.js';
import { findUser } from '../domain/users.js';
import { emailKey } from '../domain/validate.js';
import { printJsonList, printTable } from '../output/output.js';

export interface AuditOptions {
  user?: string;
  since?: string;
}

interface AuditRow {
  id: number;
  at: string;
  actor: string;
  action: string;
  portal: string | null;
  user_id: number | null;
  user_email: string | null;
  before: string | null;
  after: string | null;
}

/** The audit trail, newest first. A removed user's records stay, and can be found by their old id or address. */
export async function auditRun(ctx: Context, o: AuditOptions): Promise<void> {
  const since = o.since !== undefined ? iso(parseIsoTime(o.since, '--since')) : undefined;
  const store = ctx.store();
  const where: string[] = [];
  const params: Record<string, unknown> = {};
  const scoped = ctx.portalFlag();
  if (scoped) {
    where.push('portal = :portal');
    params.portal = scoped.slug;
  }
  if (o.user !== undefined) {
    const ref = o.user.trim();
    // A pruned user no longer resolves; fall back to the ids/addresses recorded in the trail.
    let ids: number[] = [];
    try {
      if (scoped || store.portals().length === 1) ids = [findUser(store, scoped ?? ctx.portal(), ref).id];
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
    }
    if (ids.length === 0) {
      ids = (store.db
        .prepare(`SELECT DISTINCT user_id FROM audit WHERE user_id IS NOT NULL AND (user_id = ? OR lower(user_email) = ?)`)
        .all(/^[0-9]+$/.test(ref) ? Number(ref) : -1, emailKey(ref)) as { user_id: number }[]).map((r) => r.user_id);
      if (ids.length === 0) throw new NotFoundError(`No audit records for user ${JSON.stringify(ref)}.`);
    }
    where.push(`user_id IN (${ids.map(Number).join(',')})`);
  }
  if (since) {
    where.push('at >= :since');
    params.since = since;
  }
  const rows = store.db
    .prepare(`SELECT * FROM audit ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY at DESC, id DESC`)
    .iterate(params) as Iterable<AuditRow>;
  const views = (function* () {
    for (const r of rows) {
      yield {
        id: r.id,
        at: r.at,
        actor: r.actor,
        action: r.action,
        portal: r.portal,
        userId: r.user_id,
        userEmail: r.user_email,
        before: r.before ? JSON.parse(r.before) : null,
        after: r.after ? JSON.parse(r.after) : null,
      };
    }
  })();
  if (ctx.options.json) {
    await printJsonList(ctx, 'audit', views);
    return;
  }
  const tty = ctx.io.stdoutIsTTY;
  const brief = (v: unknown) => (v === null ? '' : JSON.stringify(v));
  await printTable(
    ctx,
    [
      { header: 'When', text: (a) => (tty ? formatLocal(a.at) : a.at) },
      { header: 'Who', text: (a) => a.actor },
      { header: 'Action', text: (a) => a.action },
      { header: 'Portal', text: (a) => a.portal ?? '' },
      { header: 'User', text: (a) => (a.userId === null ? '' : `${a.userId} ${a.userEmail ?? ''}`.trim()) },
      { header: 'Before', text: (a) => brief(a.before) },
      { header: 'After', text: (a) => brief(a.after) },
    ],
    views,
  );
}

export function register(program: Command, ctx: Context): void {
  program
    .command('audit')
    .summary('the audit trail, newest first')
    .description('Every change — invite, resend-registration, set-removal-days, link, relink, prune, portal changes — with when, who, and the values before and after.')
    .option('--user <user>', 'only this user (id or email address; also works for removed users)')
    .option('--since <time>', 'only changes at or after this ISO 8601 time, e.g. 2026-11-01')
    .addHelpText('after', '\nExamples:\n  portalctl audit --user jane.doe@example.org\n  portalctl audit --since 2026-11-01 --json')
    .action((o: AuditOptions) => auditRun(ctx, o));
}
