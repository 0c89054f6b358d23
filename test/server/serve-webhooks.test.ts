// A running serve delivers lifecycle events to the configured webhooks
// continuously (SPEC): those it records itself (link_viewed, linked) at once,
// together with what other processes recorded meanwhile (invited, email_sent).

import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReceiver, type TestReceiver } from '../helpers/webhook.js';
import { secretFile, startServe, type ServeHarness } from './harness.js';

const SECRET = 'webhook-secret-for-serve-0123456789';
let receiver: TestReceiver;
let h: ServeHarness;
let dir: string;

beforeAll(async () => {
  receiver = await startReceiver();
  dir = mkdtempSync(join(tmpdir(), 'portalctl-serve-webhooks-'));
  h = await startServe({ config: { webhooks: [{ url: receiver.url, secretFile: secretFile(dir, 'webhook-secret', `${SECRET}\n`) }] } });
});
afterAll(async () => {
  expect(await h.stop()).toBe(0);
  await receiver.close();
  rmSync(dir, { recursive: true, force: true });
});

async function until(what: () => boolean): Promise<void> {
  const started = Date.now();
  while (!what()) {
    if (Date.now() - started > 10_000) throw new Error('timed out waiting for the webhook deliveries');
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('serve and webhooks', () => {
  it('delivers the events of a page view, and those other processes recorded, signed, without a token', async () => {
    const link = await h.invite('hooked@example.org', 'Hook');
    const token = new URL(link).searchParams.get('token')!;
    expect((await fetch(link)).status).toBe(200);
    await until(() => receiver.accepted().some((r) => r.json.type === 'link_viewed'));
    const types = receiver.accepted().map((r) => r.json.type);
    expect(types).toEqual(expect.arrayContaining(['invited', 'email_sent', 'link_viewed']));
    // In order for the person: invited before the page view.
    expect(types.indexOf('invited')).toBeLessThan(types.indexOf('link_viewed'));
    for (const r of receiver.accepted()) {
      const expected = `sha256=${createHmac('sha256', SECRET).update(r.body).digest('hex')}`;
      expect(r.headers['x-portalctl-signature']).toBe(expected);
      expect(r.body.toString('utf8')).not.toContain(token);
    }
  });
});
