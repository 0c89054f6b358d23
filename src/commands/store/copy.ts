// `store copy --to STORE`: the whole store — every table, token digests,
// outbox, audit, link attempts and views, events, webhook queues — into an
// empty store of either kind, in one transaction on the target, the counts
// checked before it commits. Ids are kept (a helpdesk ticket's "user 6" is
// still user 6) and the target's id sequences continue past every id the
// source ever handed out, so links keep working and no id is reused.

import { resolve } from 'node:path';
import { UsageError } from '../../errors.js';
import { TABLE_NAMES, type TableCounts } from '../../store/tables.js';
import { checkStoreLocation, isPostgresUrl, openStore } from '../../store/open.js';
import type { Store } from '../../store/types.js';
import { info, type Column, type Result } from '../../output/results.js';
import type { Context } from '../../runtime/context.js';
import { str, type RawInput } from '../command.js';

export interface CopyOptions {
  to: string;
}

export function parse(raw: RawInput): CopyOptions {
  const to = str(raw, 'to');
  if (!to || to.trim() === '') throw new UsageError('Name the target store with --to (a postgres:// URL or a SQLite path).', 'usage');
  checkStoreLocation(to, '--to');
  // A URL pasted with a space before it is still the URL, not a SQLite file named " postgres:/…" here.
  return { to: isPostgresUrl(to.trim()) ? to.trim() : resolve(to) };
}

interface CountRow {
  table: string;
  rows: number;
}

const columns: Column<CountRow>[] = [
  { header: 'Table', value: (r) => r.table },
  { header: 'Rows', value: (r) => r.rows, kind: 'number' },
];

export async function run(ctx: Context, o: CopyOptions): Promise<Result> {
  const source = await ctx.store({ readOnly: true });
  const from = isPostgresUrl(ctx.settings.db.value) ? ctx.settings.db.value : resolve(ctx.settings.db.value);
  if (from === o.to) throw new UsageError('The target is the store itself; name another store with --to.', 'usage');
  let target: Store | undefined;
  let counts: TableCounts;
  const progress = await ctx.progress('Copying the store');
  try {
    // The target may be created: a new SQLite file, or the schema in an empty PostgreSQL database (never the database itself).
    target = await openStore({ value: o.to, explicit: true }, { create: true, password: ctx.settings.postgresPassword(), env: ctx.env });
    const t = target;
    counts = await source.dump((d) => t.load(d, (table, n) => progress.update(`Copied ${n} ${table}`)));
  } finally {
    progress.stop();
    await target?.close();
  }
  const rows = TABLE_NAMES.map((table) => ({ table, rows: counts[table] }));
  const total = rows.reduce((n, r) => n + r.rows, 0);
  return {
    kind: 'document',
    json: { from: source.location, to: target.location, tables: counts, total, verified: true },
    sections: [{ kind: 'table', columns, rows }],
    report: true,
    messages: [
      info(
        `Copied ${total} records from ${source.location} to ${target.location} in one transaction; every table's count matches the source. Point PORTALCTL_DB (or --db) at the new store to use it.`,
      ),
    ],
  };
}
