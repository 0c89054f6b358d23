// What a webhook request looks like, and its signature. README ("Events and
// webhooks") documents the same for the people who write receivers:
//
//   POST <url>
//   Content-Type: application/json
//   X-Portalctl-Event: <type>
//   X-Portalctl-Delivery: <delivery id>       (the same on every retry of one delivery)
//   X-Portalctl-Timestamp: <unix seconds>     (when this attempt was sent)
//   X-Portalctl-Signature: sha256=<hex>       HMAC-SHA256(secret, the exact body bytes)
//
//   {"id":…,"at":…,"type":…,"portal":…,"userId":…,"email":…,"data":{…},"timestamp":<unix seconds>}
//
// The body is the event as `portalctl events --json` prints it plus the
// attempt's `timestamp`. Because the timestamp is inside the signed body, a
// captured request cannot be replayed later with a fresh timestamp: a receiver
// verifies the signature over the raw body, then refuses a `timestamp` more
// than a few minutes from its own clock, and ignores an event `id` it has
// already seen (delivery is at least once).

import { createHmac, timingSafeEqual } from 'node:crypto';
import type { LifecycleEvent } from '../store/types.js';

export const SIGNATURE_HEADER = 'X-Portalctl-Signature';
export const TIMESTAMP_HEADER = 'X-Portalctl-Timestamp';
export const EVENT_HEADER = 'X-Portalctl-Event';
export const DELIVERY_HEADER = 'X-Portalctl-Delivery';

/** The exact bytes POSTed for an event at `sentAt`. */
export function webhookBody(event: LifecycleEvent, sentAt: Date): Buffer {
  const timestamp = Math.floor(sentAt.getTime() / 1000);
  const { id, at, type, portal, userId, email, data } = event;
  return Buffer.from(JSON.stringify({ id, at, type, portal, userId, email, data, timestamp }), 'utf8');
}

/** `sha256=<hex>`: HMAC-SHA256 of the body with the secret's UTF-8 bytes as the key. */
export function sign(secret: string, body: Buffer): string {
  return `sha256=${createHmac('sha256', Buffer.from(secret, 'utf8')).update(body).digest('hex')}`;
}

/** A receiver's check, in constant time (used by the tests' own receiver and offered to anyone writing one in Node). */
export function verify(secret: string, body: Buffer, header: string | undefined): boolean {
  if (!header) return false;
  const expected = Buffer.from(sign(secret, body), 'utf8');
  const given = Buffer.from(header, 'utf8');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** The headers of one attempt. */
export function webhookHeaders(secret: string, event: LifecycleEvent, deliveryId: number, body: Buffer, sentAt: Date): Record<string, string> {
  return {
    'Content-Type': 'application/json',
    'User-Agent': 'portalctl-webhook',
    [EVENT_HEADER]: event.type,
    [DELIVERY_HEADER]: String(deliveryId),
    [TIMESTAMP_HEADER]: String(Math.floor(sentAt.getTime() / 1000)),
    [SIGNATURE_HEADER]: sign(secret, body),
  };
}
