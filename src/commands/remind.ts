// `remind`: the nightly companion of prune. Sends the reminders and removal
// warnings that are due (domain/reminders.ts), each once per registration,
// through the outbox; records `expired` events; delivers webhooks.

import { UsageError } from '../errors.js';
import { plural } from '../text.js';
import { recordExpiries } from '../domain/lifecycle.js';
import { dueNotices, recordNotices, type DueNotice, type RecordedNotice } from '../domain/reminders.js';
import { iso } from '../domain/time.js';
import type { MessageKind, Portal } from '../store/types.js';
import type { DeliveryResult } from '../mail/deliver.js';
import { info, mapRows, type Column, type Message, type Result } from '../output/results.js';
import { confirmOrRefuse } from '../runtime/ask.js';
import type { Context } from '../runtime/context.js';
import { sendQueued } from '../runtime/send.js';
import { deliverConfigured, webhookTargets } from '../runtime/webhooks.js';
import { flag, type RawInput } from './command.js';

export interface RemindOptions {
  dryRun: boolean;
}

export function parse(raw: RawInput): RemindOptions {
  return { dryRun: flag(raw, 'dryRun') };
}

/** One notice as the table and JSON show it. */
interface NoticeRow {
  portal: string;
  userId: number | null;
  email: string | null;
  kind: MessageKind | null;
  /** The reminder's day after the registration email. */
  day: number | null;
  registrationId: number | null;
  expiresAt: string | null;
  removalAt: string | null;
  messageId: number | null;
  /** 'due' in a dry run; else what became of the email (sent, queued, failed, …). */
  state: string;
  error: string | null;
}

const noticeName = (r: Pick<NoticeRow, 'kind' | 'day'>) =>
  r.kind === 'reminder' ? `reminder${r.day ? ` (day ${r.day})` : ''}` : r.kind === 'removal_warning' ? 'removal warning' : (r.kind ?? '');

function rowOf(n: DueNotice | RecordedNotice, state: string, error: string | null = null): NoticeRow {
  return {
    portal: n.portal.slug,
    userId: n.user.id,
    email: n.registration.email,
    kind: n.kind,
    day: n.kind === 'reminder' ? n.step : null,
    registrationId: n.registration.id,
    expiresAt: n.kind === 'reminder' ? n.expiresAt : null,
    removalAt: n.removalAt,
    messageId: 'outboxId' in n ? n.outboxId : null,
    state,
    error,
  };
}

function columns(dryRun: boolean): Column<NoticeRow>[] {
  return [
    { header: 'Portal', value: (r) => r.portal, only: 'piped' },
    { header: 'User', value: (r) => r.userId, kind: 'number' },
    { header: 'Email', value: (r) => r.email },
    { header: 'Notice', value: (r) => noticeName(r) },
    { header: 'Link expires', short: 'Expires', value: (r) => r.expiresAt, kind: 'time' },
    { header: 'Removal', value: (r) => r.removalAt, kind: 'time' },
    ...(dryRun
      ? []
      : [
          { header: 'Result', value: (r: NoticeRow) => r.state },
          { header: 'Error', value: (r: NoticeRow) => r.error ?? '' },
        ]),
  ];
}

const toJson = (r: NoticeRow) => r;

function counts(rows: readonly Pick<NoticeRow, 'kind'>[]): string {
  const reminders = rows.filter((r) => r.kind === 'reminder').length;
  const warnings = rows.filter((r) => r.kind === 'removal_warning').length;
  return [reminders ? plural(reminders, 'reminder') : '', warnings ? plural(warnings, 'removal warning') : ''].filter(Boolean).join(' and ');
}

export async function run(ctx: Context, o: RemindOptions): Promise<Result> {
  // Without a terminal (cron) --yes is required even when nothing is due, so
  // a crontab line missing it fails tonight, not on the night it matters.
  if (!o.dryRun && !ctx.globals.yes && !ctx.io.canPrompt)
    throw new UsageError('remind needs --yes when not run from a terminal; nothing was sent.', 'confirmation_required');
  const scope = await ctx.portalScope();
  const store = await ctx.store();
  const portals: Portal[] = scope ? [scope] : await store.read((tx) => tx.portals.all());
  const stamp = ctx.stamp();
  const empty = 'Nothing is due: no reminder or removal warning to send.';

  if (o.dryRun) {
    let due: NoticeRow[] = [];
    return {
      kind: 'table',
      jsonKey: 'notices',
      rows: mapRows(dueNotices(store, portals, stamp), (n) => {
        const row = rowOf(n, 'due');
        due.push(row);
        return row;
      }),
      columns: columns(true),
      toJson,
      jsonExtra: () => ({ dryRun: true }),
      empty,
      finish: () => {
        const words = counts(due);
        due = [];
        return words ? { messages: [info(`Would send ${words} (dry run; nothing sent).`)] } : {};
      },
    };
  }

  // Everything a run needs is checked before its first write.
  ctx.mailSettings();
  const targets = webhookTargets(ctx.settings);
  if (!ctx.globals.yes) {
    const due: Pick<NoticeRow, 'kind'>[] = [];
    for await (const batch of dueNotices(store, portals, stamp)) for (const n of batch) due.push({ kind: n.kind });
    if (due.length > 0) await confirmOrRefuse(ctx, `Send ${counts(due)}?`, 'remind');
  }

  await recordExpiries(store, stamp);
  const signal = ctx.interrupts();
  const recorded: RecordedNotice[] = [];
  for await (const batch of recordNotices(store, portals, stamp)) {
    recorded.push(...batch);
    if (signal.aborted) break;
  }
  // Reminders and warnings of earlier runs that were queued but never went
  // out (a run killed half-way, a relay that was down) go out with these.
  const mine = new Set(recorded.map((n) => n.outboxId));
  const now = iso(stamp.now);
  const leftover: number[] = [];
  const leftoverPortal = new Map<number, string>();
  for await (const batch of store.listPending(scope ? { portalId: scope.id } : {})) {
    for (const m of batch) {
      if (m.state === 'queued' && m.kind !== 'registration' && !mine.has(m.id) && (m.nextAttemptAt === null || m.nextAttemptAt <= now)) {
        leftover.push(m.id);
        leftoverPortal.set(m.id, m.portal);
      }
    }
  }
  const sending = await sendQueued(ctx, [...mine, ...leftover], { label: 'Sending reminders and removal warnings', noun: 'email' });
  const byId = new Map<number, DeliveryResult>(sending.results.map((r) => [r.outboxId, r]));
  const rows: NoticeRow[] = recorded.map((n) => {
    const r = byId.get(n.outboxId);
    return rowOf(n, r?.state ?? 'queued', r?.error ?? null);
  });
  for (const id of leftover) {
    const r = byId.get(id)!;
    if (r.state === 'skipped' || r.state === 'busy' || r.state === 'sent_elsewhere' || r.state === 'dropped') continue;
    rows.push({
      portal: leftoverPortal.get(id)!,
      userId: r.userId,
      email: r.to,
      kind: r.kind ?? null,
      day: null,
      registrationId: null,
      expiresAt: null,
      removalAt: null,
      messageId: id,
      state: r.state,
      error: r.error ?? null,
    });
  }
  const messages: Message[] = [];
  if (recorded.length) messages.push(info(`Recorded ${counts(recorded)}.`));
  if (leftover.length) messages.push(info(`Retried ${plural(leftover.length, 'email')} queued by an earlier run.`));
  messages.push(...(sending.messages ?? []));
  if (!signal.aborted) messages.push(...(await deliverConfigured(store, targets, ctx.now, signal)));
  return {
    kind: 'table',
    jsonKey: 'notices',
    rows,
    columns: columns(false),
    toJson,
    jsonExtra: () => ({ dryRun: false }),
    report: true,
    empty,
    messages,
    error: sending.error,
  };
}
