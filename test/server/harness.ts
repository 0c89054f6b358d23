// `portalctl serve` for the tests, with real parts: the real main() and serve
// command in this process (config file, secret files, store, fastify on a
// real port), a real OpenID Connect provider (oidc-provider) standing in for
// NIH Network Login, optionally a real SMTP server for the emails, and a
// clock the test moves without restarting anything.
//
// Login services configured:
//   nih           OpenID Connect, the test provider
//   ims           trusted header X-Remote-User, from 127.0.0.1 (the test itself)
//   ims-employee  trusted header X-Remote-User, only from 192.0.2.10 (never the test)

import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { main } from '../../src/cli/main.js';
import { scriptedPrompter } from '../../src/runtime/prompter.js';
import { openStore } from '../../src/store/open.js';
import type { LifecycleEvent } from '../../src/store/types.js';
import { startOidcProvider, type TestAccount, type TestOidc } from '../helpers/oidc.js';
import { GRANTS, T0, world, type World } from '../helpers/run.js';
import { startSmtp, type TestSmtp } from '../helpers/smtp.js';

export const CLIENT_ID = 'portalctl-grants';
export const CLIENT_SECRET = 'nih-client-secret-0123456789abcdef';
export const API_TOKENS = ['api-token-portal-one-0123456789abcdef', 'api-token-portal-two-fedcba9876543210'];
export const UNTRUSTED_PROXY = '192.0.2.10';

export const ACCOUNTS: Record<string, TestAccount> = {
  jdoe: { sub: 'u-1', preferred_username: 'jdoe', name: 'Jane Doe', email: 'jdoe@nih.example' },
  asmith: { sub: 'u-2', preferred_username: 'asmith', name: 'Al Smith' },
  mallory: { sub: 'u-3', preferred_username: 'mallory', name: 'Mallory' },
  bwayne: { sub: 'u-5', preferred_username: 'bwayne' },
  ckent: { sub: 'u-6', preferred_username: 'ckent' },
  nobody: { sub: 'u-4' }, // no preferred_username: cannot be linked
};

export interface ServeHarness {
  world: World;
  /** http://127.0.0.1:PORT — also the portal's URL, so the email's Step 2 link leads here. */
  url: string;
  oidc: TestOidc;
  smtp: TestSmtp;
  /** The server's clock; set it to move time for serve (the CLI keeps PORTALCTL_NOW). */
  clock: { now: Date; advanceDays(days: number): void };
  /** The JSON lines serve wrote on stdout so far. */
  logs(): Record<string, unknown>[];
  /** Everything serve wrote on stdout and stderr so far, raw. */
  output(): { stdout: string; stderr: string };
  /** Invites a person; returns the Step 2 URL from the email the SMTP server received. */
  invite(email: string, firstName?: string): Promise<string>;
  /** The lifecycle events in the store, oldest first. */
  events(): Promise<LifecycleEvent[]>;
  /** SIGTERM, as the signal handler would deliver it; resolves with serve's exit code. */
  stop(): Promise<number>;
}

export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

export function secretFile(dir: string, name: string, content: string, mode = 0o600): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, name);
  writeFileSync(path, content);
  chmodSync(path, mode);
  return path;
}

export interface HarnessOptions {
  /** Extra settings merged into the config file. */
  config?: Record<string, unknown>;
}

export async function startServe(o: HarnessOptions = {}): Promise<ServeHarness> {
  const smtp = await startSmtp();
  const w = world({ PORTALCTL_SMTP_URL: smtp.url, PORTALCTL_MAIL_FROM: 'Grants Portal <no-reply@grants.example.org>' });
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const oidc = await startOidcProvider({
    clients: [
      { client_id: CLIENT_ID, client_secret: CLIENT_SECRET, client_name: 'Grants Portal registration', redirect_uris: [`${url}/register/callback/nih`] },
    ],
    accounts: ACCOUNTS,
  });
  const secrets = join(w.dir, 'secrets');
  const config = {
    services: {
      nih: { type: 'oidc', issuer: oidc.issuer, clientId: CLIENT_ID, clientSecretFile: secretFile(secrets, 'nih-secret', `${CLIENT_SECRET}\n`) },
      ims: { type: 'header', header: 'X-Remote-User', trustedProxies: ['127.0.0.1', '::1'] },
      'ims-employee': { type: 'header', header: 'X-Remote-User', trustedProxies: [UNTRUSTED_PROXY] },
    },
    serve: { apiTokenFile: secretFile(secrets, 'api-tokens', `${API_TOKENS.join('\n')}\n`) },
    ...o.config,
  };
  const configPath = join(w.dir, 'config.json');
  writeFileSync(configPath, JSON.stringify(config, null, 2));
  w.env.PORTALCTL_CONFIG = configPath;
  const added = await w.run([...GRANTS.slice(0, 6), url, ...GRANTS.slice(7)]);
  if (added.exitCode !== 0) throw new Error(`portals add: ${added.stderr}`);

  const clock = {
    now: new Date(T0),
    advanceDays(days: number) {
      clock.now = new Date(clock.now.getTime() + days * 86_400_000);
    },
  };
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const sink = (into: Buffer[]) =>
    new Writable({
      write(chunk, _enc, done) {
        into.push(Buffer.from(chunk));
        done();
      },
    });
  const stdin = new PassThrough();
  stdin.end();
  let abort: ((signal: string) => void) | undefined;
  const exited = main(['serve', '--listen', `127.0.0.1:${port}`], {
    streams: { stdin, stdout: sink(out), stderr: sink(err), stdinIsTTY: false, stdoutIsTTY: false, stderrIsTTY: false },
    env: { ...w.env },
    prompter: scriptedPrompter([], []),
    clock: () => new Date(clock.now.getTime()),
    onInterrupt: (a) => (abort = a),
  });
  const output = () => ({ stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
  const started = Date.now();
  while (!output().stderr.includes('listening on')) {
    const early = await Promise.race([exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), 20))]);
    if (early !== undefined || Date.now() - started > 10_000) throw new Error(`serve did not start (exit ${early}): ${output().stderr}`);
  }

  const h: ServeHarness = {
    world: w,
    url,
    oidc,
    smtp,
    clock,
    output,
    logs: () =>
      output()
        .stdout.split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    async invite(email, firstName = 'Eve') {
      const before = smtp.messages.length;
      const r = await w.run(['users', 'invite', '--email', email, '--first-name', firstName, '--last-name', 'Doe']);
      if (r.exitCode !== 0) throw new Error(`invite: ${r.stderr}`);
      await smtp.waitFor(before + 1);
      return smtp.linkFor(email);
    },
    async events() {
      const store = await openStore({ value: w.db, explicit: true }, { create: false });
      try {
        return await store.read((tx) => tx.events.since(0, 100_000));
      } finally {
        await store.close();
      }
    },
    async stop() {
      abort?.('SIGTERM');
      const code = await exited;
      await Promise.all([oidc.close(), smtp.close()]);
      w.close();
      return code;
    },
  };
  return h;
}
