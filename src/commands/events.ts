// `events`: the lifecycle event log, oldest first, from a cursor; with
// --follow it keeps printing new events as other processes record them,
// until Ctrl-C. Also says what the webhooks still have to deliver.

import { UsageError } from '../errors.js';
import { plural, quote } from '../text.js';
import { parseWholeNumber } from '../domain/validate.js';
import { EVENT_TYPES, type EventType, type LifecycleEvent, type Store, type WebhookQueue } from '../store/types.js';
import { displayUrl } from '../webhooks/deliver.js';
import { info, warning, type Column, type Message, type Result } from '../output/results.js';
import type { Context } from '../runtime/context.js';
import { flag, str, type RawInput } from './command.js';

export interface EventsOptions {
  since: number;
  follow: boolean;
  types?: EventType[];
  retryDead: boolean;
}

/** How often --follow looks for new events. */
export const POLL_MS = 1000;

export function parseTypes(raw: string): EventType[] {
  const types = raw
    .split(',')
    .map((t) => t.trim().toLowerCase())
    .filter(Boolean);
  const bad = types.filter((t) => !(EVENT_TYPES as readonly string[]).includes(t));
  if (types.length === 0 || bad.length > 0)
    throw new UsageError(`Unknown event type ${quote(bad[0] ?? raw)}; use one or more of: ${EVENT_TYPES.join(', ')}.`, 'invalid_type');
  return [...new Set(types)] as EventType[];
}

export function parse(raw: RawInput): EventsOptions {
  const since = str(raw, 'since');
  const type = str(raw, 'type');
  const o: EventsOptions = {
    since: since === undefined ? 0 : parseWholeNumber(since, '--since (an event id)', 0, Number.MAX_SAFE_INTEGER),
    follow: flag(raw, 'follow'),
    types: type === undefined ? undefined : parseTypes(type),
    retryDead: flag(raw, 'retryDead'),
  };
  if (o.retryDead && (o.follow || since !== undefined || type !== undefined))
    throw new UsageError('--retry-dead queues dead webhook deliveries again and shows no events; give it alone.', 'usage');
  return o;
}

/** "code: link_expired, registrationId: 4" — a terminal's reading of an event's data. */
function dataWords(data: Record<string, unknown>): string {
  return Object.entries(data)
    .filter(([, v]) => v !== null && v !== undefined)
    .map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(', ');
}

const columns: Column<LifecycleEvent>[] = [
  { header: 'ID', value: (e) => e.id, kind: 'number' },
  { header: 'When', value: (e) => e.at, kind: 'time' },
  { header: 'Type', value: (e) => e.type },
  { header: 'Portal', value: (e) => e.portal },
  { header: 'User', value: (e) => e.userId, kind: 'number' },
  { header: 'Email', value: (e) => e.email ?? '' },
  { header: 'Data', value: (e) => JSON.stringify(e.data), only: 'piped' },
  { header: 'Details', value: (e) => dataWords(e.data), only: 'terminal' },
];

const toJson = (e: LifecycleEvent) => ({ id: e.id, at: e.at, type: e.type, portal: e.portal, userId: e.userId, email: e.email, data: e.data });

/** The configured webhooks' queues (a webhook nothing was queued for yet shows empty). */
async function webhookQueues(ctx: Context, store: Store): Promise<WebhookQueue[]> {
  const configured = (ctx.settings.file.webhooks ?? []).map((w) => w.url);
  if (configured.length === 0) return [];
  const queues = await store.read((tx) => tx.webhooks.queues());
  return configured.map(
    (url) =>
      queues.find((q) => q.webhook === url) ?? {
        webhook: url,
        pending: 0,
        dead: 0,
        oldestPendingEventId: null,
        nextAttemptAt: null,
        lastError: null,
        enqueuedThrough: 0,
      },
  );
}

function queueMessages(queues: WebhookQueue[], last: number): Message[] {
  const out: Message[] = [];
  for (const q of queues) {
    const url = displayUrl(q.webhook);
    // Events after its cursor are waiting too: the next delivery run queues those of its types.
    const unqueued = Math.max(0, last - q.enqueuedThrough);
    if (q.pending || unqueued) {
      const parts = [
        q.pending ? `${plural(q.pending, 'delivery', 'deliveries')} pending` : '',
        unqueued ? `${plural(unqueued, 'event')} not yet looked at` : '',
      ]
        .filter(Boolean)
        .join(', ');
      out.push(
        info(
          `webhook ${url}: ${parts}${q.lastError ? ` (last error: ${q.lastError})` : ''}; delivered by the next remind, prune, outbox send or a running serve.`,
        ),
      );
    }
    if (q.dead)
      out.push(
        warning(
          `webhook ${url}: ${plural(q.dead, 'delivery', 'deliveries')} dead after every attempt failed (${q.lastError ?? 'no answer'}); fix the receiver, then \`portalctl events --retry-dead\`.`,
        ),
      );
  }
  return out;
}

const queueJson = (q: WebhookQueue) => ({
  url: displayUrl(q.webhook),
  pending: q.pending,
  dead: q.dead,
  oldestPendingEventId: q.oldestPendingEventId,
  nextAttemptAt: q.nextAttemptAt,
  lastError: q.lastError,
  queuedThroughEventId: q.enqueuedThrough,
});

export async function run(ctx: Context, o: EventsOptions): Promise<Result> {
  if (o.retryDead) {
    const store = await ctx.store();
    const n = await store.write((tx) => tx.webhooks.retryDead(undefined, ctx.now.toISOString()));
    return {
      kind: 'none',
      json: { requeued: n },
      messages: [
        info(
          n === 0
            ? 'No dead webhook deliveries.'
            : `${plural(n, 'dead delivery', 'dead deliveries')} queued again; the next remind, prune, outbox send or a running serve delivers them.`,
        ),
      ],
    };
  }
  const scope = await ctx.portalScope({ readOnly: true });
  const store = await ctx.store({ readOnly: true });
  const [queues, last] = await Promise.all([webhookQueues(ctx, store), store.read((tx) => tx.events.last())]);
  // A cursor is an event a run has shown: one past the newest is a typo or another store, and
  // would show nothing, now or ever after — a script would skip events without a word.
  if (o.since > last) {
    throw new UsageError(
      `--since ${o.since} is past the newest event (${last === 0 ? 'there are none yet' : last}), so no event would be shown; give the cursor a run printed, or 0 for the whole log. Check --db / PORTALCTL_DB if it came from another store.`,
      'invalid_cursor',
    );
  }
  const query = { portal: scope?.slug, types: o.types };
  let cursor = o.since;

  if (!o.follow) {
    const rows = (async function* () {
      for await (const batch of store.listEvents({ since: o.since, ...query })) {
        cursor = batch[batch.length - 1]!.id;
        yield batch;
      }
    })();
    return {
      kind: 'table',
      jsonKey: 'events',
      rows,
      columns,
      toJson,
      jsonExtra: () => ({ cursor, webhooks: queues.map(queueJson) }),
      empty: o.since ? `No events after ${o.since}.` : 'No events yet.',
      messages: queueMessages(queues, last),
    };
  }

  // --follow: the backlog, then a look for new events every POLL_MS until
  // Ctrl-C. Only events are read, so the store is never locked for writers.
  const signal = ctx.interrupts();
  const rows = (async function* () {
    for (;;) {
      for await (const batch of store.listEvents({ since: cursor, ...query })) {
        cursor = batch[batch.length - 1]!.id;
        yield batch;
        if (signal.aborted) return;
      }
      if (signal.aborted) return;
      await ctx.wait(POLL_MS, signal);
      if (signal.aborted) return;
    }
  })();
  return {
    kind: 'table',
    jsonKey: 'events',
    rows,
    columns,
    toJson,
    jsonLines: true,
    messages: queueMessages(queues, last),
    // Ctrl-C is how following ends: exit 0, and where to carry on from.
    finish: () => ({ messages: [info(`Stopped after event ${cursor}; \`portalctl events --since ${cursor} --follow\` carries on from there.`)] }),
  };
}
