// Two `portalctl serve` hosts behind a load balancer, one PostgreSQL store
// (README "Several hosts behind a load balancer"): a person's way through
// Step 2 crosses hosts — the page from one, "Link with …" on the other, the
// return from the login service on the first again — and no sticky sessions
// are needed. Real processes (bin/portalctl), a real OpenID Connect provider,
// a real SMTP server, a real PostgreSQL server; the balancer is a few lines
// of node:http that route by request.

import { once } from 'node:events';
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, GRANTS, sandbox, type Sandbox } from '../helpers/cli.js';
import { startOidcProvider, type TestOidc } from '../helpers/oidc.js';
import { sharedPostgres } from '../helpers/postgres.js';
import { startSmtp, type TestSmtp } from '../helpers/smtp.js';
import { Agent, h1, seen, signInWithNih } from './agent.js';
import { ACCOUNTS, API_TOKENS, CLIENT_ID, CLIENT_SECRET, freePort, secretFile, type ServeHarness } from './harness.js';

interface Host {
  name: string;
  url: string;
  child: ResultPromise;
  stdout: () => string;
}

let sb: Sandbox;
let smtp: TestSmtp;
let oidc: TestOidc;
let balancer: Server;
let lb: string;
const hosts: Host[] = [];
/** Which host the balancer sent each request to, in order: "A GET /register/link". */
const routed: string[] = [];

/** The balancer's rule: the Step 2 page and the return from sign-in to A, "Link with …" to B, the API to each in turn. */
let apiTurn = 0;
function pick(req: IncomingMessage): Host {
  const path = new URL(req.url!, 'http://x').pathname;
  if (path === '/register/link' && req.method === 'POST') return hosts[1]!;
  if (path.startsWith('/api/')) return hosts[apiTurn++ % 2]!;
  return hosts[0]!;
}

async function startHost(name: string): Promise<Host> {
  const child = execa('node', [BIN, 'serve', '--listen', '127.0.0.1:0'], { env: sb.env, extendEnv: false, reject: false });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  let err = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr!.on('data', (c: Buffer) => {
      err += c.toString();
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(err);
      if (m) resolve(m[1]!);
    });
    void child.then((r) => reject(new Error(`serve ${name} exited ${r.exitCode}: ${err}`)));
  });
  return { name, url, child, stdout: () => out };
}

beforeAll(async () => {
  const pg = await sharedPostgres();
  smtp = await startSmtp();
  const port = await freePort();
  lb = `http://127.0.0.1:${port}`;
  oidc = await startOidcProvider({
    clients: [
      { client_id: CLIENT_ID, client_secret: CLIENT_SECRET, client_name: 'Grants Portal registration', redirect_uris: [`${lb}/register/callback/nih`] },
    ],
    accounts: ACCOUNTS,
  });
  sb = sandbox({
    PORTALCTL_DB: await pg.createDatabase(),
    PGPASSWORD: pg.password,
    PORTALCTL_SMTP_URL: smtp.url,
    PORTALCTL_MAIL_FROM: 'Grants Portal <no-reply@grants.example.org>',
  });
  const secrets = join(sb.dir, 'secrets');
  sb.env.PORTALCTL_CONFIG = secretFile(
    sb.dir,
    'config.json',
    JSON.stringify({
      // The same configuration on every host: the same client secret and API tokens, from which each derives the same keys.
      services: { nih: { type: 'oidc', issuer: oidc.issuer, clientId: CLIENT_ID, clientSecretFile: secretFile(secrets, 'nih-secret', `${CLIENT_SECRET}\n`) } },
      serve: { apiTokenFile: secretFile(secrets, 'api-tokens', `${API_TOKENS.join('\n')}\n`) },
    }),
  );
  const added = await sb.run([...GRANTS.slice(0, 6), lb, ...GRANTS.slice(7)]);
  expect(added.exitCode, added.stderr).toBe(0);

  hosts.push(await startHost('A'), await startHost('B'));
  balancer = createServer((req, res) => {
    const host = pick(req);
    routed.push(`${host.name} ${req.method} ${new URL(req.url!, 'http://x').pathname}`);
    const target = new URL(req.url!, host.url);
    const upstream = request(target, { method: req.method, headers: { ...req.headers, 'x-forwarded-for': '198.51.100.7' } }, (r) => {
      res.writeHead(r.statusCode!, r.headers);
      r.pipe(res);
    });
    req.pipe(upstream);
  });
  balancer.listen(port, '127.0.0.1');
  await once(balancer, 'listening');
}, 60_000);

afterAll(async () => {
  for (const h of hosts) h.child.kill('SIGTERM');
  const codes = await Promise.all(hosts.map(async (h) => (await h.child).exitCode));
  balancer?.close();
  await Promise.all([oidc?.close(), smtp?.close()]);
  sb?.cleanup();
  expect(codes).toEqual([0, 0]);
});

describe('two serve hosts on one PostgreSQL store', { timeout: 60_000 }, () => {
  it('a sign-in that crosses hosts links the account: page on A, "Link with" on B, the return on A', async () => {
    const invited = await sb.run(['users', 'invite', '--email', 'jane@example.org', '--first-name', 'Jane', '--last-name', 'Doe']);
    expect(invited.exitCode, invited.stderr).toBe(0);
    await smtp.waitFor(1);
    const link = smtp.linkFor('jane@example.org');
    expect(link.startsWith(`${lb}/register/link?token=`)).toBe(true);

    const person = new Agent({ 'user-agent': 'Mozilla/5.0 (two hosts test)' });
    const callback = await signInWithNih(person, { url: lb } as ServeHarness, link, 'jdoe');
    const done = await person.request(callback);
    expect(done.status, seen(done.text)).toBe(200);
    expect(seen(done.text)).toContain('Your NIH Network Login account jdoe is now linked to Grants Portal');
    expect(routed).toEqual(expect.arrayContaining(['A GET /register/link', 'B POST /register/link', 'A GET /register/callback/nih']));

    // Every host and the command line see the same store.
    const who = await sb.json<{ users: { username: string; loginService: string }[] }>(['--json', 'users', 'whoami-login', 'jane@example.org']);
    expect(who.users[0]).toMatchObject({ username: 'jdoe', loginService: 'nih' });
    for (const h of hosts) {
      const api = await fetch(`${h.url}/api/v1/access?portal=grants&service=nih&account=jdoe`, { headers: { authorization: `Bearer ${API_TOKENS[0]}` } });
      expect(api.status, h.name).toBe(200);
    }
  });

  it('the used link is used on both hosts; the views of each are in one event log', async () => {
    const link = smtp.linkFor('jane@example.org');
    for (const h of hosts) {
      // Straight to each host, as a scanner behind either leg of the balancer reaches it.
      const again = await new Agent().request(link.replace(lb, h.url));
      expect(again.status, h.name).toBe(410);
      expect(h1(again.text)).toBe('Error linking your account');
      expect(seen(again.text)).toContain('link_used');
    }
    const events = await sb.json<{ events: { type: string }[] }>(['--json', 'events']);
    const types = events.events.map((e) => e.type);
    expect(types.filter((t) => t === 'linked')).toHaveLength(1);
    expect(types.filter((t) => t === 'link_viewed')).toHaveLength(3); // the person's, then one from each host
    // Each host wrote its own request log; both served this person.
    expect(hosts[0]!.stdout()).toMatch(/"method":"GET","path":"\/register\/callback\/nih"/);
    expect(hosts[1]!.stdout()).toMatch(/"method":"POST","path":"\/register\/link"/);
  });

  it('the API answers the same on either host, and refuses a wrong token on both', async () => {
    const answers = [];
    for (let i = 0; i < 4; i++) {
      const r = await fetch(`${lb}/api/v1/access?portal=grants&service=nih&account=nobody-here`, { headers: { authorization: `Bearer ${API_TOKENS[1]}` } });
      answers.push([r.status, ((await r.json()) as { error: { code: string } }).error.code]);
    }
    expect(answers).toEqual(Array(4).fill([403, 'access_denied']));
    expect(routed.filter((r) => r.includes('/api/')).map((r) => r[0])).toEqual(['A', 'B', 'A', 'B']);
    for (const h of hosts) {
      const r = await fetch(`${h.url}/api/v1/access?portal=grants&service=nih&account=jdoe`, { headers: { authorization: 'Bearer not-a-token' } });
      expect(r.status, h.name).toBe(401);
    }
  });
});
