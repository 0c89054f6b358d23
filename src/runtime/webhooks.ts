// The webhooks of the config file, ready to deliver: each with its secret read
// (checked before a command's first write, like the mail settings), and a run's
// delivery turned into words. `remind`, `prune` and `outbox send` deliver at
// their end; `serve` calls deliverWebhooks on a timer with the same targets.

import { plural } from '../text.js';
import type { Store } from '../store/types.js';
import { deliverWebhooks, displayUrl, MAX_ATTEMPTS, type WebhookReport, type WebhookTarget } from '../webhooks/deliver.js';
import { info, warning, type Message } from '../output/results.js';
import { readSecretFile, type Settings } from './settings.js';

/** The configured webhooks with their secrets; a missing or unsafe secret file is a usage error naming it. */
export function webhookTargets(settings: Settings): WebhookTarget[] {
  return (settings.file.webhooks ?? []).map((w) => ({
    url: w.url,
    types: w.types,
    secret: readSecretFile(w.secretFile, `The secret file of webhook ${displayUrl(w.url)} (in ${settings.configFile})`),
  }));
}

/** What a delivery run says: what went, what waits and why, what gave up. */
export function describeWebhooks(reports: readonly WebhookReport[]): Message[] {
  const out: Message[] = [];
  for (const r of reports) {
    const url = displayUrl(r.url);
    if (r.delivered) out.push(info(`Delivered ${plural(r.delivered, 'event')} to webhook ${url}.`));
    if (r.failed)
      out.push(
        warning(
          `webhook ${url}: ${plural(r.failed, 'delivery', 'deliveries')} failed (${r.lastError}); retried with backoff by the next remind, prune, outbox send or serve.`,
        ),
      );
    else if (r.stopped && !r.dead) out.push(warning(`webhook ${url}: not every event was delivered in this run; the next run carries on.`));
    if (r.dead)
      out.push(
        warning(
          `webhook ${url}: ${plural(r.dead, 'delivery', 'deliveries')} gave up after ${MAX_ATTEMPTS} attempts (${r.lastError}); \`portalctl events\` shows them, \`portalctl events --retry-dead\` queues them again once the receiver works.`,
        ),
      );
  }
  return out;
}

/** Delivers what is due to the configured webhooks at `now`; the words for it. */
export async function deliverConfigured(store: Store, targets: readonly WebhookTarget[], now: Date, signal?: AbortSignal): Promise<Message[]> {
  if (targets.length === 0 || signal?.aborted) return [];
  return describeWebhooks(await deliverWebhooks(store, targets, now, { signal }));
}
