// Webhooks against a real HTTP receiver on 127.0.0.1: retries with backoff
// after a receiver that fails, times out and recovers (the time moved by
// hand, never slept); order per user; dead letters; the signature checked by
// an independent implementation (Python's hmac); delivery inside remind,
// prune and outbox send; leases. (Two processes delivering at once: processes.test.ts.)

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Store } from '../../src/store/types.js';
import { deliverWebhooks, webhookBackoff, GIVE_UP_AFTER, MAX_ATTEMPTS, type WebhookTarget } from '../../src/webhooks/deliver.js';
import { sign, verify, webhookBody } from '../../src/webhooks/sign.js';
import type { World } from '../helpers/run.js';
import { startSmtp, type TestSmtp } from '../helpers/smtp.js';
import { startReceiver, type Received, type TestReceiver } from '../helpers/webhook.js';
import { at, configureWebhooks, linkIn, mailsTo, portalWith, rows, T0, tokenOf } from './fixtures.js';

const SECRET = 'whsec_5f2b6c0e-portalctl-test';
const run = promisify(execFile);
let smtp: TestSmtp;
let rx: TestReceiver;
const cleanup: (() => unknown)[] = [];

beforeAll(async () => {
  smtp = await startSmtp();
});
afterAll(async () => {
  await smtp.close();
});
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function setup(n: number, env: Record<string, string> = {}) {
  rx = await startReceiver();
  cleanup.push(() => rx.close());
  // One SMTP connection: emails go, and their events are recorded, in order.
  const s = await portalWith(smtp, n, { env: { PORTALCTL_SMTP_URL: `${smtp.url}?connections=1`, ...env } });
  cleanup.push(() => s.w.close());
  return s;
}

async function storeOf(w: World): Promise<Store> {
  const store = await w.openStore();
  cleanup.unshift(() => store.close());
  return store;
}

const later = (base: Date, ms: number) => new Date(base.getTime() + ms);
const ids = (rs: Received[]) => rs.map((r) => r.json.id as number);

describe('deliverWebhooks: retries, backoff, timeout, order, dead letters', () => {
  it('a receiver that fails (500), then times out, then recovers: each attempt when due and not before; delivered once it answers', async () => {
    const { w } = await setup(1);
    const store = await storeOf(w);
    const target: WebhookTarget = { url: rx.url, secret: SECRET };
    const t0 = new Date(T0);
    const o = { timeoutMs: 300 };

    rx.answer = () => 500;
    const [first] = await deliverWebhooks(store, [target], t0, o);
    // Two events (invited, email_sent) of one user: the second waits for the first.
    expect(first).toMatchObject({ queued: 2, delivered: 0, failed: 1, dead: 0, lastError: 'HTTP 500 Internal Server Error' });
    expect(ids(rx.requests)).toEqual([1]);
    expect(await store.read((tx) => tx.webhooks.queues())).toMatchObject([
      { webhook: rx.url, pending: 2, dead: 0, oldestPendingEventId: 1, nextAttemptAt: later(t0, webhookBackoff(1)).toISOString() },
    ]);

    // Before the backoff is over nothing is tried.
    await deliverWebhooks(store, [target], later(t0, 59_000), o);
    expect(rx.requests).toHaveLength(1);

    rx.answer = () => 'hang';
    const [second] = await deliverWebhooks(store, [target], later(t0, 60_000), o);
    expect(second).toMatchObject({ delivered: 0, failed: 1, lastError: 'no answer within 300 ms' });
    expect(ids(rx.requests)).toEqual([1, 1]);
    // The second failure waits twice as long: not at +2 min, at +3 min.
    await deliverWebhooks(store, [target], later(t0, 60_000 + 119_000), o);
    expect(rx.requests).toHaveLength(2);

    rx.answer = () => 200;
    const [third] = await deliverWebhooks(store, [target], later(t0, 180_000), o);
    expect(third).toMatchObject({ delivered: 2, failed: 0 });
    expect(ids(rx.requests)).toEqual([1, 1, 1, 2]);
    expect(ids(rx.accepted())).toEqual([1, 2]);
    // One delivery, three attempts: the same delivery id. Each is stamped when it is really sent (a
    // receiver holds the stamp against its own clock), not with the lifecycle's moved clock.
    const tries = rx.requests.filter((r) => r.json.id === 1);
    expect(new Set(tries.map((r) => r.headers['x-portalctl-delivery'])).size).toBe(1);
    const realNow = Date.now() / 1000;
    for (const r of tries) {
      expect(Math.abs((r.json.timestamp as number) - realNow)).toBeLessThan(120);
      expect(r.headers['x-portalctl-timestamp']).toBe(String(r.json.timestamp));
    }
    expect(await store.read((tx) => tx.webhooks.queues())).toMatchObject([{ pending: 0, dead: 0, lastError: null }]);

    // Delivered means delivered: the next run sends nothing again.
    await deliverWebhooks(store, [target], later(t0, 3_600_000), o);
    expect(rx.requests).toHaveLength(4);
  });

  it('keeps each person’s events in order: a failing event holds back that person’s later ones, nobody else’s', async () => {
    const { w, emails } = await setup(2);
    await w.run(['remind', '--yes'], { now: at(2) });
    const events = (await w.json(['events'])).events as { id: number; userId: number }[];
    const of = (user: number) => events.filter((e) => e.userId === user).map((e) => e.id);
    const store = await storeOf(w);
    const target = { url: rx.url, secret: SECRET };
    let failedOnce = false;
    rx.answer = (r) => (r.json.id === of(1)[0] && !failedOnce ? ((failedOnce = true), 503) : 200);

    const t = new Date(at(2));
    const [one] = await deliverWebhooks(store, [target], t);
    expect(one).toMatchObject({ queued: 8, delivered: 4, failed: 1 });
    expect(ids(rx.accepted())).toEqual(of(2));
    const [two] = await deliverWebhooks(store, [target], later(t, webhookBackoff(1)));
    expect(two).toMatchObject({ delivered: 4, failed: 0 });
    expect(ids(rx.accepted())).toEqual([...of(2), ...of(1)]);
    // Per user, the order of the log; every event exactly once.
    for (const user of [1, 2]) expect(ids(rx.accepted().filter((r) => r.json.userId === user))).toEqual(of(user));
    expect(rx.accepted().map((r) => r.json.email)).toEqual([...of(2).map(() => emails[1]), ...of(1).map(() => emails[0])]);
  });

  it(`gives up after ${MAX_ATTEMPTS} attempts: the delivery is dead, the person’s later events go on, events and doctor show it, --retry-dead queues it again`, async () => {
    const { w } = await setup(1);
    configureWebhooks(w, [{ url: rx.url, secret: SECRET }]);
    const store = await storeOf(w);
    const target = { url: rx.url, secret: SECRET };
    rx.answer = (r) => (r.json.id === 1 ? 500 : 200);
    let now = new Date(T0);
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const [r] = await deliverWebhooks(store, [target], now);
      expect(r!.failed + r!.dead, `attempt ${attempt}`).toBe(1);
      now = later(now, webhookBackoff(attempt));
    }
    expect(rx.requests.filter((r) => r.json.id === 1)).toHaveLength(MAX_ATTEMPTS);
    // The dead delivery no longer holds back the person's next event: it went in the same run.
    expect(ids(rx.accepted())).toEqual([2]);
    expect(await store.read((tx) => tx.webhooks.queues())).toMatchObject([{ pending: 0, dead: 1, lastError: 'HTTP 500 Internal Server Error' }]);
    await deliverWebhooks(store, [target], later(now, 86_400_000));
    expect(rx.requests.filter((r) => r.json.id === 1)).toHaveLength(MAX_ATTEMPTS); // dead stays dead

    const ev = await w.run(['--json', 'events']);
    expect(JSON.parse(ev.stdout).webhooks).toEqual([
      {
        url: rx.url,
        pending: 0,
        dead: 1,
        oldestPendingEventId: null,
        nextAttemptAt: null,
        lastError: 'HTTP 500 Internal Server Error',
        queuedThroughEventId: 2,
      },
    ]);
    const text = await w.run(['events']);
    expect(text.stderr).toMatch(/warning: webhook http:\/\/127\.0\.0\.1:\d+\/hooks\/portalctl: 1 delivery dead .*portalctl events --retry-dead/);
    const doctor = JSON.parse((await w.run(['--json', 'doctor'])).stdout);
    expect(doctor.checks.find((c: any) => c.name === `webhook ${rx.url}`)).toMatchObject({
      status: 'warn',
      detail: expect.stringContaining('1 delivery DEAD'),
    });

    const retry = await w.json(['events', '--retry-dead']);
    expect(retry).toEqual({ requeued: 1 });
    rx.answer = () => 200;
    const [r] = await deliverWebhooks(store, [target], later(now, 86_400_000));
    expect(r).toMatchObject({ delivered: 1 });
    expect(ids(rx.accepted())).toEqual([2, 1]);
    expect(doctor.checks.find((c: any) => c.name === `webhook ${rx.url}`)).toBeDefined();
    const after = JSON.parse((await w.run(['--json', 'doctor'])).stdout);
    expect(after.checks.find((c: any) => c.name === `webhook ${rx.url}`)).toMatchObject({ status: 'ok' });
  });
});

describe('one deliverer per webhook at a time', () => {
  it('a live holder’s lease is respected; a dead process’s or an expired lease is taken over; one process never delivers a webhook twice at once', async () => {
    const { w } = await setup(1);
    const store = await storeOf(w);
    const target = { url: rx.url, secret: SECRET };
    const now = new Date(T0);
    const soon = new Date(Date.now() + 60_000).toISOString();
    const take = (holder: string, until: string) => store.write((tx) => tx.webhooks.lease(rx.url, holder, until, () => false));
    // The test runner's parent process is alive: its lease holds.
    expect(await take(`${hostname()}:${process.ppid}`, soon)).toBe(true);
    expect(await deliverWebhooks(store, [target], now)).toMatchObject([{ busy: true, delivered: 0 }]);
    expect(rx.requests).toEqual([]);
    // A process that is gone (pid 2^22 + 1 is above Linux's pid_max) holds nothing.
    await store.write((tx) => tx.webhooks.release(rx.url, `${hostname()}:${process.ppid}`));
    expect(await take(`${hostname()}:4194305`, soon)).toBe(true);
    // Two calls at once in one process (serve's timer firing again): the second stands aside.
    const [one, two] = await Promise.all([deliverWebhooks(store, [target], now), deliverWebhooks(store, [target], now)]);
    expect([one[0]!.busy, two[0]!.busy].sort()).toEqual([false, true]);
    expect(ids(rx.accepted())).toEqual([1, 2]);
    // Another host's lease holds until it runs out.
    await w.run(['remind', '--yes'], { now: at(2) });
    expect(await take('elsewhere.example.org:1', soon)).toBe(true);
    expect(await deliverWebhooks(store, [target], new Date(at(2)))).toMatchObject([{ busy: true, delivered: 0 }]);
    expect(await take('elsewhere.example.org:1', new Date(Date.now() - 1000).toISOString())).toBe(true);
    expect(await deliverWebhooks(store, [target], new Date(at(2)))).toMatchObject([{ busy: false, delivered: 2 }]);
  });
});

describe('one run does not hold up a nightly job', () => {
  it(`leaves a webhook after ${GIVE_UP_AFTER} failures in a row, and stops at its request budget; the next run carries on`, async () => {
    const { w } = await setup(4);
    const store = await storeOf(w);
    const target = { url: rx.url, secret: SECRET };
    rx.answer = () => 500;
    const [down] = await deliverWebhooks(store, [target], new Date(T0));
    // Four people's first events are due; the receiver is down: three tries, not four.
    expect(down).toMatchObject({ queued: 8, delivered: 0, failed: GIVE_UP_AFTER, stopped: true });
    expect(rx.requests).toHaveLength(GIVE_UP_AFTER);

    rx.answer = () => 200;
    const later1 = later(new Date(T0), webhookBackoff(1));
    const [budget] = await deliverWebhooks(store, [target], later1, { maxRequests: 5 });
    expect(budget).toMatchObject({ delivered: 5, stopped: true });
    const [rest] = await deliverWebhooks(store, [target], later1);
    expect(rest).toMatchObject({ delivered: 3, stopped: false });
    expect(new Set(ids(rx.accepted()))).toEqual(new Set([1, 2, 3, 4, 5, 6, 7, 8]));
    expect(rx.accepted()).toHaveLength(8);
  });
});

describe('redirects', () => {
  it('are not followed: a 307 to a receiver that would accept is a failed attempt, and the receiver never sees the event', async () => {
    const { w } = await setup(1);
    const store = await storeOf(w);
    const redirector = createServer((_req, res) => res.writeHead(307, { location: rx.url }).end());
    await new Promise<void>((r) => redirector.listen(0, '127.0.0.1', r));
    cleanup.push(() => new Promise((r) => redirector.close(r)));
    const url = `http://127.0.0.1:${(redirector.address() as AddressInfo).port}/hooks/portalctl`;
    const [r] = await deliverWebhooks(store, [{ url, secret: SECRET }], new Date(T0));
    expect(r).toMatchObject({ delivered: 0, failed: 1, lastError: 'HTTP 307: redirects are not followed; configure the final URL' });
    expect(rx.requests).toEqual([]);
  });
});

describe('the signature', () => {
  it('is HMAC-SHA256 over the exact body, with the timestamp inside the signed body: Python’s hmac agrees; a changed body or timestamp fails', async () => {
    const { w } = await setup(1);
    const store = await storeOf(w);
    const now = new Date(at(1));
    await deliverWebhooks(store, [{ url: rx.url, secret: SECRET }], now, { clock: () => now });
    const [req] = rx.accepted();
    expect(req!.headers['content-type']).toBe('application/json');
    expect(req!.headers['x-portalctl-event']).toBe('invited');
    expect(req!.headers['x-portalctl-timestamp']).toBe(String(now.getTime() / 1000));
    expect(req!.json).toMatchObject({ id: 1, type: 'invited', portal: 'grants', userId: 1, timestamp: now.getTime() / 1000 });
    const signature = String(req!.headers['x-portalctl-signature']);
    expect(signature).toMatch(/^sha256=[0-9a-f]{64}$/);

    // An independent implementation: Python's hmac, reading the raw bytes of
    // each case from a file (one interpreter for all of them).
    const replayed = Buffer.from(req!.body.toString('utf8').replace(/"timestamp":\d+/, `"timestamp":${now.getTime() / 1000 + 3600}`));
    expect(replayed.equals(req!.body)).toBe(false);
    const flipped = signature.replace(/.$/, (c) => (c === '0' ? '1' : '0'));
    const cases: [Buffer, string][] = [
      [req!.body, signature],
      [replayed, signature],
      [Buffer.concat([req!.body, Buffer.from(' ')]), signature],
      [req!.body, flipped],
    ];
    const dir = join(w.dir, 'py');
    mkdirSync(dir, { recursive: true });
    const args = cases.flatMap(([body, header], i) => {
      writeFileSync(join(dir, `body${i}`), body);
      return [join(dir, `body${i}`), header];
    });
    const { stdout } = await run(
      'python3',
      [
        '-c',
        `import hashlib, hmac, sys
secret = sys.argv[1].encode()
for path, header in zip(sys.argv[2::2], sys.argv[3::2]):
    body = open(path, 'rb').read()
    expected = 'sha256=' + hmac.new(secret, body, hashlib.sha256).hexdigest()
    print('valid' if hmac.compare_digest(expected, header) else 'INVALID')`,
        SECRET,
        ...args,
      ],
      { encoding: 'utf8' },
    );
    expect(stdout.trim().split('\n')).toEqual(['valid', 'INVALID', 'INVALID', 'INVALID']);
    // And our own check, for receivers written in Node.
    expect(verify(SECRET, req!.body, signature)).toBe(true);
    expect(verify('another secret', req!.body, signature)).toBe(false);
  });
});

describe('the README’s receivers', () => {
  it('the Python and the Node snippets accept a real delivery, and refuse a changed body and an old (replayed) request', async () => {
    const readme = readFileSync(resolve(import.meta.dirname, '../../README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('### Verifying a webhook'));
    const python = /```python\n([\s\S]*?)```/.exec(section)![1]!;
    const node = /```js\n([\s\S]*?)```/.exec(section)![1]!;

    const { w } = await setup(1);
    const store = await storeOf(w);
    // Sent now (the real clock), as a receiver meets it.
    await deliverWebhooks(store, [{ url: rx.url, secret: SECRET }], new Date());
    const [req] = rx.accepted();
    const signature = String(req!.headers['x-portalctl-signature']);
    const changed = Buffer.from(req!.body.toString('utf8').replace('"invited"', '"removed"'));
    const old = webhookBody(req!.json, new Date(Date.now() - 3_600_000));
    const cases: [Buffer, string][] = [
      [req!.body, signature],
      [changed, signature],
      [old, sign(SECRET, old)],
    ];
    const dir = join(w.dir, 'receivers');
    mkdirSync(dir, { recursive: true });
    const files = cases.flatMap(([body, header], i) => {
      writeFileSync(join(dir, `body${i}`), body);
      return [join(dir, `body${i}`), header];
    });

    const harness = `
import sys
for path, header in zip(sys.argv[2::2], sys.argv[3::2]):
    try:
        print(verify(sys.argv[1].encode(), open(path, "rb").read(), header)["id"])
    except ValueError as e:
        print(e)
`;
    const py = await run('python3', ['-c', `${python}\n${harness}`, SECRET, ...files], { encoding: 'utf8' });
    expect(py.stdout.trim().split('\n')).toEqual(['1', 'bad signature', 'stale timestamp: a replay?']);

    writeFileSync(join(dir, 'verify.mjs'), node);
    const { verify: verifyJs } = await import(pathToFileURL(join(dir, 'verify.mjs')).href);
    const outcomes = cases.map(([body, header]) => {
      try {
        return verifyJs(SECRET, body, header).id;
      } catch (err) {
        return (err as Error).message;
      }
    });
    expect(outcomes).toEqual([1, 'bad signature', 'stale timestamp: a replay?']);
  });
});

describe('webhooks from the commands', () => {
  it('remind, prune and outbox send deliver them; each webhook gets its types; no body holds a token', async () => {
    const { w, emails } = await setup(2);
    const [a, b] = emails as [string, string];
    const few = await startReceiver('/only/linked-and-removed');
    cleanup.push(() => few.close());
    configureWebhooks(w, [
      { url: rx.url, secret: SECRET },
      { url: few.url, secret: 'another-secret', types: ['linked', 'removed'] },
    ]);

    const remind = await w.run(['remind', '--yes'], { now: at(2) });
    expect(remind.exitCode, remind.stderr).toBe(0);
    expect(remind.stderr).toContain(`Delivered 8 events to webhook ${rx.url}.`);
    expect(rx.accepted().map((r) => r.json.type)).toEqual([
      'invited',
      'invited',
      'email_sent',
      'email_sent',
      'reminded',
      'reminded',
      'email_sent',
      'email_sent',
    ]);
    expect(few.requests).toEqual([]);

    expect((await w.run(['link', linkIn(mailsTo(smtp, a)[1]!), '--service', 'nih', '--account', 'ann'], { now: at(3) })).exitCode).toBe(0);
    const send = await w.run(['outbox', 'send'], { now: at(3) });
    expect(send.exitCode, send.stderr).toBe(0);
    expect(few.accepted().map((r) => [r.json.type, r.json.email, r.json.data.username])).toEqual([['linked', a, 'ann']]);

    const prune = await w.run(['prune', '--yes'], { now: at(31) });
    expect(prune.exitCode, prune.stderr).toBe(0);
    expect(
      rx
        .accepted()
        .map((r) => r.json.type)
        .slice(8),
    ).toEqual(['linked', 'expired', 'removed']);
    expect(few.accepted().map((r) => [r.json.type, r.json.email])).toEqual([
      ['linked', a],
      ['removed', b],
    ]);
    for (const r of rx.accepted()) expect(verify(SECRET, r.body, String(r.headers['x-portalctl-signature']))).toBe(true);
    for (const r of few.accepted()) expect(verify('another-secret', r.body, String(r.headers['x-portalctl-signature']))).toBe(true);

    const tokens = emails.flatMap((e) => mailsTo(smtp, e).map((m) => tokenOf(linkIn(m))));
    expect(tokens).toHaveLength(4);
    for (const body of [...rx.requests, ...few.requests].map((r) => r.body.toString('utf8')))
      for (const token of tokens) expect(body).not.toContain(token.slice(0, 12));

    // The queue is empty; `events` says nothing is waiting.
    expect((await w.json(['events'])).webhooks.map((q: any) => [q.pending, q.dead])).toEqual([
      [0, 0],
      [0, 0],
    ]);
  });

  it('a receiver that is down does not fail the run: a warning, exit 0, retried by the next run; events says what waits', async () => {
    const { w } = await setup(1);
    configureWebhooks(w, [{ url: rx.url, secret: SECRET }]);
    rx.answer = () => 500;
    const r = await w.run(['outbox', 'send'], { now: at(1) });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/warning: webhook .*: 1 delivery failed \(HTTP 500 Internal Server Error\); retried with backoff/);
    const ev = await w.run(['events']);
    expect(ev.stderr).toMatch(/webhook .*: 2 deliveries pending \(last error: HTTP 500 Internal Server Error\)/);
    rx.answer = () => 200;
    expect((await w.run(['outbox', 'send'], { now: at(1.01) })).stderr).toContain('Delivered 2 events');
    expect(ids(rx.accepted())).toEqual([1, 2]);
  });

  it('a secret file others can read is refused before anything is recorded (exit 2)', async () => {
    const { w } = await setup(1);
    configureWebhooks(w, [{ url: rx.url, secret: SECRET }], 0o644);
    const r = await w.run(['remind', '--yes'], { now: at(2) });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('chmod 600');
    expect(r.stderr).not.toContain(SECRET);
    expect(await rows(w, 'SELECT * FROM notices')).toEqual([]);
    expect(rx.requests).toEqual([]);
  });
});
