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
//
// Environment:
//   BENCH_QUICK=1       smoke run: 1k and 10k stores only, fewer runs, 2k
//                       invitations; writes bench/.stores/BENCHMARKS.quick.md
//   BENCH_TIMEOUT_S=90  longest a single benchmarked process may run; a run
//                       cut off there counts as a miss
//   BENCH_OUT=FILE      where to write the results (default BENCHMARKS.md)

import { execFileSync, fork, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BENCH_NOW, STORES_DIR, cachedStore, seedStore, seededEmail } from './seed.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'bin', 'portalctl');
const NODE = process.execPath;
const QUICK = process.env.BENCH_QUICK === '1';
const SIZES = QUICK ? [1000, 10000] : [1000, 10000, 100000];
const SMALL = SIZES[0];
const BIG = SIZES[SIZES.length - 1];
const TIMEOUT_MS = Number(process.env.BENCH_TIMEOUT_S || 90) * 1000;
const INVITES = QUICK ? 2000 : 10000;
const OUT = resolve(process.env.BENCH_OUT || (QUICK ? join(STORES_DIR, 'BENCHMARKS.quick.md') : join(ROOT, 'BENCHMARKS.md')));
const RUNS = {
  startup: QUICK ? 8 : 20,
  lookup: QUICK ? 6 : 15,
  list: QUICK ? 3 : 5,
  prune: QUICK ? 3 : 5,
  pruneBig: 3,
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
const fmtMB = (kb) => (Number.isFinite(kb) ? `${(kb / 1024).toFixed(0)} MB` : '—');
const fmtN = (n) => (n >= 1000 && n % 1000 === 0 ? `${n / 1000}k` : String(n));

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
async function pairs(name, a, b, { warmup = 1, runs = 5, budgetMs = 120_000 } = {}) {
  const res = { name, a: a.label, b: b.label, aMs: [], bMs: [], ratios: [], aRss: [], bRss: [], errors: [], cut: false };
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
log(`portalctl benchmarks${QUICK ? ' (BENCH_QUICK: 1k/10k only, fewer runs)' : ''}`);
log(
  `peak memory: ${hasGnuTime ? 'GNU time -v' : 'unavailable (apt-get install -y time)'}; sqlite3: ${sqliteCli ? sqliteCli.split(' ')[0] : 'not installed (apt-get install -y sqlite3)'}; hyperfine: ${hyperfine ?? 'not installed'}`,
);
if (!existsSync(join(ROOT, 'dist', 'cli.js'))) {
  log('dist/ is missing: run `npm run build` first (npm run bench does).');
  process.exit(2);
}
rmSync(WORK, { recursive: true, force: true });

const stores = {};
for (const n of SIZES) stores[n] = await cachedStore(n, { log: (s) => log(`  ${s}`) });
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
const startupVersion = await pairs(
  'start-up: portalctl --version vs node -e 0',
  nodeBare,
  { label: 'portalctl --version', run: () => runProcess(NODE, [CLI, '--version']), check: (r) => (r.out.trim() ? undefined : 'no version printed') },
  { warmup: 3, runs: RUNS.startup, budgetMs: 60_000 },
);
const startupWhoami = await pairs(
  `start-up: whoami-login EMAIL on ${fmtN(BIG)} vs node -e 0`,
  nodeBare,
  {
    label: `whoami-login (${fmtN(BIG)})`,
    run: portalctl(big.path, ['users', 'whoami-login', big.lookupEmail]),
    check: (r) => (r.out.includes(String(big.lookupId)) ? undefined : 'user not in output'),
  },
  { warmup: 3, runs: RUNS.startup, budgetMs: 60_000 },
);
target('start-up: `--version` / `node -e 0`', fmtX(startupVersion.ratio), '≤ 1.5×', startupVersion.ratio <= 1.5);
target(`start-up: \`users whoami-login EMAIL\` (${fmtN(BIG)}) / \`node -e 0\``, fmtX(startupWhoami.ratio), '≤ 2.0×', startupWhoami.ratio <= 2.0);

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
        `node ${CLI} --db ${big.path} users whoami-login ${big.lookupEmail}`,
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
lookups[2].cmd = 'link';
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
    { warmup: 1, runs: RUNS.list, budgetMs: 90_000 },
  );
  r.size = n;
  r.outBytes = ours.outBytes;
  list.push(r);
}

// ---------------------------------------------------------------- prune

const PRUNABLE = `u.login_service IS NULL AND u.removal_due_at <= '${BENCH_NOW}'
  AND NOT EXISTS (SELECT 1 FROM registrations a WHERE a.user_id = u.id AND a.state = 'active' AND a.expires_at > '${BENCH_NOW}')`;
// The hand-written equivalent of `portalctl prune --yes`: the same audit rows
// (same JSON fields) and the same deletes (the schema's ON DELETE CASCADE
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
      { warmup: n === SMALL ? 1 : 0, runs: n === 100000 ? RUNS.pruneBig : RUNS.prune, budgetMs: 150_000 },
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
  '≤ 3×',
  listBig ? listBig.ratio <= 3 : null,
  sqliteCli ? '' : 'sqlite3 not installed',
);
target(
  `\`users list --json\` ${fmtN(BIG)}: peak RSS`,
  listBig ? fmtMB(listBig.rssB) : '—',
  BIG === 100000 ? '< 150 MB' : '< 150 MB (at 100k)',
  listBig && Number.isFinite(listBig.rssB) ? listBig.rssB < 150 * 1024 : null,
  hasGnuTime ? '' : 'GNU time not installed',
);

/** Growth between sizes: cost added per 1k rows from the middle to the largest size vs from the smallest to the middle. */
function growth(series, pick) {
  if (series.length < 3) return NaN;
  const [s1, s2, s3] = series;
  // The largest size cut off at the time limit while the smaller ones finished: not linear.
  if (pick(s3) === Infinity && Number.isFinite(pick(s1)) && Number.isFinite(pick(s2))) return Infinity;
  const slope1 = (pick(s2) - pick(s1)) / ((s2.size - s1.size) / 1000);
  const slope2 = (pick(s3) - pick(s2)) / ((s3.size - s2.size) / 1000);
  return slope2 / slope1;
}
const listRssGrowth = growth(list, (r) => r.rssB);
target(
  '`users list --json`: peak RSS grows sub-linearly',
  Number.isFinite(listRssGrowth) ? `${fmtMB(list[0].rssB)} → ${fmtMB(list[1].rssB)} → ${fmtMB(list[2].rssB)}` : '—',
  'MB per 1k rows, 10k→100k ≤ ¾ of 1k→10k (linear = 1)',
  Number.isFinite(listRssGrowth) ? listRssGrowth <= 0.75 : null,
  Number.isFinite(listRssGrowth) ? `slope ratio ${listRssGrowth.toFixed(2)}` : 'needs three sizes',
);
const listGrowth = growth(list, (r) => r.medB);
target(
  '`users list --json`: time grows no faster than output',
  Number.isFinite(listGrowth) ? `slope ratio ${listGrowth.toFixed(2)}` : '—',
  'ms per 1k rows, 10k→100k ≤ 2× of 1k→10k',
  Number.isFinite(listGrowth) ? listGrowth <= 2 : null,
);
target(
  `\`prune\` ${pruneBig ? fmtN(pruneBig.removed) : ''} of ${fmtN(BIG)} / sqlite3 script`,
  pruneBig ? fmtX(pruneBig.ratio) : '—',
  '≤ 3×',
  pruneBig && Number.isFinite(pruneBig.ratio) ? pruneBig.ratio <= 3 : prune.length ? false : null,
  pruneBig
    ? pruneBig.cut && pruneBig.errors.length
      ? pruneBig.errors[0]
      : ''
    : prune.length
      ? 'not measured: a smaller prune was cut off'
      : 'sqlite3 not installed',
);
const pruneGrowth = growth(prune, (r) => r.medB);
target(
  '`prune`: time grows no faster than output',
  pruneGrowth === Infinity ? `${prune.map((r) => fmtMs(r.medB)).join(' → ')}` : Number.isFinite(pruneGrowth) ? `slope ratio ${pruneGrowth.toFixed(2)}` : '—',
  'ms per 1k rows, 10k→100k ≤ 2× of 1k→10k',
  pruneGrowth === Infinity ? false : Number.isFinite(pruneGrowth) ? pruneGrowth <= 2 : prune.length && prune.length < SIZES.length ? false : null,
  pruneGrowth === Infinity
    ? `the ${fmtN(BIG)} prune was cut off`
    : prune.length < SIZES.length && prune.length
      ? `only ${prune.map((p) => fmtN(p.size)).join('/')} finished`
      : '',
);

// ---------------------------------------------------------------- invite

let invite;
{
  const sink = fork(join(ROOT, 'bench', 'smtp-sink.mjs'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
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
      runProcess(NODE, [join(ROOT, 'bench', 'nodemailer-baseline.mjs'), String(port), csv], {
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
    invite = await pairs(`bulk invite of ${fmtN(INVITES)} users to a local SMTP server vs a bare nodemailer pooled loop`, a, b, {
      warmup: 0,
      runs: RUNS.invite,
      budgetMs: 240_000,
    });
    invite.count = INVITES;
    invite.rate = INVITES / (invite.medB / 1000);
    invite.baseRate = INVITES / (invite.medA / 1000);
  } finally {
    sink.send({ type: 'stop' });
    sink.disconnect();
  }
  target(`bulk invite of ${fmtN(INVITES)}: invitations/s`, invite ? `${invite.rate.toFixed(0)}/s` : '—', '≥ 500/s', invite ? invite.rate >= 500 : null);
  target(`bulk invite of ${fmtN(INVITES)} / bare nodemailer pooled loop`, invite ? fmtX(invite.ratio) : '—', '≤ 1.5×', invite ? invite.ratio <= 1.5 : null);
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
  ...[startupVersion, startupWhoami, ...lookups, ...(invite ? [invite] : [])].map((r) => [
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
const errors = [startupVersion, startupWhoami, ...lookups, ...list, ...prune, ...(invite ? [invite] : [])].flatMap((r) =>
  r.errors.map((e) => `${r.name}: ${e}`),
);

log('');
log(tableText(pairRows));
log('');
if (list.length) log(`users list --json\n${tableText(listRows)}\n`);
if (prune.length) log(`prune --yes --quiet\n${tableText(pruneRows)}\n`);
if (invite)
  log(
    `bulk invite: portalctl ${invite.rate.toFixed(0)} invitations/s, bare nodemailer ${invite.baseRate.toFixed(0)} messages/s; peak RSS ${fmtMB(invite.rssB)} vs ${fmtMB(invite.rssA)}\n`,
  );
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
    ? `\nCross-check with hyperfine (\`-N\`, medians): \`node -e 0\` ${fmtMs(hyperfineCheck.bare)}, \`portalctl --version\` ${fmtMs(hyperfineCheck.version)} (${fmtX(hyperfineCheck.version / hyperfineCheck.bare)}), \`whoami-login\` on ${fmtN(BIG)} ${fmtMs(hyperfineCheck.whoami)} (${fmtX(hyperfineCheck.whoami / hyperfineCheck.bare)}).\n`
    : ''
}${invite ? `\nBulk invite: portalctl ${invite.rate.toFixed(0)} invitations/s (median ${fmtMs(invite.medB)} for ${fmtN(INVITES)}), the bare nodemailer pooled loop ${invite.baseRate.toFixed(0)} messages/s; peak RSS ${fmtMB(invite.rssB)} and ${fmtMB(invite.rssA)}.\n` : ''}
## users list --json, by store size

Baseline: \`sqlite3 -json STORE "${LIST_SQL.replace(/\s+/g, ' ')}"\` — the same rows and columns, through a pipe.

${list.length ? md(listRows) : '_not measured (sqlite3 not installed)_'}

## prune, by store size

\`portalctl prune --yes --quiet\` on a fresh copy of the store for each run (copy not timed),
against a hand-written SQL script run by the \`sqlite3\` command on its own copy: the same audit
rows (same JSON fields) and the same \`DELETE\`, cascading through the schema's foreign keys,
in one transaction with portalctl's connection settings (\`foreign_keys = ON\`, \`synchronous = NORMAL\`).
Single runs are cut off after ${TIMEOUT_MS / 1000} s (BENCH_TIMEOUT_S).

${prune.length ? md(pruneRows) : '_not measured (sqlite3 not installed)_'}
${errors.length ? `\nProblems during the run:\n\n${errors.map((e) => `- ${e.replace(/\|/g, '\\|')}`).join('\n')}\n` : ''}
## Stores

Seeded by \`bench/seed.mjs\` through the store layer (\`openDatabase\` from dist/store/db.js,
so the project's own migrations) in one transaction: ${SIZES.map(
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
  portal, with \`PORTALCTL_SMTP_URL=smtp://127.0.0.1:PORT\` pointing at \`bench/smtp-sink.mjs\`
  (the \`smtp-server\` package, counting messages); the baseline, \`bench/nodemailer-baseline.mjs\`,
  sends the same messages (composed by the project's own composer) through a bare nodemailer pool of the
  same size. Every run checks that the server received every message.
- Growth: "slope ratio" is the cost added per 1k rows from 10k to 100k divided by the cost added per
  1k rows from 1k to 10k: about 1 for linear growth, below 1 for sub-linear, far above 1 for quadratic.

${notes}
`;
mkdirSync(dirname(OUT), { recursive: true });
writeFileSync(OUT, doc);
log(`\nwrote ${OUT}`);
rmSync(WORK, { recursive: true, force: true });
