// `portalctl doctor` on serve's setup: each login service (a real OpenID
// Connect provider asked for its discovery document; header services and
// their proxies), the API token file, the public URL.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOidcProvider, type TestOidc } from '../helpers/oidc.js';
import { GRANTS, world, type World } from '../helpers/run.js';
import { freePort, secretFile } from './harness.js';

let w: World;
let oidc: TestOidc;

beforeAll(async () => {
  w = world();
  expect((await w.run(GRANTS)).exitCode).toBe(0);
  oidc = await startOidcProvider({ clients: [{ client_id: 'grants', client_secret: 'grants-secret', redirect_uris: ['http://x/cb'] }], accounts: {} });
});

afterAll(async () => {
  await oidc?.close();
  w?.close();
});

type Check = { name: string; status: string; detail: string };

async function doctor(config: unknown): Promise<{ checks: Check[]; exitCode: number }> {
  const path = join(w.dir, 'config.json');
  writeFileSync(path, JSON.stringify(config));
  w.env.PORTALCTL_CONFIG = path;
  const r = await w.run(['--json', 'doctor']);
  return { checks: JSON.parse(r.stdout).checks, exitCode: r.exitCode };
}

const named = (checks: Check[], name: string) => checks.find((c) => c.name === name);

describe('doctor: serve', () => {
  it('all well: the provider answers as the configured issuer, the header service names its proxies, the tokens are long and private', async () => {
    const secrets = join(w.dir, 's1');
    const { checks, exitCode } = await doctor({
      services: {
        nih: { type: 'oidc', issuer: oidc.issuer, clientId: 'grants', clientSecretFile: secretFile(secrets, 'nih', 'grants-secret\n') },
        ims: { type: 'header', header: 'X-Remote-User', trustedProxies: ['10.0.0.5', '10.1.0.0/16'] },
      },
      serve: { apiTokenFile: secretFile(secrets, 'tokens', `${'a'.repeat(64)}\n${'b'.repeat(64)}\n`), publicUrl: 'https://register.example.org' },
    });
    expect(named(checks, 'login service nih')).toEqual({
      name: 'login service nih',
      status: 'ok',
      detail: `OpenID Connect, discovery answered: issuer ${oidc.issuer} (matches), client grants, sign-in at ${oidc.issuer}/auth; username from the "preferred_username" claim`,
    });
    expect(named(checks, 'login service ims')).toMatchObject({
      status: 'ok',
      detail: 'trusted header X-Remote-User, believed only from 10.0.0.5, 10.1.0.0/16',
    });
    expect(named(checks, 'API tokens')).toMatchObject({ status: 'ok', detail: expect.stringMatching(/^2 tokens in .*tokens; \/api\/v1\/access is on$/) });
    expect(named(checks, 'serve public URL')).toBeUndefined();
    expect(exitCode).toBe(0);
  });

  it('fails a provider that calls itself by another name, one that does not answer, and an unsafe secret file', async () => {
    const secrets = join(w.dir, 's2');
    const secret = secretFile(secrets, 'nih', 'grants-secret\n');
    const closed = await freePort();
    const { checks, exitCode } = await doctor({
      services: {
        nih: { type: 'oidc', issuer: oidc.issuer.replace('127.0.0.1', 'localhost'), clientId: 'grants', clientSecretFile: secret },
        ims: { type: 'oidc', issuer: `http://127.0.0.1:${closed}`, clientId: 'grants', clientSecretFile: secret },
        'ims-employee': { type: 'oidc', issuer: oidc.issuer, clientId: 'grants', clientSecretFile: secretFile(secrets, 'open', 'x\n', 0o644) },
      },
      serve: { apiTokenFile: secretFile(secrets, 'tokens', 'short\n') },
    });
    expect(named(checks, 'login service nih')).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining(`the provider's discovery document names the issuer ${oidc.issuer}, not http://localhost:`),
    });
    expect(named(checks, 'login service ims')).toMatchObject({
      status: 'fail',
      detail: expect.stringMatching(new RegExp(`^OpenID Connect discovery at http://127\\.0\\.0\\.1:${closed} failed \\(.+\\); check services\\.ims\\.issuer`)),
    });
    expect(named(checks, 'login service ims-employee')).toMatchObject({ status: 'fail', detail: expect.stringContaining('can be read by others (mode 644)') });
    expect(named(checks, 'API tokens')).toMatchObject({ status: 'warn', detail: expect.stringContaining('1 token shorter than 32 characters') });
    expect(exitCode).toBe(1);
  });

  it('warns about a header service that trusts everyone, a missing token file, a plain-http public URL; fails with no service', async () => {
    let r = await doctor({
      services: { ims: { type: 'header', header: 'X-Remote-User', trustedProxies: ['0.0.0.0/0'] } },
      serve: { publicUrl: 'http://register.example.org' },
    });
    expect(named(r.checks, 'login service ims')).toMatchObject({ status: 'warn', detail: expect.stringContaining('that is every address') });
    expect(named(r.checks, 'API tokens')).toMatchObject({ status: 'warn', detail: 'serve.apiTokenFile is not set: /api/v1/access answers 503 until it is' });
    expect(named(r.checks, 'serve public URL')).toMatchObject({ status: 'warn' });

    r = await doctor({ serve: { listen: '127.0.0.1:8080' } });
    expect(named(r.checks, 'login services')).toMatchObject({ status: 'fail', detail: expect.stringContaining('`portalctl serve` will not start') });
    expect(r.exitCode).toBe(1);

    // No serve set up at all: nothing about it.
    r = await doctor({});
    expect(r.checks.filter((c) => /login service|API tokens|serve/.test(c.name))).toEqual([]);
  });
});
