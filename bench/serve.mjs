// The Step 2 page and the access API under load: autocannon (32 connections)
// against `portalctl serve` on a copy of a seeded store, beside a bare
// fastify route answering a fixed string, sent the very same requests (so
// autocannon's own work, which shares the machine, is the same on both sides). The link route limits each client
// address to 60 requests a minute; the load comes through a trusted proxy
// (loopback) with a different X-Forwarded-For per request, like many people at
// once, so what is measured is the page itself (a Step 2 view recorded each time).
// Then a link-scanner storm — 1,000 GETs of one link in a second from one
// address — runs while the access API is under load, against the API alone.
//
// Run by bench/run.mjs; alone (the store is seeded or taken from bench/.stores):
//   npm run build && node bench/serve.mjs [USERS]     (default 100000; BENCH_QUICK=1: 3 s runs)

import { execFileSync, fork, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { BENCH_NOW, STORES_DIR, cachedStore } from './seed.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'bin', 'portalctl');

const median = (xs) => {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/**
 * Runs the serve benchmark on a copy of `store` (a seeded store's meta: path, tokens, users).
 * Returns { bareLink, link, bareAccess, access, storm, duringStorm, alone, views, size }; throws if serve fails.
 */
export async function serveBench({ store, work, seconds = 8, node = process.execPath, env = process.env, log = (s) => process.stderr.write(`${s}\n`) }) {
  let result;
  const { default: autocannon } = await import('autocannon');
  const load = (opts) =>
    new Promise((res, rej) => {
      autocannon({ connections: 32, duration: seconds, ...opts }, (err, r) => (err ? rej(err) : res(r)));
    });
  const summary = (r) => ({ rps: r.requests.average, p99: r.latency.p99, non2xx: r.non2xx, errors: r.errors + r.timeouts, total: r.requests.total });
  const readyChild = (child) =>
    new Promise((res, rej) => {
      child.once('message', (m) => (m?.type === 'ready' ? res(m.port) : rej(new Error('did not start'))));
      child.once('exit', () => rej(new Error('exited')));
    });
  const freePort = () =>
    new Promise((res) => {
      const srv = createServer();
      srv.listen(0, '127.0.0.1', () => {
        const { port } = srv.address();
        srv.close(() => res(port));
      });
    });
  log(`• serve: autocannon, 32 connections, ${seconds} s each`);
  const bare = fork(join(ROOT, 'bench', 'bare-fastify.mjs'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let server;
  try {
    const barePort = await readyChild(bare);
    const s = store;
    mkdirSync(join(work, 'serve'), { recursive: true });
    const db = join(work, 'serve', 'serve.db');
    for (const x of ['', '-wal', '-shm']) rmSync(db + x, { force: true });
    copyFileSync(s.path, db);
    const apiToken = 'bench-api-token-0123456789abcdef';
    const tokenFile = join(work, 'serve', 'api-tokens');
    writeFileSync(tokenFile, `${apiToken}\n`, { mode: 0o600 });
    const configFile = join(work, 'serve', 'config.json');
    writeFileSync(
      configFile,
      JSON.stringify({ services: { ims: { type: 'header', header: 'x-remote-user', trustedProxies: ['127.0.0.1'] } }, serve: { apiTokenFile: tokenFile } }),
      { mode: 0o600 },
    );
    const port = await freePort();
    server = spawn(node, [CLI, '--db', db, 'serve', '--listen', `127.0.0.1:${port}`], {
      cwd: ROOT,
      env: { ...env, PORTALCTL_CONFIG: configFile },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let serverLog = '';
    await new Promise((res, rej) => {
      const timer = setTimeout(() => rej(new Error(`serve did not start: ${serverLog.slice(-500)}`)), 30_000);
      server.stderr.on('data', (c) => {
        serverLog = (serverLog + c).slice(-4096);
        if (serverLog.includes('listening on')) {
          clearTimeout(timer);
          res();
        }
      });
      server.once('exit', (code) => rej(new Error(`serve exited ${code}: ${serverLog.slice(-500)}`)));
    });
    const token = s.tokens[s.tokens.length - 1];
    const linkPath = `/register/link?token=${token.token}`;
    let client = 0;
    const manyClients = [
      {
        method: 'GET',
        path: linkPath,
        setupRequest: (req) => {
          client++;
          req.headers = { ...req.headers, 'x-forwarded-for': `10.${(client >> 16) & 255}.${(client >> 8) & 255}.${client & 255}` };
          return req;
        },
      },
    ];
    const linkLoad = (to) => ({ url: `http://127.0.0.1:${to}`, requests: manyClients });
    // The portal asks about a person who has linked: the answer is 200 with the user.
    const [service, account] = execFileSync(
      'sqlite3',
      [db, 'SELECT login_service, username FROM users WHERE login_service IS NOT NULL ORDER BY id LIMIT 1 OFFSET 100'],
      {
        encoding: 'utf8',
      },
    )
      .trim()
      .split('|');
    const accessPath = `/api/v1/access?service=${service}&account=${encodeURIComponent(account)}`;
    const auth = { authorization: `Bearer ${apiToken}` };
    const check = await fetch(`http://127.0.0.1:${port}${linkPath}`);
    const checkApi = await fetch(`http://127.0.0.1:${port}${accessPath}`, { headers: auth });
    if (check.status !== 200 || checkApi.status !== 200) throw new Error(`serve answered ${check.status} to the link and ${checkApi.status} to the API`);
    const accessLoad = (to) => ({ url: `http://127.0.0.1:${to}${accessPath}`, headers: auth });
    // Warm-up, then A/B/A/B: each route of serve beside the bare route sent the same requests.
    await load({ ...linkLoad(barePort), duration: 2 });
    await load({ ...linkLoad(port), duration: 2 });
    const runs = { bareLink: [], link: [], bareAccess: [], access: [] };
    for (let i = 0; i < 2; i++) {
      runs.bareLink.push(summary(await load(linkLoad(barePort))));
      runs.link.push(summary(await load(linkLoad(port))));
      runs.bareAccess.push(summary(await load(accessLoad(barePort))));
      runs.access.push(summary(await load(accessLoad(port))));
    }
    // The storm: one address, one link, 1,000 GETs in a second, while the API is under load.
    const stormUrl = `http://127.0.0.1:${port}${linkPath}`;
    // From a process of its own, so its 1,000 fetches do not hold up the event loop that times the API's answers.
    const storm = () =>
      new Promise((res, rej) => {
        const child = fork(fileURLToPath(import.meta.url), ['--storm', stormUrl], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
        child.once('message', res);
        child.once('exit', (code) => rej(new Error(`the storm exited ${code}`)));
      });
    const accessUnderStorm = load({ url: `http://127.0.0.1:${port}${accessPath}`, headers: auth, duration: 3 });
    const stormResult = await storm();
    const duringStorm = summary(await accessUnderStorm);
    const alone = summary(await load({ url: `http://127.0.0.1:${port}${accessPath}`, headers: auth, duration: 3 }));
    const views = execFileSync('sqlite3', [db, `SELECT count(*) FROM link_views WHERE client_address = '192.0.2.7'`], { encoding: 'utf8' }).trim();
    const best = (xs) => ({ rps: median(xs.map((x) => x.rps)), p99: median(xs.map((x) => x.p99)), non2xx: xs.reduce((a, x) => a + x.non2xx + x.errors, 0) });
    result = {
      bareLink: best(runs.bareLink),
      link: best(runs.link),
      bareAccess: best(runs.bareAccess),
      access: best(runs.access),
      storm: stormResult,
      duringStorm,
      alone,
      views,
      size: s.users,
    };
    const { bareLink: bl, link: l, bareAccess: ba, access: a } = result;
    log(`  link page ${l.rps.toFixed(0)} req/s p99 ${l.p99} ms (bare fastify, same requests: ${bl.rps.toFixed(0)} req/s p99 ${bl.p99} ms)`);
    log(`  access API ${a.rps.toFixed(0)} req/s p99 ${a.p99} ms (bare fastify, same requests: ${ba.rps.toFixed(0)} req/s p99 ${ba.p99} ms)`);
    log(
      `  storm: ${JSON.stringify(stormResult.statuses)} in ${stormResult.ms} ms, ${views} views recorded; API p99 ${duringStorm.p99} ms during, ${alone.p99} ms alone`,
    );
  } finally {
    server?.kill('SIGTERM');
    bare.disconnect();
    bare.kill();
  }
  return result;
}

/** The link-scanner storm: 1,000 GETs of one link from one address, one a millisecond; reports the answers' statuses. */
async function storm(url) {
  const statuses = new Map();
  const t0 = Date.now();
  await Promise.all(
    Array.from({ length: 1000 }, async (_, i) => {
      await new Promise((r) => setTimeout(r, i));
      const r = await fetch(url, { headers: { 'x-forwarded-for': '192.0.2.7', 'user-agent': 'LinkScanner/1.0' } }).catch(() => null);
      const k = r ? r.status : 'error';
      statuses.set(k, (statuses.get(k) ?? 0) + 1);
      await r?.arrayBuffer();
    }),
  );
  return { ms: Date.now() - t0, statuses: Object.fromEntries(statuses) };
}

if (process.argv[2] === '--storm') {
  process.send(await storm(process.argv[3]));
  process.disconnect();
} else if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const users = Number(process.argv[2] ?? 100000);
  const log = (s) => process.stderr.write(`${s}\n`);
  const store = await cachedStore(users, { log: (s) => log(`  ${s}`) });
  const r = await serveBench({
    store,
    work: join(STORES_DIR, 'work'),
    seconds: process.env.BENCH_QUICK === '1' ? 3 : 8,
    env: { ...process.env, PORTALCTL_NOW: BENCH_NOW, NO_COLOR: '1' },
    log,
  });
  const x = (a, b) => `${(a.rps / b.rps).toFixed(2)}×`;
  log(`  link page ${x(r.link, r.bareLink)} of bare, access API ${x(r.access, r.bareAccess)} of bare; not 2xx: link ${r.link.non2xx}, API ${r.access.non2xx}`);
}
