// Delivering lifecycle events to webhooks, from a durable queue in the store.
//
// Each webhook (by URL) has a cursor into the event log: events after it are
// queued as deliveries (those of the webhook's types), then POSTed oldest
// first. At most one delivery of a user is pending at the head of the queue:
// a later event of the same user waits until the earlier one is delivered or
// dead, so a receiver sees each person's events in order. A failed attempt (no
// 2xx answer within the timeout) is retried with exponential backoff — 1, 2,
// 4 … minutes, at most 6 hours — and after MAX_ATTEMPTS the delivery is dead:
// kept, shown by `events` and `doctor`, never retried unless an administrator
// asks (`events --retry-dead`). Delivery is at least once: a receiver that
// answered but whose answer was lost gets the event again.
//
// One process at a time delivers a webhook: it holds the webhook's lease in
// the store (renewed with every delivery, and taken over when its holder's
// process is gone or the lease ran out), which keeps the order per user when
// `remind`, `prune`, `outbox send` and `serve` run at once.
//
// `now` is the lifecycle's time (PORTALCTL_NOW in tests): it decides what is
// due and when a failed attempt is tried again. The timestamp each request
// carries (X-Portalctl-Timestamp, and `timestamp` in the signed body) is when
// it is really sent — a receiver holds it against its own clock to refuse
// replays — so it comes from the real clock, as do the leases (they are about
// real processes, like the outbox's claims).

import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Store } from '../store/types.js';
import { CLAIMANT, processIsGone } from '../domain/delivery.js';
import { webhookBody, webhookHeaders } from './sign.js';

export interface WebhookTarget {
  url: string;
  /** The signing secret (from the webhook's secretFile). */
  secret: string;
  /** Event types to deliver; undefined: all. */
  types?: readonly string[];
}

export interface WebhookOptions {
  /** Ctrl-C, SIGTERM, or serve shutting down: the request in flight is abandoned and stays pending. */
  signal?: AbortSignal;
  /** How long one request may take, connection to answer. */
  timeoutMs?: number;
  /** Attempts before a delivery is dead. */
  maxAttempts?: number;
  /** Failures in a row after which a webhook is left alone for this run (its receiver is down). */
  giveUpAfter?: number;
  /** Attempts per webhook per call, so that a long backlog never holds up a nightly job for long. */
  maxRequests?: number;
  /** The real clock that stamps each request (tests replace it); never PORTALCTL_NOW. */
  clock?: () => Date;
}

export const TIMEOUT_MS = 10_000;
export const MAX_ATTEMPTS = 10;
export const GIVE_UP_AFTER = 3;
export const MAX_REQUESTS = 2000;
const BATCH = 100;

/** What became of one webhook in one call. */
export interface WebhookReport {
  url: string;
  /** Events newly queued for it. */
  queued: number;
  delivered: number;
  /** Attempts that failed and will be retried. */
  failed: number;
  /** Deliveries that became dead in this call. */
  dead: number;
  /** Another process holds the lease: it delivers this webhook now. */
  busy: boolean;
  /** The receiver kept failing, the request budget ran out, or the run was interrupted: the rest waits. */
  stopped: boolean;
  lastError?: string;
}

/** How long a failed delivery waits after its `attempts`-th attempt: 1, 2, 4 … minutes, at most 6 hours. */
export function webhookBackoff(attempts: number): number {
  return Math.min(6 * 60, 2 ** Math.max(0, attempts - 1)) * 60_000;
}

/** Webhooks this process is delivering right now (serve's timer may fire again before a slow run ends). */
const inFlight = new Set<string>();

/** A lease may be taken over when its process is gone (same host) or its time has run out (real time). */
export function leaseIsStale(holder: string, until: string): boolean {
  return holder === CLAIMANT || Date.parse(until) < Date.now() || processIsGone(holder);
}

/** The URL as messages show it: no query (it may carry a key). */
export function displayUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname === '/' ? '' : u.pathname}${u.search ? '?…' : ''}`;
  } catch {
    return '(not a valid URL)';
  }
}

type PostOutcome = { ok: true } | { ok: false; error: string; interrupted?: boolean };

/** One POST; resolves (never rejects) once the answer's status is known, or the timeout or the signal ends it. */
function post(url: string, headers: Record<string, string>, body: Buffer, timeoutMs: number, signal?: AbortSignal): Promise<PostOutcome> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve({ ok: false, error: 'interrupted', interrupted: true });
    const target = new URL(url);
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    let settled = false;
    const finish = (outcome: PostOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve(outcome);
    };
    const req = send(target, { method: 'POST', headers: { ...headers, 'Content-Length': String(body.length) }, agent: false }, (res: IncomingMessage) => {
      // The answer's body means nothing to us; read it away so the socket closes.
      res.resume();
      res.on('error', () => {});
      const status = res.statusCode ?? 0;
      if (status >= 200 && status < 300) finish({ ok: true });
      else if (status >= 300 && status < 400) finish({ ok: false, error: `HTTP ${status}: redirects are not followed; configure the final URL` });
      else finish({ ok: false, error: `HTTP ${status}${res.statusMessage ? ` ${res.statusMessage}` : ''}` });
    });
    const timer = setTimeout(() => {
      finish({ ok: false, error: `no answer within ${timeoutMs >= 1000 ? `${timeoutMs / 1000} s` : `${timeoutMs} ms`}` });
      req.destroy();
    }, timeoutMs);
    const onAbort = () => {
      finish({ ok: false, error: 'interrupted', interrupted: true });
      req.destroy();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    req.on('error', (err: NodeJS.ErrnoException) => finish({ ok: false, error: err.code ?? err.message }));
    req.end(body);
  });
}

async function deliverOne(store: Store, target: WebhookTarget, now: Date, o: Required<Omit<WebhookOptions, 'signal'>> & { signal?: AbortSignal }) {
  const report: WebhookReport = { url: target.url, queued: 0, delivered: 0, failed: 0, dead: 0, busy: false, stopped: false };
  const at = now.toISOString();
  const leaseUntil = () => new Date(Date.now() + o.timeoutMs + 60_000).toISOString();
  if (inFlight.has(target.url)) {
    report.busy = true;
    return report;
  }
  inFlight.add(target.url);
  try {
    if (!(await store.write((tx) => tx.webhooks.lease(target.url, CLAIMANT, leaseUntil(), leaseIsStale)))) {
      report.busy = true;
      inFlight.delete(target.url);
      return report;
    }
  } catch (err) {
    inFlight.delete(target.url);
    throw err;
  }
  try {
    for (;;) {
      const { scanned, queued } = await store.write((tx) => tx.webhooks.enqueue(target.url, target.types, 1000, at));
      report.queued += queued;
      if (scanned < 1000) break;
    }
    let requests = 0;
    let failuresInARow = 0;
    for (;;) {
      const due = await store.read((tx) => tx.webhooks.due(target.url, at, BATCH));
      if (due.length === 0) return report;
      for (const d of due) {
        if (o.signal?.aborted || failuresInARow >= o.giveUpAfter || requests >= o.maxRequests) {
          report.stopped = true;
          return report;
        }
        requests += 1;
        const sentAt = o.clock();
        const body = webhookBody(d.event, sentAt);
        const outcome = await post(target.url, webhookHeaders(target.secret, d.event, d.id, body, sentAt), body, o.timeoutMs, o.signal);
        if (!outcome.ok && outcome.interrupted) {
          report.stopped = true;
          return report;
        }
        const attempts = d.attempts + 1;
        const dead = !outcome.ok && attempts >= o.maxAttempts;
        const kept = await store.write(async (tx) => {
          if (outcome.ok) await tx.webhooks.markDelivered(d.id, at);
          else await tx.webhooks.markFailed(d.id, outcome.error, new Date(now.getTime() + webhookBackoff(attempts)).toISOString(), dead);
          return tx.webhooks.lease(target.url, CLAIMANT, leaseUntil(), leaseIsStale);
        });
        if (outcome.ok) {
          report.delivered += 1;
          failuresInARow = 0;
        } else {
          report.lastError = outcome.error;
          failuresInARow += 1;
          if (dead) report.dead += 1;
          else report.failed += 1;
        }
        if (!kept) {
          // Another process took the lease over (ours looked stale to it): it carries on.
          report.stopped = true;
          return report;
        }
      }
    }
  } finally {
    inFlight.delete(target.url);
    await store.write((tx) => tx.webhooks.release(target.url, CLAIMANT)).catch(() => {});
  }
}

/**
 * Delivers what is due at `now` to every webhook, the webhooks side by side.
 * Failed attempts are rescheduled after `now`, so one call tries each
 * delivery at most once; a later call (the next run, serve's next tick)
 * retries. Never throws for a receiver's failure; a store error is thrown.
 * This is what `remind`, `prune`, `outbox send` and `serve` call.
 */
export async function deliverWebhooks(store: Store, targets: readonly WebhookTarget[], now: Date, opts: WebhookOptions = {}): Promise<WebhookReport[]> {
  const o = {
    signal: opts.signal,
    timeoutMs: opts.timeoutMs ?? TIMEOUT_MS,
    maxAttempts: opts.maxAttempts ?? MAX_ATTEMPTS,
    giveUpAfter: opts.giveUpAfter ?? GIVE_UP_AFTER,
    maxRequests: opts.maxRequests ?? MAX_REQUESTS,
    clock: opts.clock ?? (() => new Date()),
  };
  return Promise.all(targets.map((t) => deliverOne(store, t, now, o)));
}
