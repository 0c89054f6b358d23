#!/usr/bin/env node
// `npm run bench:postgres`: the PostgreSQL store beside the SQLite store on
// the same workload — the 100k-user store of bench/seed.mjs, copied into
// PostgreSQL through the store layer (what `portalctl store copy` does).
//
// Each figure is the wall time of a whole `portalctl` process; the two sides
// run as pairs (SQLite then PostgreSQL, then the other way round), and the
// ratio is the median of the per-pair ratios, so drift of a shared machine
// cancels. Peak RSS from GNU time -v when installed.
//
// The server: BENCH_PG_URL (postgres://USER:PASS@HOST:PORT/DB of a role with
// CREATEDB; working databases are created beside it), or else a throwaway
// cluster started like the tests' (test/helpers/postgres.ts, Debian's
// postgresql package), with fsync on and synchronous_commit off — the same
// durability as the SQLite store's WAL with synchronous=NORMAL.
//
// Environment: BENCH_USERS (default 100000), BENCH_INVITES (default 5000),
// BENCH_RUNS (default 5), BENCH_OUT (default bench/.stores/POSTGRES.md).

import { execFileSync, fork, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { BENCH_NOW, STORES_DIR, cachedStore, seedPostgres, seededEmail } from './seed.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'bin', 'portalctl');
const NODE = process.execPath;
const USERS = Number(process.env.BENCH_USERS || 100_000);
const SMALL = Math.min(10_000, USERS);
const INVITES = Number(process.env.BENCH_INVITES || 5000);
const RUNS = Number(process.env.BENCH_RUNS || 5);
const OUT = resolve(process.env.BENCH_OUT || join(STORES_DIR, 'POSTGRES.md'));
/** BENCH_ONLY=lookup,list,prune,invite: a subset of the workloads. */
const ONLY = new Set((process.env.BENCH_ONLY || 'lookup,list,prune,invite').split(','));
const WORK = join(STORES_DIR, 'pgwork');
const TIMEOUT_MS = 300_000;
const log = (s = '') => process.stderr.write(`${s}\n`);

const hasGnuTime = (() => {
  try {
    execFileSync('/usr/bin/time', ['-v', 'true'], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
})();

const median = (xs) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const fmtMs = (ms) => (!Number.isFinite(ms) ? '—' : ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);
const fmtX = (x) => (Number.isFinite(x) ? `${x.toFixed(2)}×` : '—');
const fmtMB = (kb) => (Number.isFinite(kb) ? `${(kb / 1024).toFixed(0)} MB` : '—');
const fmtN = (n) => (n >= 1000 && n % 1000 === 0 ? `${n / 1000}k` : String(n));

function runProcess(args, { env, rss = false } = {}) {
  const wrapped = rss && hasGnuTime;
  const file = wrapped ? '/usr/bin/time' : NODE;
  const argv = wrapped ? ['-v', NODE, CLI, ...args] : [CLI, ...args];
  return new Promise((done) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(file, argv, { env, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let outBytes = 0;
    let err = '';
    child.stdout.on('data', (c) => {
      outBytes += c.length;
      if (out.length < 1 << 20) out += c;
    });
    child.stderr.on('data', (c) => (err = (err + c).slice(-16384)));
    const timer = setTimeout(() => child.kill('SIGKILL'), TIMEOUT_MS);
    child.on('close', (code) => {
      clearTimeout(timer);
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      let rssKb = NaN;
      let exit = code;
      if (wrapped) {
        rssKb = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(err)?.[1] ?? NaN);
        exit = Number(/Exit status: (\d+)/.exec(err)?.[1] ?? code);
        err = err.replace(/\n?\s*Command being timed:[\s\S]*$/, '');
      }
      done({ ms, code: exit, out, outBytes, err, rssKb });
    });
  });
}

const rows = [];
const problems = [];
/** Pairs of runs, SQLite and PostgreSQL in alternating order; ratio = PostgreSQL / SQLite. */
async function pairs(name, sqlite, postgres, { runs = RUNS, warmup = 1, prepare } = {}) {
  log(`• ${name}`);
  const res = { name, a: [], b: [], ratios: [], aRss: [], bRss: [], extraA: [], extraB: [] };
  const one = async (side, which) => {
    await prepare?.(which);
    const r = await side();
    if (r.code !== 0) {
      const p = `${name} (${which}): exit ${r.code}: ${r.err.trim().split('\n').slice(-2).join(' | ')}`;
      problems.push(p);
      log(`  ! ${p}`);
    }
    return r;
  };
  for (let i = 0; i < warmup; i++) {
    await one(sqlite, 'sqlite');
    await one(postgres, 'postgres');
  }
  for (let i = 0; i < runs; i++) {
    const order = i % 2 ? ['postgres', 'sqlite'] : ['sqlite', 'postgres'];
    const got = {};
    for (const w of order) got[w] = await one(w === 'sqlite' ? sqlite : postgres, w);
    res.a.push(got.sqlite.ms);
    res.b.push(got.postgres.ms);
    res.aRss.push(got.sqlite.rssKb);
    res.bRss.push(got.postgres.rssKb);
    res.ratios.push(got.postgres.ms / got.sqlite.ms);
    res.extraA.push(got.sqlite);
    res.extraB.push(got.postgres);
  }
  res.medA = median(res.a);
  res.medB = median(res.b);
  res.ratio = median(res.ratios);
  const peak = (xs) => (xs.some(Number.isFinite) ? Math.max(...xs.filter(Number.isFinite)) : NaN);
  res.rssA = peak(res.aRss);
  res.rssB = peak(res.bRss);
  log(`  SQLite ${fmtMs(res.medA)}   PostgreSQL ${fmtMs(res.medB)}   PostgreSQL/SQLite ${fmtX(res.ratio)}  (${res.ratios.length} pairs)`);
  rows.push(res);
  return res;
}

// ------------------------------------------------------------------ the server

let cluster;
let admin; // { url(db), createFrom(template, name), drop(name), password }
if (process.env.BENCH_PG_URL) {
  const pg = createRequire(import.meta.url)('pg');
  const base = new URL(process.env.BENCH_PG_URL);
  const sql = async (text) => {
    const c = new pg.Client({ connectionString: base.href });
    await c.connect();
    try {
      return await c.query(text);
    } finally {
      await c.end();
    }
  };
  const password = decodeURIComponent(base.password);
  const url = (db) => {
    const u = new URL(base.href);
    u.password = '';
    u.pathname = `/${db}`;
    return u.href;
  };
  admin = {
    password,
    url,
    create: async (name, template) => {
      await sql(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await sql(`CREATE DATABASE "${name}"${template ? ` TEMPLATE "${template}"` : ''}`);
      return url(name);
    },
  };
} else {
  // The tests' harness, transpiled: a cluster in a temporary folder that dies with this process.
  const ts = createRequire(import.meta.url)('typescript');
  const src = readFileSync(join(ROOT, 'test', 'helpers', 'postgres.ts'), 'utf8');
  const js = ts.transpileModule(src, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
  mkdirSync(WORK, { recursive: true });
  const file = join(WORK, 'postgres-harness.mjs');
  writeFileSync(file, js.replace(/from 'pg'/, `from '${pathToFileURL(createRequire(import.meta.url).resolve('pg')).href}'`));
  const { startPostgres } = await import(pathToFileURL(file).href);
  log('starting a throwaway PostgreSQL cluster');
  cluster = await startPostgres({ settings: { fsync: 'on', full_page_writes: 'on', synchronous_commit: 'off', shared_buffers: '128MB' } });
  admin = {
    password: cluster.password,
    url: (db) => cluster.url(db),
    create: async (name, template) => {
      await cluster.dropDatabase(name);
      return cluster.createDatabase(name, template ? { template } : {});
    },
  };
}

const cleanup = async () => {
  await cluster?.destroy();
};
process.on('SIGINT', () => cleanup().then(() => process.exit(130)));

try {
  const baseEnv = { ...process.env, PORTALCTL_NOW: BENCH_NOW, NO_COLOR: '1', PGPASSWORD: admin.password, HOME: WORK, XDG_DATA_HOME: join(WORK, 'data') };
  for (const k of [
    'FORCE_COLOR',
    'PORTALCTL_DB',
    'PORTALCTL_PORTAL',
    'PORTALCTL_SMTP_URL',
    'PORTALCTL_SMTP_PASSWORD_FILE',
    'PORTALCTL_MAIL_FROM',
    'PORTALCTL_CONFIG',
  ])
    delete baseEnv[k];
  baseEnv.PORTALCTL_CONFIG = join(WORK, 'no-config.json');
  mkdirSync(WORK, { recursive: true });

  const stores = {};
  for (const n of [...new Set([SMALL, USERS])]) {
    const sqlite = await cachedStore(n, { log: (s) => log(`  ${s}`) });
    const t0 = Date.now();
    const url = await admin.create(`seed_${n}`);
    await seedPostgres(sqlite, url, admin.password);
    log(`  copied the ${fmtN(n)} store into PostgreSQL in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    stores[n] = { sqlite, pg: url, pgName: `seed_${n}` };
  }
  const big = stores[USERS];
  const cli =
    (db, args, opts = {}) =>
    () =>
      runProcess(['--db', db, ...args], { env: baseEnv, ...opts });
  const freshSqlite = (src, name) => {
    const dst = join(WORK, name);
    for (const s of ['', '-wal', '-shm']) rmSync(dst + s, { force: true });
    copyFileSync(src, dst);
    return dst;
  };

  // Look-ups on the big store.
  if (ONLY.has('lookup'))
    await pairs(
      `look-up: users whoami-login EMAIL (${fmtN(USERS)})`,
      cli(big.sqlite.path, ['users', 'whoami-login', big.sqlite.lookupEmail]),
      cli(big.pg, ['users', 'whoami-login', big.sqlite.lookupEmail]),
      {
        warmup: 2,
        runs: RUNS * 2,
      },
    );
  await pairs(
    `look-up: users show EMAIL (${fmtN(USERS)})`,
    cli(big.sqlite.path, ['users', 'show', big.sqlite.lookupEmail]),
    cli(big.pg, ['users', 'show', big.sqlite.lookupEmail]),
    {
      warmup: 2,
      runs: RUNS * 2,
    },
  );
  if (ONLY.has('lookup')) {
    const sq = freshSqlite(big.sqlite.path, 'link.db');
    const pgUrl = await admin.create('link_work', big.pgName);
    let k = { sqlite: 0, postgres: 0 };
    const tokens = big.sqlite.tokens;
    const side = (which, db) => () => {
      const i = k[which]++;
      return runProcess(
        [
          '--db',
          db,
          'link',
          `https://grants.example.org/register/link?token=${tokens[i % tokens.length].token}`,
          '--service',
          'ims',
          '--account',
          `b-${which}-${i}`,
        ],
        { env: baseEnv },
      );
    };
    await pairs(`look-up: link TOKEN (${fmtN(USERS)}, a write)`, side('sqlite', sq), side('postgres', pgUrl), {
      warmup: 2,
      runs: Math.min(RUNS * 2, tokens.length - 3),
    });
  }

  // users list --json, time and memory, on both sizes.
  for (const n of ONLY.has('list') ? [...new Set([SMALL, USERS])] : []) {
    const s = stores[n];
    const r = await pairs(
      `users list --json (${fmtN(n)})`,
      cli(s.sqlite.path, ['users', 'list', '--json'], { rss: true }),
      cli(s.pg, ['users', 'list', '--json'], { rss: true }),
      { runs: Math.max(2, Math.ceil(RUNS / 2)) },
    );
    r.outBytes = r.extraB[0]?.outBytes;
    const same = r.extraA[0]?.outBytes === r.extraB[0]?.outBytes;
    if (!same) problems.push(`users list --json (${fmtN(n)}): SQLite wrote ${r.extraA[0]?.outBytes} bytes, PostgreSQL ${r.extraB[0]?.outBytes}`);
  }

  // prune on a fresh copy each run (the copy is not timed).
  if (ONLY.has('prune')) {
    const sqDb = join(WORK, 'prune.db');
    const r = await pairs(
      `prune --yes (${fmtN(big.sqlite.removable)} of ${fmtN(USERS)})`,
      () => runProcess(['--db', sqDb, 'prune', '--yes', '--quiet'], { env: baseEnv, rss: true }),
      () => runProcess(['--db', admin.url('prune_work'), 'prune', '--yes', '--quiet'], { env: baseEnv, rss: true }),
      {
        warmup: 0,
        runs: Math.max(2, Math.ceil(RUNS / 2)),
        prepare: async (which) => (which === 'sqlite' ? freshSqlite(big.sqlite.path, 'prune.db') : admin.create('prune_work', big.pgName)),
      },
    );
    r.removed = big.sqlite.removable;
  }

  // Bulk invite of INVITES people into a store holding only the portal, to a local SMTP sink: the
  // smtp-server package (a real server's work per message, on the same two cores), and the pipelining
  // sink that does almost nothing per message (what is left is portalctl's and the store's work).
  const SINKS = [
    ['smtp-sink.mjs', 'a local SMTP server (smtp-server)'],
    ['smtp-pipelining-sink.mjs', 'a pipelining sink'],
  ];
  for (const [sinkFile, sinkName] of ONLY.has('invite') ? SINKS : []) {
    const sink = fork(join(ROOT, 'bench', sinkFile), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const port = await new Promise((res, rej) => {
      sink.once('message', (m) => (m?.type === 'ready' ? res(m.port) : rej(new Error('smtp sink did not start'))));
      sink.once('exit', () => rej(new Error('smtp sink exited')));
    });
    let id = 0;
    const sinkCount = () =>
      new Promise((res) => {
        const me = ++id;
        const on = (m) => {
          if (m?.type === 'count' && m.id === me) {
            sink.off('message', on);
            res(m.received);
          }
        };
        sink.on('message', on);
        sink.send({ type: 'count', id: me });
      });
    const csv = join(WORK, 'invite.csv');
    let text = 'email,first_name,last_name\n';
    for (let i = 1; i <= INVITES; i++)
      text += `new.${seededEmail(i)},${['Jane', 'Wei', 'Aisha', 'Carlos'][i % 4]},${['Doe', 'Chen', 'Okafor', 'García'][i % 4]}\n`;
    writeFileSync(csv, text);
    const env = { ...baseEnv, PORTALCTL_SMTP_URL: `smtp://127.0.0.1:${port}` };
    const portal = ['portals', 'add', 'grants', '--name', 'Grants Portal', '--url', 'https://grants.example.org', '--admin-email', 'a@example.org'];
    const sqDb = join(WORK, 'invite.db');
    const pgUrl = admin.url('invite_work');
    const counted = (db) => async () => {
      const before = await sinkCount();
      const r = await runProcess(['--db', db, 'users', 'invite', '--from-csv', csv, '--yes', '--quiet'], { env, rss: true });
      r.delivered = (await sinkCount()) - before;
      if (r.delivered !== INVITES) problems.push(`bulk invite: the SMTP sink received ${r.delivered} of ${INVITES}`);
      return r;
    };
    const r = await pairs(`bulk invite of ${fmtN(INVITES)} to ${sinkName}`, counted(sqDb), counted(pgUrl), {
      warmup: 0,
      // Three pairs, so the median is one run's and not the mean of two: a 5k invite moves by a fifth from run to run on a shared machine.
      runs: 3,
      prepare: async (which) => {
        if (which === 'sqlite') {
          for (const s of ['', '-wal', '-shm']) rmSync(sqDb + s, { force: true });
          await runProcess(['--db', sqDb, ...portal], { env });
        } else {
          await admin.create('invite_work');
          await runProcess(['--db', pgUrl, ...portal], { env });
        }
      },
    });
    r.rateA = INVITES / (r.medA / 1000);
    r.rateB = INVITES / (r.medB / 1000);
    log(`  ${sinkName}: SQLite ${r.rateA.toFixed(0)} invitations/s, PostgreSQL ${r.rateB.toFixed(0)} invitations/s`);
    sink.kill();
  }

  // ------------------------------------------------------------------ report
  const find = (p) => rows.find((r) => r.name.startsWith(p));
  const lookups = rows.filter((r) => r.name.startsWith('look-up'));
  const prune = find('prune');
  const invites = rows.filter((r) => r.name.startsWith('bulk invite'));
  const listSmall = find(`users list --json (${fmtN(SMALL)})`);
  const listBig = find(`users list --json (${fmtN(USERS)})`);
  const targets = [
    ...lookups.map((l) => [l.name, fmtX(l.ratio), '≤ 1.5× SQLite', l.ratio <= 1.5]),
    ...(prune ? [[prune.name, fmtX(prune.ratio), '≤ 1.5× SQLite', prune.ratio <= 1.5]] : []),
    ...invites.map((invite) => [
      `${invite.name.replace(/^bulk invite/, 'bulk invite on PostgreSQL')}`,
      `${invite.rateB.toFixed(0)}/s (SQLite ${invite.rateA.toFixed(0)}/s)`,
      '≥ 500/s',
      invite.rateB >= 500,
    ]),
    [
      'users list --json on PostgreSQL: peak RSS, 10k → 100k',
      `${fmtMB(listSmall?.rssB)} → ${fmtMB(listBig?.rssB)}`,
      'flat (memory does not grow with the store)',
      listSmall && listBig && Number.isFinite(listBig.rssB) ? listBig.rssB < listSmall.rssB * 1.5 : null,
    ],
    ...(prune
      ? [[`prune on PostgreSQL: peak RSS`, `${fmtMB(prune.rssB)} (SQLite ${fmtMB(prune.rssA)})`, 'like SQLite (the report of removed users)', null]]
      : []),
  ];
  const load = loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
  const doc = `# PostgreSQL beside SQLite

Written by \`node bench/postgres.mjs\` on ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC.
Machine: ${cpus()[0]?.model?.trim()} × ${cpus().length}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}, load average at the end ${load}.
Server: ${cluster ? `a throwaway PostgreSQL ${cluster.version} cluster on 127.0.0.1 (fsync on, synchronous_commit off)` : 'BENCH_PG_URL'}.
Stores: bench/seed.mjs's ${fmtN(USERS)}-user store, copied into PostgreSQL through the store layer.

## Targets

| target | measured | goal | result |
| --- | --- | --- | --- |
${targets.map(([a, b, c, d]) => `| ${a} | ${b} | ${c} | ${d === null ? '—' : d ? 'PASS' : 'MISS'} |`).join('\n')}

## Side by side

Whole processes; median of each side; ratio = median of per-pair PostgreSQL/SQLite ratios.

| workload | SQLite | PostgreSQL | PostgreSQL/SQLite | SQLite peak RSS | PostgreSQL peak RSS | pairs |
| --- | --- | --- | --- | --- | --- | --- |
${rows.map((r) => `| ${r.name} | ${fmtMs(r.medA)} | ${fmtMs(r.medB)} | ${fmtX(r.ratio)} | ${fmtMB(r.rssA)} | ${fmtMB(r.rssB)} | ${r.ratios.length} |`).join('\n')}

${invites.map((invite) => `${invite.name}: SQLite ${invite.rateA.toFixed(0)} invitations/s, PostgreSQL ${invite.rateB.toFixed(0)} invitations/s.`).join('\n')}
${problems.length ? `\nProblems during the run:\n\n${problems.map((p) => `- ${p}`).join('\n')}\n` : ''}`;
  mkdirSync(dirname(OUT), { recursive: true });
  writeFileSync(OUT, doc);
  process.stdout.write(doc);
  log(`\nwrote ${OUT}`);
} finally {
  await cleanup();
}
