#!/usr/bin/env node
// `npm run bench`: portalctl's performance targets, measured as ratios so they
// hold on noisy machines.
//
// Every figure is the wall time of a whole process (child_process.spawn, from
// just before the spawn to the child's 'close', with process.hrtime). Each
// workload runs after a warm-up, several times; the two sides of a ratio run
// as pairs, A then B and B then A alternately, and the ratio reported is the
// median of the per-pair ratios, so drift of a shared machine cancels. Peak
// memory comes from GNU time (`/usr/bin/time -v`), when it is installed
// (`apt-get install -y time`). `hyperfine`, when installed, cross-checks the
// start-up ratios. Stores are seeded by bench/seed.mjs under bench/.stores/.
// The serve section alone (the Step 2 page, the access API, the storm):
// `node bench/serve.mjs [USERS]` after `npm run build`.
//
// Environment:
//   BENCH_QUICK=1       smoke run: 1k and 10k stores only, fewer runs, 2k
//                       invitations; writes bench/.stores/BENCHMARKS.quick.md
//   BENCH_SIZES=1k,100k the store sizes (default 1k,10k,100k,1M); the first
//                       and the last are the look-up pair
//   BENCH_TIMEOUT_S=300 longest a single benchmarked process may run; a run
//                       cut off there counts as a miss
//   BENCH_OUT=FILE      where to write the results (default BENCHMARKS.md)

import { execFileSync, fork, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BENCH_NOW, STORES_DIR, cachedStore, seedStore, seededEmail } from './seed.mjs';
import { serveBench as runServeBench } from './serve.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'bin', 'portalctl');
const NODE = process.execPath;
const QUICK = process.env.BENCH_QUICK === '1';
const parseSize = (t) => {
  const m = /^(\d+)([km]?)$/i.exec(t.trim());
  if (!m) throw new Error(`BENCH_SIZES: not a size: ${t}`);
  return Number(m[1]) * { '': 1, k: 1000, m: 1_000_000 }[m[2].toLowerCase()];
};
const SIZES = process.env.BENCH_SIZES
  ? process.env.BENCH_SIZES.split(',')
      .map(parseSize)
      .sort((a, b) => a - b)
  : QUICK
    ? [1000, 10000]
    : [1000, 10000, 100000, 1000000];
const SMALL = SIZES[0];
const BIG = SIZES[SIZES.length - 1];
/** The start-up target is set on the 100k store. */
const STARTUP_SIZE = SIZES.includes(100000) ? 100000 : BIG;
const TIMEOUT_MS = Number(process.env.BENCH_TIMEOUT_S || 300) * 1000;
/** Peak RSS allowed for the streaming commands, at every size. */
const RSS_LIMIT_KB = 100 * 1024;
const INVITES = QUICK ? 2000 : 10000;
const OUT = resolve(process.env.BENCH_OUT || (QUICK ? join(STORES_DIR, 'BENCHMARKS.quick.md') : join(ROOT, 'BENCHMARKS.md')));
const RUNS = {
  startup: QUICK ? 8 : 20,
  lookup: QUICK ? 6 : 15,
  list: QUICK ? 3 : 5,
  listBig: 3,
  prune: QUICK ? 3 : 5,
  pruneBig: 2,
  invite: QUICK ? 2 : 3,
};
const WORK = join(STORES_DIR, 'work');

const GNU_TIME = '/usr/bin/time';
const hasGnuTime = (() => {
  try {
    execFileSync(GNU_TIME, ['-v', 'true'], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
})();
const hasCommand = (cmd, args) => {
  try {
    return execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' }).trim();
  } catch {
    return null;
  }
};
const sqliteCli = hasCommand('sqlite3', ['--version']);
const hyperfine = hasCommand('hyperfine', ['--version']);

const baseEnv = { ...process.env, PORTALCTL_NOW: BENCH_NOW, NO_COLOR: '1' };
for (const k of ['FORCE_COLOR', 'PORTALCTL_DB', 'PORTALCTL_PORTAL', 'PORTALCTL_SMTP_URL', 'PORTALCTL_SMTP_PASSWORD_FILE', 'PORTALCTL_MAIL_FROM'])
  delete baseEnv[k];

// ------------------------------------------------------------------ helpers

const log = (s = '') => process.stderr.write(`${s}\n`);
const median = (xs) => {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const fmtMs = (ms) =>
  ms === Infinity
    ? `> ${TIMEOUT_MS / 1000} s`
    : !Number.isFinite(ms)
      ? '—'
      : ms >= 10_000
        ? `${(ms / 1000).toFixed(1)} s`
        : ms >= 1000
          ? `${(ms / 1000).toFixed(2)} s`
          : `${ms.toFixed(ms < 10 ? 1 : 0)} ms`;
const fmtX = (x) => (Number.isFinite(x) ? `${x.toFixed(2)}×` : '—');
const fmtMB = (kb) => (Number.isFinite(kb) ? `${(kb / 1024).toFixed(0)} MiB` : '—');
const fmtN = (n) => (n >= 1_000_000 && n % 1_000_000 === 0 ? `${n / 1_000_000}M` : n >= 1000 && n % 1000 === 0 ? `${n / 1000}k` : String(n));

/**
 * Runs one process and times it. With rss, it runs under GNU time -v and the
 * peak RSS (kB) is read from its report. stdout is drained and counted.
 */
function runProcess(cmd, args, { env = baseEnv, rss = false, timeoutMs = TIMEOUT_MS } = {}) {
  const wrapped = rss && hasGnuTime;
  const file = wrapped ? GNU_TIME : cmd;
  const argv = wrapped ? ['-v', cmd, ...args] : args;
  return new Promise((resolvePromise) => {
    const t0 = process.hrtime.bigint();
    // Its own process group, so that a run cut off at the timeout is ended whole.
    const child = spawn(file, argv, { env, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let outBytes = 0;
    let out = '';
    let err = '';
    let timedOut = false;
    child.stdout.on('data', (c) => {
      outBytes += c.length;
      if (out.length < 1 << 20) out += c.toString('utf8');
    });
    child.stderr.on('data', (c) => {
      err = (err + c.toString('utf8')).slice(-16384);
    });
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }, timeoutMs);
    child.on('error', (e) => {
      err += String(e);
    });
    child.on('close', (code, signal) => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      clearTimeout(timer);
      let rssKb = NaN;
      let exit = code;
      if (wrapped) {
        const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(err);
        if (m) rssKb = Number(m[1]);
        const st = /Exit status: (\d+)/.exec(err);
        if (st) exit = Number(st[1]);
        err = err.replace(/\n?\s*Command being timed:[\s\S]*$/, '');
      }
      resolvePromise({ ms: timedOut ? Infinity : ms, code: exit, signal, outBytes, out, err, rssKb, timedOut });
    });
  });
}

function describeFailure(label, r) {
  if (r.timedOut) return `${label}: cut off after ${TIMEOUT_MS / 1000} s`;
  return `${label}: exit ${r.code}${r.signal ? ` (${r.signal})` : ''}: ${r.err.trim().split('\n').slice(-3).join(' | ')}`;
}

/**
 * A side-by-side comparison. a and b are { label, run: () => Promise<result>,
 * check?: (result) => string|undefined }. Warm-up pairs first, then `runs`
 * pairs in alternating order. Stops early (keeping what it has) when a run
 * fails, is cut off, or the workload's time budget is spent.
 */
/**
 * Writes the dirty pages of earlier workloads to disk before a new one starts: after the 1M-user runs
 * the kernel was still writing back gigabytes during the next figures, and only the side that writes
 * to disk itself (portalctl's store, not the bare loop) waited for it.
 */
function settleDisk() {
  try {
    execFileSync('sync', [], { stdio: 'ignore' });
  } catch {
    // No sync command: the figures only get noisier.
  }
}

async function pairs(name, a, b, { warmup = 1, runs = 5, budgetMs = 120_000 } = {}) {
  const res = { name, a: a.label, b: b.label, aMs: [], bMs: [], ratios: [], aRss: [], bRss: [], errors: [], cut: false };
  settleDisk();
  const one = async (side) => {
    const r = await side.run();
    const problem = r.code !== 0 || r.timedOut ? describeFailure(side.label, r) : side.check?.(r);
    return { r, problem };
  };
  log(`• ${name}`);
  for (let i = 0; i < warmup; i++) {
    for (const side of [a, b]) {
      const { problem } = await one(side);
      if (problem) {
        res.errors.push(`warm-up ${problem}`);
        log(`  ! warm-up ${problem}`);
      }
    }
  }
  const started = Date.now();
  for (let i = 0; i < runs; i++) {
    const order = i % 2 === 0 ? [a, b] : [b, a];
    const got = new Map();
    for (const side of order) got.set(side, await one(side));
    const ra = got.get(a);
    const rb = got.get(b);
    res.aMs.push(ra.r.ms);
    res.bMs.push(rb.r.ms);
    res.aRss.push(ra.r.rssKb);
    res.bRss.push(rb.r.rssKb);
    res.ratios.push(rb.r.ms / ra.r.ms);
    for (const { problem } of [ra, rb]) if (problem) res.errors.push(problem);
    if (ra.problem || rb.problem) {
      log(`  ! ${[ra.problem, rb.problem].filter(Boolean).join('; ')}`);
      res.cut = true;
      break;
    }
    const spent = Date.now() - started;
    if (i + 1 < runs && (spent / (i + 1)) * (i + 2) > budgetMs) {
      res.cut = true;
      log(`  (time budget spent after ${i + 1} pair${i ? 's' : ''})`);
      break;
    }
  }
  res.medA = median(res.aMs);
  res.medB = median(res.bMs);
  res.ratio = res.ratios.some((x) => !Number.isFinite(x)) && res.ratios.length < 2 ? NaN : median(res.ratios);
  res.rssA = Math.max(...res.aRss.filter(Number.isFinite), -Infinity);
  res.rssB = Math.max(...res.bRss.filter(Number.isFinite), -Infinity);
  if (!Number.isFinite(res.rssA)) res.rssA = NaN;
  if (!Number.isFinite(res.rssB)) res.rssB = NaN;
  log(`  ${a.label}: ${fmtMs(res.medA)}   ${b.label}: ${fmtMs(res.medB)}   ratio ${fmtX(res.ratio)}  (${res.ratios.length} pairs)`);
  return res;
}

const portalctl =
  (db, args, opts = {}) =>
  () =>
    runProcess(NODE, [CLI, '--db', db, ...args], opts);

function freshCopy(src, name) {
  mkdirSync(WORK, { recursive: true });
  const dst = join(WORK, name);
  for (const s of ['', '-wal', '-shm']) rmSync(dst + s, { force: true });
  copyFileSync(src, dst);
  return dst;
}

// ------------------------------------------------------------------ targets

const targets = [];
function target(name, value, goal, pass, note = '') {
  // A quick run measures smaller stores and fewer invitations than the targets are set
  // for: it shows the figures but judges only the size-independent --version target.
  if (QUICK && !name.includes('--version')) {
    targets.push({ name, value, goal, pass: null, note: ['quick run: the target is for the full run', note].filter(Boolean).join('; ') });
    return;
  }
  targets.push({ name, value, goal, pass, note });
}

// ------------------------------------------------------------------ main

const startedAt = new Date();
const load0 = loadavg();
log(`portalctl benchmarks${QUICK ? ' (BENCH_QUICK: fewer runs)' : ''}: stores of ${SIZES.map(fmtN).join(', ')} users`);
log(
  `peak memory: ${hasGnuTime ? 'GNU time -v' : 'unavailable (apt-get install -y time)'}; sqlite3: ${sqliteCli ? sqliteCli.split(' ')[0] : 'not installed (apt-get install -y sqlite3)'}; hyperfine: ${hyperfine ?? 'not installed'}`,
);
if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) {
  log('dist/ is missing: run `npm run build` first (npm run bench does).');
  process.exit(2);
}
rmSync(WORK, { recursive: true, force: true });

const stores = {};
/** How long each store took to seed (when it was built: the figure is kept with the cached store). */
const seedTimes = {};
for (const n of SIZES) {
  stores[n] = await cachedStore(n, { log: (s) => log(`  ${s}`) });
  seedTimes[n] = stores[n].seededMs ?? NaN;
}
const emptyStore = await seedStore({ path: join(STORES_DIR, 'portal-only.db'), users: 0, tokens: 0 });

const meta = {
  cpu: (cpus()[0]?.model ?? 'unknown').trim(),
  cores: cpus().length,
  memGiB: (totalmem() / 2 ** 30).toFixed(1),
  node: process.version,
  kernel: release(),
  sqliteLib: (() => {
    try {
      const out = execFileSync(NODE, ['-e', "const D=require('better-sqlite3');console.log(new D(':memory:').prepare('select sqlite_version() v').get().v)"], {
        cwd: ROOT,
        encoding: 'utf8',
      });
      return out.trim();
    } catch {
      return 'unknown';
    }
  })(),
  sqliteCli: sqliteCli ? sqliteCli.split(' ')[0] : 'not installed',
  hyperfine: hyperfine ?? 'not installed',
  gnuTime: hasGnuTime,
  commit: hasCommand('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD']) ?? 'unknown',
  dirty: Boolean(hasCommand('git', ['-C', ROOT, 'status', '--porcelain', '--untracked-files=no'])),
};

// ---------------------------------------------------------------- start-up

const nodeBare = { label: 'node -e 0', run: () => runProcess(NODE, ['-e', '0']) };
const big = stores[BIG];
const small = stores[SMALL];
const startupStore = stores[STARTUP_SIZE];
const startupVersion = await pairs(
  'start-up: portalctl --version vs node -e 0',
  nodeBare,
  { label: 'portalctl --version', run: () => runProcess(NODE, [CLI, '--version']), check: (r) => (r.out.trim() ? undefined : 'no version printed') },
  { warmup: 3, runs: RUNS.startup, budgetMs: 60_000 },
);
const startupWhoami = await pairs(
  `start-up: whoami-login EMAIL on ${fmtN(STARTUP_SIZE)} vs node -e 0`,
  nodeBare,
  {
    label: `whoami-login (${fmtN(STARTUP_SIZE)})`,
    run: portalctl(startupStore.path, ['users', 'whoami-login', startupStore.lookupEmail]),
    check: (r) => (r.out.includes(String(startupStore.lookupId)) ? undefined : 'user not in output'),
  },
  { warmup: 3, runs: RUNS.startup, budgetMs: 60_000 },
);
// Not a target: what the SQLite driver alone costs (load it, open the store, one indexed SELECT),
// so that the whoami-login ratio can be read against the floor any SQLite-backed answer has.
const startupDriver = await pairs(
  `start-up: the SQLite driver alone on ${fmtN(STARTUP_SIZE)} vs node -e 0`,
  nodeBare,
  {
    label: 'better-sqlite3: open + one SELECT',
    run: () => runProcess(NODE, [join(ROOT, 'bench', 'driver-floor.mjs'), startupStore.path, startupStore.lookupEmail.toLowerCase()]),
    check: (r) => (r.out.includes(String(startupStore.lookupId)) ? undefined : 'user not in output'),
  },
  { warmup: 3, runs: RUNS.startup, budgetMs: 60_000 },
);
target('start-up: `--version` / `node -e 0`', fmtX(startupVersion.ratio), '≤ 1.15×', startupVersion.ratio <= 1.15);
target(`start-up: \`users whoami-login EMAIL\` (${fmtN(STARTUP_SIZE)}) / \`node -e 0\``, fmtX(startupWhoami.ratio), '≤ 1.5×', startupWhoami.ratio <= 1.5);

let hyperfineCheck = null;
if (hyperfine) {
  const json = join(WORK, 'hyperfine.json');
  mkdirSync(WORK, { recursive: true });
  try {
    execFileSync(
      'hyperfine',
      [
        '-N',
        '--warmup',
        '3',
        '--runs',
        String(RUNS.startup),
        '--export-json',
        json,
        'node -e 0',
        `node ${CLI} --version`,
        `node ${CLI} --db ${startupStore.path} users whoami-login ${startupStore.lookupEmail}`,
      ],
      { cwd: ROOT, env: baseEnv, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    const r = JSON.parse(readFileSync(json, 'utf8')).results.map((x) => x.median * 1000);
    hyperfineCheck = { bare: r[0], version: r[1], whoami: r[2] };
    log(`  hyperfine medians: node -e 0 ${fmtMs(r[0])}, --version ${fmtMs(r[1])} (${fmtX(r[1] / r[0])}), whoami-login ${fmtMs(r[2])} (${fmtX(r[2] / r[0])})`);
  } catch (e) {
    log(`  hyperfine cross-check failed: ${e.message.split('\n')[0]}`);
  }
}

// ---------------------------------------------------------------- look-ups

const lookups = [];
for (const [label, args] of [
  ['users whoami-login EMAIL', (s) => ['users', 'whoami-login', s.lookupEmail]],
  ['users show EMAIL', (s) => ['users', 'show', s.lookupEmail]],
  [
    'users access-check --service ims --account A --email EMAIL',
    (s) => ['users', 'access-check', '--service', 'ims', '--account', 'nobody-here', '--email', s.lookupEmail],
  ],
]) {
  const check = (s) => (r) => (r.out.includes(s.lookupEmail.toLowerCase()) ? undefined : 'user not in output');
  lookups.push(
    await pairs(
      `look-up: ${label}, ${fmtN(BIG)} vs ${fmtN(SMALL)} users`,
      { label: fmtN(SMALL), run: portalctl(small.path, args(small)), check: check(small) },
      { label: fmtN(BIG), run: portalctl(big.path, args(big)), check: check(big) },
      { warmup: 3, runs: RUNS.lookup, budgetMs: 60_000 },
    ),
  );
}
{
  // `link` changes the store: each run redeems a fresh known token (a pending
  // user, so the full "linked" path runs), on working copies of the stores.
  const linkSide = (s) => {
    const db = freshCopy(s.path, `link-${s.users}.db`);
    let next = 0;
    return {
      label: fmtN(s.users),
      run: () => {
        const k = next++;
        const t = s.tokens[k % s.tokens.length];
        return runProcess(NODE, [
          CLI,
          '--db',
          db,
          'link',
          `https://grants.example.org/register/link?token=${t.token}`,
          '--service',
          'ims',
          '--account',
          `bench-${s.users}-${k}`,
        ]);
      },
      check: (r) => (r.out.includes('linked') ? undefined : 'no linked user in output'),
    };
  };
  lookups.push(
    await pairs(`look-up: link TOKEN, ${fmtN(BIG)} vs ${fmtN(SMALL)} users`, linkSide(small), linkSide(big), {
      warmup: 3,
      runs: Math.min(RUNS.lookup, small.tokens.length - 3),
      budgetMs: 60_000,
    }),
  );
}
lookups[0].cmd = 'users whoami-login';
lookups[1].cmd = 'users show';
lookups[2].cmd = 'users access-check';
lookups[3].cmd = 'link';
for (const l of lookups) target(`look-up: \`${l.cmd}\` ${fmtN(BIG)} / ${fmtN(SMALL)} users`, fmtX(l.ratio), '≤ 1.1×', l.ratio <= 1.1);

// ---------------------------------------------------------------- users list

const LIST_SQL = `SELECT u.*, p.slug AS portal, r.expires_at AS reg_expires_at
  FROM users u JOIN portals p ON p.id = u.portal_id
  LEFT JOIN registrations r ON r.user_id = u.id AND r.state = 'active'
  ORDER BY u.id`;
const list = [];
for (const n of SIZES) {
  const s = stores[n];
  if (!sqliteCli) break;
  // Correctness once, untimed: both return every user.
  const ours = await runProcess(NODE, [CLI, '--db', s.path, 'users', 'list', '--json'], { timeoutMs: TIMEOUT_MS });
  const theirs = await runProcess('sqlite3', ['-json', s.path, LIST_SQL]);
  const count = (txt, key) => {
    try {
      const doc = JSON.parse(txt);
      return (key ? doc[key] : doc).length;
    } catch {
      return -1;
    }
  };
  const okOurs = ours.outBytes <= 1 << 20 ? count(ours.out, 'users') === n : ours.code === 0;
  const okTheirs = theirs.outBytes <= 1 << 20 ? count(theirs.out) === n : theirs.code === 0;
  if (!okOurs || !okTheirs) log(`  ! users list check at ${n}: portalctl ${okOurs ? 'ok' : 'WRONG'}, sqlite3 ${okTheirs ? 'ok' : 'WRONG'}`);
  const r = await pairs(
    `users list --json, ${fmtN(n)} users vs sqlite3 -json`,
    {
      label: 'sqlite3 -json',
      run: () => runProcess('sqlite3', ['-json', s.path, LIST_SQL], { rss: true }),
      check: (x) => (x.outBytes > 0 ? undefined : 'no output'),
    },
    { label: 'portalctl', run: portalctl(s.path, ['users', 'list', '--json'], { rss: true }), check: (x) => (x.outBytes > 0 ? undefined : 'no output') },
    { warmup: n >= 1_000_000 ? 0 : 1, runs: n >= 1_000_000 ? RUNS.listBig : RUNS.list, budgetMs: 150_000 },
  );
  r.size = n;
  r.outBytes = ours.outBytes;
  list.push(r);
}

// ---------------------------------------------------------------- prune

const PRUNABLE = `u.login_service IS NULL AND u.removal_due_at <= '${BENCH_NOW}'
  AND NOT EXISTS (SELECT 1 FROM registrations a WHERE a.user_id = u.id AND a.state = 'active' AND a.expires_at > '${BENCH_NOW}')`;
// The hand-written equivalent of `portalctl prune --yes`: the same audit rows
// (same JSON fields), the same `removed` events and the same deletes (the schema's ON DELETE CASCADE
// removes registrations, tokens, queued mail and link attempts), in one
// transaction, with portalctl's connection settings.
const PRUNE_SQL = `PRAGMA foreign_keys = ON;
PRAGMA synchronous = NORMAL;
BEGIN IMMEDIATE;
INSERT INTO audit (at, actor, action, portal, user_id, user_email, before, after)
SELECT '${BENCH_NOW}', 'bench', 'prune', p.slug, u.id, u.email,
  json_object('email', u.email, 'firstName', u.first_name, 'lastName', u.last_name,
              'loginService', NULL, 'username', NULL, 'removalDueAt', u.removal_due_at, 'createdAt', u.created_at),
  NULL
FROM users u JOIN portals p ON p.id = u.portal_id
WHERE ${PRUNABLE}
ORDER BY u.id;
INSERT INTO events (at, type, portal, user_id, email, data)
SELECT '${BENCH_NOW}', 'removed', p.slug, u.id, u.email, json_object('reason', 'prune', 'wasLinked', json('false'))
FROM users u JOIN portals p ON p.id = u.portal_id
WHERE ${PRUNABLE}
ORDER BY u.id;
DELETE FROM users AS u WHERE ${PRUNABLE};
COMMIT;
`;
const prune = [];
if (sqliteCli) {
  mkdirSync(WORK, { recursive: true });
  const script = join(WORK, 'prune.sql');
  writeFileSync(script, PRUNE_SQL);
  for (const n of SIZES) {
    const s = stores[n];
    const afterCheck = (db) => () => {
      const left = Number(
        execFileSync('sqlite3', [db, `SELECT (SELECT count(*) FROM users) || ' ' || (SELECT count(*) FROM audit WHERE action = 'prune')`], { encoding: 'utf8' })
          .trim()
          .split(' ')[0],
      );
      return left === n - s.removable ? undefined : `expected ${n - s.removable} users left, found ${left}`;
    };
    const side = (label, name, cmd) => {
      let db;
      const wrapped = {
        label,
        run: async () => {
          db = freshCopy(s.path, name); // untimed
          return cmd(db);
        },
        check: (r) => afterCheck(db)(r),
      };
      return wrapped;
    };
    const r = await pairs(
      `prune ${fmtN(s.removable)} of ${fmtN(n)} users vs sqlite3 script`,
      side('sqlite3 script', `prune-sql-${n}.db`, (db) => runProcess('sqlite3', [db, `.read ${script}`], { rss: true })),
      side('portalctl', `prune-${n}.db`, (db) => runProcess(NODE, [CLI, '--db', db, 'prune', '--yes', '--quiet'], { rss: true })),
      { warmup: n === SMALL ? 1 : 0, runs: n >= 100000 ? RUNS.pruneBig : RUNS.prune, budgetMs: 240_000 },
    );
    r.size = n;
    r.removed = s.removable;
    prune.push(r);
    for (const f of ['', '-wal', '-shm']) {
      rmSync(join(WORK, `prune-sql-${n}.db${f}`), { force: true });
      rmSync(join(WORK, `prune-${n}.db${f}`), { force: true });
    }
    if (r.cut && r.errors.some((e) => e.includes('cut off'))) {
      log('  (a prune was cut off: skipping larger stores)');
      break;
    }
  }
}

const lastOf = (arr) => arr.find((x) => x.size === BIG);
const listBig = lastOf(list);
const pruneBig = lastOf(prune);
target(
  `\`users list --json\` ${fmtN(BIG)} / \`sqlite3 -json\``,
  listBig ? fmtX(listBig.ratio) : '—',
  '≤ 2×',
  listBig ? listBig.ratio <= 2 : null,
  sqliteCli ? '' : 'sqlite3 not installed',
);
target(
  `\`prune\` ${pruneBig ? fmtN(pruneBig.removed) : ''} of ${fmtN(BIG)} / sqlite3 script`,
  pruneBig ? fmtX(pruneBig.ratio) : '—',
  '≤ 1.5×',
  pruneBig && Number.isFinite(pruneBig.ratio) ? pruneBig.ratio <= 1.5 : prune.length ? false : null,
  pruneBig
    ? pruneBig.cut && pruneBig.errors.length
      ? pruneBig.errors[0]
      : ''
    : prune.length
      ? 'not measured: a smaller prune was cut off'
      : 'sqlite3 not installed',
);

// ---------------------------------------------------------------- memory

// Peak RSS of the commands whose output grows with the store, one run each on
// every size (on a fresh copy when the command changes the store): the report
// must be streamed, so the peak must not grow with the work.
const memory = [];
for (const n of SIZES) {
  const s = stores[n];
  const row = { size: n };
  const one = async (key, args, copy) => {
    const db = copy ? freshCopy(s.path, `mem-${n}.db`) : s.path;
    const r = await runProcess(NODE, [CLI, '--db', db, ...args], { rss: true });
    row[key] = r;
    if (r.code !== 0 || r.timedOut) row.problem = describeFailure(`${args.join(' ')} (${fmtN(n)})`, r);
    if (copy) for (const f of ['', '-wal', '-shm']) rmSync(db + f, { force: true });
  };
  log(`• peak memory, ${fmtN(n)} users`);
  await one('listJson', ['users', 'list', '--json'], false);
  await one('listCsv', ['users', 'list', '--csv'], false);
  await one('events', ['events', '--json'], false);
  await one('remove', ['users', 'remove', '--status', 'unlinked', '--yes', '--quiet'], true);
  row.prune = prune.find((p) => p.size === n);
  log(
    `  list --json ${fmtMB(row.listJson.rssKb)}, list --csv ${fmtMB(row.listCsv.rssKb)}, events --json ${fmtMB(row.events.rssKb)}, users remove ${fmtMB(row.remove.rssKb)} (${fmtMs(row.remove.ms)}), prune ${fmtMB(row.prune?.rssB)}`,
  );
  if (row.problem) log(`  ! ${row.problem}`);
  memory.push(row);
}
const memoryWorkloads = [
  ['`users list --json`', (r) => r.listJson.rssKb],
  ['`users list --csv`', (r) => r.listCsv.rssKb],
  ['`events --json`', (r) => r.events.rssKb],
  ['`users remove --status unlinked`', (r) => r.remove.rssKb],
  ['`prune`', (r) => r.prune?.rssB ?? NaN],
];
for (const [label, pick] of memoryWorkloads) {
  const peaks = memory.map(pick);
  const known = peaks.filter(Number.isFinite);
  target(
    `${label}: peak RSS, ${SIZES.map(fmtN).join(' / ')}`,
    peaks.map(fmtMB).join(' / '),
    '< 100 MiB at every size',
    known.length === 0 ? null : known.length === peaks.length && Math.max(...known) < RSS_LIMIT_KB,
    hasGnuTime ? '' : 'GNU time not installed',
  );
}

// ---------------------------------------------------------------- invite

/** The connections portalctl opens by default (?connections=N of PORTALCTL_SMTP_URL); the baseline gets as many. */
const CONNECTIONS = 5;
const SINKS = [
  { file: 'smtp-pipelining-sink.mjs', label: 'a pipelining sink that answers 250 to everything' },
  { file: 'smtp-sink.mjs', label: 'smtp-server' },
];
const invites = [];
async function inviteAgainst(sinkInfo) {
  let invite;
  const sink = fork(join(ROOT, 'bench', sinkInfo.file), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port = await new Promise((res, rej) => {
    sink.once('message', (m) => (m?.type === 'ready' ? res(m.port) : rej(new Error('smtp sink did not start'))));
    sink.once('exit', () => rej(new Error('smtp sink exited')));
  });
  let reqId = 0;
  const sinkCount = () =>
    new Promise((res) => {
      const id = ++reqId;
      const onMsg = (m) => {
        if (m?.type === 'count' && m.id === id) {
          sink.off('message', onMsg);
          res(m.received);
        }
      };
      sink.on('message', onMsg);
      sink.send({ type: 'count', id });
    });
  const csvFor = (count) => {
    const file = join(WORK, `invite-${count}.csv`);
    if (existsSync(file)) return file;
    let text = 'email,first_name,last_name\n';
    for (let i = 1; i <= count; i++) {
      const e = seededEmail(i);
      text += `new.${e},${['Jane', 'Wei', 'Aisha', 'Carlos'][i % 4]},${['Doe', 'Chen', 'Okafor', 'García'][i % 4]}\n`;
    }
    mkdirSync(WORK, { recursive: true });
    writeFileSync(file, text);
    return file;
  };
  const smtpEnv = { ...baseEnv, PORTALCTL_SMTP_URL: `smtp://127.0.0.1:${port}` };
  const inviteSides = (count) => {
    const csv = csvFor(count);
    const counted = (fn) => {
      let before = 0;
      return {
        run: async () => {
          before = await sinkCount();
          return fn();
        },
        check: async () => undefined,
        after: async () => (await sinkCount()) - before,
      };
    };
    const ours = counted(() => {
      const db = freshCopy(emptyStore.path, 'invite.db');
      return runProcess(NODE, [CLI, '--db', db, 'users', 'invite', '--from-csv', csv, '--yes'], {
        env: smtpEnv,
        rss: true,
        timeoutMs: Math.max(TIMEOUT_MS, 180_000),
      });
    });
    const base = counted(() =>
      runProcess(NODE, [join(ROOT, 'bench', 'nodemailer-baseline.mjs'), String(port), csv, String(CONNECTIONS)], {
        env: smtpEnv,
        rss: true,
        timeoutMs: Math.max(TIMEOUT_MS, 180_000),
      }),
    );
    // The sink's count is read after each run: every message must have arrived.
    const wrap = (label, side) => ({
      label,
      run: async () => {
        const r = await side.run();
        r.delivered = await side.after();
        return r;
      },
      check: (r) => (r.delivered === count ? undefined : `${label}: the SMTP server received ${r.delivered} of ${count} messages`),
    });
    return [wrap('nodemailer pooled loop', base), wrap('portalctl users invite --from-csv', ours)];
  };
  try {
    const [wa, wb] = inviteSides(Math.min(1000, INVITES));
    log(`• invite warm-up (${Math.min(1000, INVITES)} invitations each)`);
    for (const side of [wa, wb]) {
      const r = await side.run();
      const problem = r.code !== 0 ? describeFailure(side.label, r) : side.check(r);
      if (problem) log(`  ! warm-up ${problem}`);
    }
    const [a, b] = inviteSides(INVITES);
    invite = await pairs(`bulk invite of ${fmtN(INVITES)} to ${sinkInfo.label}, vs a bare nodemailer pooled loop (${CONNECTIONS} connections)`, a, b, {
      warmup: 0,
      runs: RUNS.invite,
      budgetMs: 240_000,
    });
    invite.count = INVITES;
    invite.rate = INVITES / (invite.medB / 1000);
    invite.baseRate = INVITES / (invite.medA / 1000);
    invite.sink = sinkInfo.label;
  } finally {
    sink.send({ type: 'stop' });
    sink.disconnect();
  }
  target(
    `bulk invite of ${fmtN(INVITES)} / bare nodemailer pooled loop, ${sinkInfo.label}`,
    invite ? `${fmtX(invite.ratio)} (${invite.rate.toFixed(0)}/s vs ${invite.baseRate.toFixed(0)}/s)` : '—',
    '≤ 1.2×',
    invite ? invite.ratio <= 1.2 : null,
  );
  return invite;
}
for (const sinkInfo of SINKS) {
  const r = await inviteAgainst(sinkInfo);
  if (r) invites.push(r);
}

// ---------------------------------------------------------------- serve

// bench/serve.mjs: the Step 2 page and the access API under load, and a link-scanner storm.
const SERVE_SECONDS = QUICK ? 3 : 8;
let serveBench;
try {
  settleDisk();
  serveBench = await runServeBench({ store: startupStore, work: WORK, seconds: SERVE_SECONDS, node: NODE, env: baseEnv, log });
} catch (err) {
  log(`  ! serve benchmark: ${err.message}`);
}
{
  const sb = serveBench;
  for (const [key, bareKey, label] of [
    ['link', 'bareLink', '`GET /register/link?token=…`'],
    ['access', 'bareAccess', '`GET /api/v1/access`'],
  ]) {
    const r = sb?.[key];
    const bare = sb?.[bareKey];
    target(
      `serve: ${label} throughput / bare fastify route, same requests (32 connections)`,
      r ? `${fmtX(r.rps / bare.rps)} (${r.rps.toFixed(0)} vs ${bare.rps.toFixed(0)} req/s)` : '—',
      '≥ 0.5×',
      r ? r.rps / bare.rps >= 0.5 && r.non2xx === 0 : null,
      r && r.non2xx ? `${r.non2xx} answers were not 2xx` : '',
    );
    target(`serve: ${label} p99 latency`, r ? `${r.p99} ms` : '—', '≤ 25 ms', r ? r.p99 <= 25 : null);
  }
  target(
    'serve: access API p99 during a link-scanner storm (1,000 GETs of one link in 1 s) / alone',
    sb ? `${sb.duringStorm.p99} ms / ${sb.alone.p99} ms; ${sb.views} views recorded` : '—',
    'p99 ≤ 25 ms during the storm',
    sb ? sb.duringStorm.p99 <= 25 : null,
    sb
      ? `storm answers: ${Object.entries(sb.storm.statuses)
          .map(([k, v]) => `${v}× ${k}`)
          .join(', ')}`
      : '',
  );
}

// ---------------------------------------------------------------- report

const finishedAt = new Date();
const load1 = loadavg();
const mark = (p) => (p === true ? 'PASS' : p === false ? 'MISS' : 'n/a');
const tableText = (rows) => {
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => String(c).padEnd(w[i]))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
};
const md = (rows) =>
  [`| ${rows[0].join(' | ')} |`, `|${rows[0].map(() => ' --- ').join('|')}|`, ...rows.slice(1).map((r) => `| ${r.join(' | ')} |`)].join('\n');

const targetRows = [['target', 'measured', 'goal', 'result', 'note'], ...targets.map((t) => [t.name, t.value, t.goal, mark(t.pass), t.note || ''])];
const pairRows = [
  ['workload', 'A', 'B', 'median A', 'median B', 'B/A (median of pairs)', 'pairs'],
  ...[startupVersion, startupWhoami, startupDriver, ...lookups, ...invites].map((r) => [
    r.name,
    r.a,
    r.b,
    fmtMs(r.medA),
    fmtMs(r.medB),
    fmtX(r.ratio),
    String(r.ratios.length),
  ]),
];
const listRows = [
  ['users', 'output', 'sqlite3 -json', 'portalctl', 'ratio', 'portalctl per 1k rows', 'portalctl peak RSS', 'sqlite3 peak RSS', 'pairs'],
  ...list.map((r) => [
    fmtN(r.size),
    `${(r.outBytes / 2 ** 20).toFixed(1)} MiB`,
    fmtMs(r.medA),
    fmtMs(r.medB),
    fmtX(r.ratio),
    fmtMs(r.medB / (r.size / 1000)),
    fmtMB(r.rssB),
    fmtMB(r.rssA),
    String(r.ratios.length),
  ]),
];
const pruneRows = [
  ['users', 'removed', 'sqlite3 script', 'portalctl', 'ratio', 'portalctl per 1k removed', 'portalctl peak RSS', 'pairs'],
  ...prune.map((r) => [
    fmtN(r.size),
    fmtN(r.removed),
    fmtMs(r.medA),
    fmtMs(r.medB),
    fmtX(r.ratio),
    fmtMs(r.medB / (r.removed / 1000)),
    fmtMB(r.rssB),
    `${r.ratios.length}${r.cut ? ' (cut short)' : ''}`,
  ]),
];
const memoryRows = [
  ['users', 'users list --json', 'users list --csv', 'events --json', 'users remove --status unlinked', 'removed in', 'prune'],
  ...memory.map((r) => [
    fmtN(r.size),
    fmtMB(r.listJson.rssKb),
    fmtMB(r.listCsv.rssKb),
    fmtMB(r.events.rssKb),
    fmtMB(r.remove.rssKb),
    fmtMs(r.remove.ms),
    fmtMB(r.prune?.rssB ?? NaN),
  ]),
];
const errors = [startupVersion, startupWhoami, startupDriver, ...lookups, ...list, ...prune, ...invites].flatMap((r) => r.errors.map((e) => `${r.name}: ${e}`));

log('');
log(tableText(pairRows));
log('');
if (list.length) log(`users list --json\n${tableText(listRows)}\n`);
if (prune.length) log(`prune --yes --quiet\n${tableText(pruneRows)}\n`);
for (const invite of invites)
  log(
    `bulk invite (${invite.sink}): portalctl ${invite.rate.toFixed(0)} invitations/s, bare nodemailer ${invite.baseRate.toFixed(0)} messages/s; peak RSS ${fmtMB(invite.rssB)} vs ${fmtMB(invite.rssA)}\n`,
  );
if (memory.length) log(`peak RSS\n${tableText(memoryRows)}\n`);
log(tableText(targetRows));
if (errors.length) log(`\nproblems:\n  ${errors.join('\n  ')}`);

// The notes section of an existing BENCHMARKS.md (between the markers) is kept.
const NOTES_START = '<!-- notes: kept by bench/run.mjs -->';
const NOTES_END = '<!-- /notes -->';
let notes = `${NOTES_START}\n${NOTES_END}`;
if (existsSync(OUT)) {
  const old = readFileSync(OUT, 'utf8');
  const i = old.indexOf(NOTES_START);
  const j = old.indexOf(NOTES_END);
  if (i >= 0 && j > i) notes = old.slice(i, j + NOTES_END.length);
}

const doc = `# Benchmarks

Written by \`npm run bench\` (bench/run.mjs)${QUICK ? ' in BENCH_QUICK mode' : ''} on ${finishedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC, in ${((finishedAt - startedAt) / 60000).toFixed(1)} minutes.
Re-run it to refresh the figures; the notes section below is kept.

## Machine

| | |
| --- | --- |
| CPU | ${meta.cpu} |
| cores | ${meta.cores} |
| memory | ${meta.memGiB} GiB |
| kernel | Linux ${meta.kernel} |
| Node | ${meta.node} |
| SQLite (better-sqlite3, used by portalctl) | ${meta.sqliteLib} |
| SQLite (\`sqlite3\` command, the baselines) | ${meta.sqliteCli} |
| hyperfine | ${meta.hyperfine} |
| peak memory | ${meta.gnuTime ? 'GNU time -v (maximum resident set size)' : 'unavailable (install GNU time: apt-get install -y time)'} |
| load average at start / end | ${load0.map((x) => x.toFixed(2)).join(' ')} / ${load1.map((x) => x.toFixed(2)).join(' ')} |
| tree | ${meta.commit}${meta.dirty ? ' with uncommitted changes' : ''} |

## Targets

${md(targetRows)}

## Side by side

Whole processes, wall time from spawn to exit. Each row: warm-up, then pairs run
A-then-B and B-then-A alternately; "B/A" is the median of the per-pair ratios.

${md(pairRows)}
${
  hyperfineCheck
    ? `\nCross-check with hyperfine (\`-N\`, medians): \`node -e 0\` ${fmtMs(hyperfineCheck.bare)}, \`portalctl --version\` ${fmtMs(hyperfineCheck.version)} (${fmtX(hyperfineCheck.version / hyperfineCheck.bare)}), \`whoami-login\` on ${fmtN(STARTUP_SIZE)} ${fmtMs(hyperfineCheck.whoami)} (${fmtX(hyperfineCheck.whoami / hyperfineCheck.bare)}).\n`
    : ''
}${invites
  .map(
    (invite) =>
      `\nBulk invite to ${invite.sink}: portalctl ${invite.rate.toFixed(0)} invitations/s (median ${fmtMs(invite.medB)} for ${fmtN(INVITES)}), the bare nodemailer pooled loop ${invite.baseRate.toFixed(0)} messages/s; peak RSS ${fmtMB(invite.rssB)} and ${fmtMB(invite.rssA)}.\n`,
  )
  .join('')}
## users list --json, by store size

Baseline: \`sqlite3 -json STORE "${LIST_SQL.replace(/\s+/g, ' ')}"\` — the same rows and columns, through a pipe.

${list.length ? md(listRows) : '_not measured (sqlite3 not installed)_'}

## prune, by store size

\`portalctl prune --yes --quiet\` on a fresh copy of the store for each run (copy not timed),
against a hand-written SQL script run by the \`sqlite3\` command on its own copy: the same audit
rows (same JSON fields), the same \`removed\` events and the same \`DELETE\`, cascading through the schema's foreign keys,
in one transaction with portalctl's connection settings (\`foreign_keys = ON\`, \`synchronous = NORMAL\`).
Single runs are cut off after ${TIMEOUT_MS / 1000} s (BENCH_TIMEOUT_S).

${prune.length ? md(pruneRows) : '_not measured (sqlite3 not installed)_'}

## The Step 2 page under load

${
  serveBench
    ? `autocannon, 32 connections, ${SERVE_SECONDS} s a run, two runs each in turn (medians), \`portalctl serve\` on a copy of the ${fmtN(serveBench.size)} store.
The link page is loaded through a trusted proxy (loopback) with a new X-Forwarded-For per request, so the
per-address limit (60 a minute) does not answer for it: every request renders the page and records a view.
The bare fastify route (a fixed string) is sent the very same requests as each route of serve: autocannon
shares the 2 cores, and a new header per request costs it more than a request built once.

${md([
  ['server', 'requests', 'requests/s', 'p99', 'not 2xx'],
  ['bare fastify', 'as the link page', serveBench.bareLink.rps.toFixed(0), `${serveBench.bareLink.p99} ms`, String(serveBench.bareLink.non2xx)],
  ['portalctl serve', 'GET /register/link?token=… (valid)', serveBench.link.rps.toFixed(0), `${serveBench.link.p99} ms`, String(serveBench.link.non2xx)],
  ['bare fastify', 'as the access API', serveBench.bareAccess.rps.toFixed(0), `${serveBench.bareAccess.p99} ms`, String(serveBench.bareAccess.non2xx)],
  ['portalctl serve', 'GET /api/v1/access', serveBench.access.rps.toFixed(0), `${serveBench.access.p99} ms`, String(serveBench.access.non2xx)],
])}

Link-scanner storm: 1,000 GETs of one link from one address, one a millisecond, while the access API is under
load (32 connections, 3 s): answers ${Object.entries(serveBench.storm.statuses)
        .map(([k, v]) => `${v}× ${k}`)
        .join(', ')}; ${serveBench.views} views recorded; access API p99 ${serveBench.duringStorm.p99} ms
(${serveBench.duringStorm.rps.toFixed(0)} req/s) during the storm, ${serveBench.alone.p99} ms (${serveBench.alone.rps.toFixed(0)} req/s) alone.`
    : '_not measured (see the problems above)_'
}

## Peak memory, by store size

Peak RSS (GNU time) of one run each; \`users remove\` and \`prune\` on fresh copies. The stores hold
about three events per user (invited, email_sent, linked), so \`events --json\` prints 2.4 million at 1M.

${memory.length ? md(memoryRows) : '_not measured_'}
${errors.length ? `\nProblems during the run:\n\n${errors.map((e) => `- ${e.replace(/\|/g, '\\|')}`).join('\n')}\n` : ''}
## Stores

Seeded by \`bench/seed.mjs\` through the store layer (\`openSqlite\` from dist/store/sqlite/open.js, so the
project's own migrations and key functions), in one transaction, with the indexes built after the rows
(${SIZES.map((n) => `${fmtN(n)}: ${Number.isFinite(seedTimes[n]) ? fmtMs(seedTimes[n]) : 'cached'}`).join(', ')}): ${SIZES.map(
  (n) =>
    `${fmtN(n)}: ${Object.entries(stores[n].counts)
      .map(([k, v]) => `${v} ${k}`)
      .join(', ')}`,
).join('; ')}
(pendingOverdue = link still valid but removal date passed; due = removed by prune).
One user in ten has a superseded registration with a retired token; linked users have a
"linked" link attempt and audit records. \`PORTALCTL_NOW=${BENCH_NOW}\` for every run.

## Method

- Whole processes (\`child_process.spawn\`), timed with \`process.hrtime\` from just before the spawn
  to the child's \`close\`; stdout is a pipe drained by the runner.
- A warm-up, then several pairs; medians, and ratios taken pair by pair with alternating order.
- Look-ups compare the same command on the ${fmtN(SMALL)} and ${fmtN(BIG)} stores; \`link\` redeems a fresh
  known token on each run (the full "linked" path, a write), on working copies of the stores.
- The invite benchmark runs \`portalctl users invite --from-csv FILE --yes\` on a store holding only the
  portal, with \`PORTALCTL_SMTP_URL=smtp://127.0.0.1:PORT\` (default ${CONNECTIONS} connections) pointing at
  \`bench/smtp-pipelining-sink.mjs\` (node:net, answers 250 to everything, pipelined: almost no cost per
  message) and then at \`bench/smtp-sink.mjs\` (the \`smtp-server\` package); the baseline,
  \`bench/nodemailer-baseline.mjs\`, sends the same messages (composed by the project's own composer, each
  with a fresh token) through a bare nodemailer pool with as many connections. Every run checks that the
  server received every message.
- The PostgreSQL series is \`npm run bench:postgres\` (bench/postgres.mjs): it needs a server.

${notes}
`;
mkdirSync(dirname(OUT), { recursive: true });
writeFileSync(OUT, doc);
log(`\nwrote ${OUT}`);
rmSync(WORK, { recursive: true, force: true });
