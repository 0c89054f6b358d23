// `portalctl serve` as a process: it refuses to start on a bad configuration
// (exit 2, one line), and on SIGTERM lets the request in flight finish, takes
// no new ones, and exits 0. The signal test spawns the real bin/portalctl;
// the refusals run in-process through the same main().

import { execa } from 'execa';
import { chmodSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, sandbox } from '../helpers/cli.js';
import { GRANTS, world, type World } from '../helpers/run.js';
import { secretFile } from './harness.js';

const HEADER_SERVICE = { ims: { type: 'header', header: 'X-Remote-User', trustedProxies: ['127.0.0.1'] } };

function writeConfig(dir: string, config: unknown): string {
  const path = join(dir, 'config.json');
  writeFileSync(path, JSON.stringify(config));
  return path;
}

/** Resolves with the data once `pattern` shows up in the stream. */
function waitFor(stream: NodeJS.ReadableStream, pattern: RegExp, ms = 15_000): Promise<RegExpExecArray> {
  let seen = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${pattern}; got: ${seen}`)), ms);
    stream.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      const m = pattern.exec(seen);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    });
  });
}

describe('SIGTERM', () => {
  it('finishes the request in flight, takes no new ones, exits 0', async () => {
    const sb = sandbox();
    try {
      sb.env.PORTALCTL_CONFIG = writeConfig(sb.dir, { services: HEADER_SERVICE });
      expect((await sb.run(GRANTS)).exitCode).toBe(0);
      const child = execa('node', [BIN, 'serve', '--listen', '127.0.0.1:0'], { env: sb.env, extendEnv: false, reject: false });
      const [, url] = await waitFor(child.stderr!, /listening on (http:\/\/127\.0\.0\.1:\d+)/);
      const { port } = new URL(url!);

      // A slow client: the headers and half of the form, then nothing yet.
      const body = 'token=not-a-token&csrf=x&service=ims';
      const socket: Socket = connect(Number(port), '127.0.0.1');
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      const answer = new Promise<string>((resolve) => {
        let text = '';
        socket.on('data', (c: Buffer) => (text += c.toString()));
        socket.on('close', () => resolve(text));
      });
      socket.write(
        `POST /register/link HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 10)}`,
      );
      await new Promise((r) => setTimeout(r, 200));

      child.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 500));
      expect(child.exitCode).toBeNull(); // still draining
      // No new connections meanwhile.
      const refused = await new Promise<string>((resolve) => {
        const s = connect(Number(port), '127.0.0.1');
        s.once('connect', () => {
          s.destroy();
          resolve('connected');
        });
        s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
      });
      expect(refused).toBe('ECONNREFUSED');

      socket.write(body.slice(10));
      const response = await answer;
      expect(response).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
      expect(response).toContain('Error linking your account');
      expect(response).toMatch(/\r\nConnection: close\r\n/i); // a keep-alive client cannot hold the drain open

      const r = await child;
      expect(r.exitCode, `${r.signal ?? ''} ${String(r.stderr)}`).toBe(0);
      expect(String(r.stderr)).toMatch(/stopped \(SIGTERM\); the requests in flight were finished\.$/);
      const log = String(r.stdout)
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(log).toContainEqual(expect.objectContaining({ msg: 'listening', url }));
      expect(log).toContainEqual(expect.objectContaining({ method: 'POST', path: '/register/link', status: 400, outcome: 'link_malformed' }));
    } finally {
      sb.cleanup();
    }
  });

  it('refuses to start without a login service: exit 2, one line (the real binary)', async () => {
    const sb = sandbox();
    try {
      sb.env.PORTALCTL_CONFIG = writeConfig(sb.dir, { serve: { listen: '127.0.0.1:0' } });
      expect((await sb.run(GRANTS)).exitCode).toBe(0);
      const r = await sb.run(['serve']);
      expect(r.exitCode).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^error: No login service is configured, so nobody could link an account: add "services" to the config file /);
      expect(r.stdout).toBe('');
    } finally {
      sb.cleanup();
    }
  });
});

describe('refusing to start on a bad configuration (exit 2, one clear line)', () => {
  let w: World;
  afterAll(() => w?.close());

  async function refuses(config: unknown, args: string[], message: RegExp) {
    w.env.PORTALCTL_CONFIG = writeConfig(w.dir, config);
    const r = await w.run(['serve', ...args]);
    expect(r.stderr).toMatch(message);
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stdout).toBe('');
  }

  it('a secret file that is missing, readable by others, or empty; a bad proxy; a bad listen address; an address in use', async () => {
    w = world();
    expect((await w.run(GRANTS)).exitCode).toBe(0);
    const oidc = (file: string) => ({ nih: { type: 'oidc', issuer: 'https://login.example.org', clientId: 'portalctl', clientSecretFile: file } });
    const secrets = join(w.dir, 'secrets');
    const good = secretFile(secrets, 'good', 's3cret\n');

    await refuses({ services: oidc(join(secrets, 'missing')) }, [], /The client secret file of login service nih .*missing" does not exist/);
    const open = secretFile(secrets, 'open', 's3cret\n', 0o644);
    await refuses({ services: oidc(open) }, [], /can be read by others \(mode 644\); run `chmod 600 /);
    chmodSync(open, 0o640);
    await refuses({ services: oidc(open) }, [], /can be read by others \(mode 640\)/);
    await refuses({ services: oidc(secretFile(secrets, 'empty', '\n')) }, [], /is empty/);
    await refuses(
      { services: oidc(good), serve: { apiTokenFile: secretFile(secrets, 'tokens', 'a\n', 0o604) } },
      [],
      /The API token file \(serve\.apiTokenFile\) .* can be read by others/,
    );
    await refuses(
      { services: { ims: { type: 'header', header: 'X-Remote-User', trustedProxies: ['proxy.example.org'] } } },
      [],
      /services\.ims\.trustedProxies .*"proxy\.example\.org" is not an IP address or network/,
    );
    await refuses(
      { services: { nih: { ...oidc(good).nih, issuer: 'http://login.example.org' } } },
      [],
      /services\.nih\.issuer "http:\/\/login\.example\.org" in .*config\.json is plain http: give the provider's https address/,
    );
    await refuses({ services: oidc(good) }, ['--listen', 'localhost'], /Invalid --listen "localhost": give HOST:PORT/);
    await refuses({ services: oidc(good) }, ['--listen', '127.0.0.1:99999'], /Invalid --listen/);
    await refuses({ services: oidc(good), serve: { listen: 'nowhere:port' } }, [], /Invalid serve\.listen in .*config\.json "nowhere:port"/);
    await refuses({ services: oidc(good), serve: { publicUrl: 'ftp://x' } }, [], /Invalid serve\.publicUrl/);

    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    try {
      const port = (busy.address() as { port: number }).port;
      await refuses(
        { services: oidc(good) },
        ['--listen', `127.0.0.1:${port}`],
        new RegExp(`Cannot listen on 127\\.0\\.0\\.1:${port}: the address is already in use\\.`),
      );
    } finally {
      busy.close();
    }
  });
});
