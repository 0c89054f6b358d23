#!/usr/bin/env node
// Writes completions/portalctl.bash, completions/_portalctl and
// completions/portalctl.fish from the built command tree: exactly what
// `portalctl completion SHELL` prints. Build first (npx tsc -p .).
//   node scripts/gen-completions.mjs          write the files
//   node scripts/gen-completions.mjs --check  only compare; exit 1 if any differs

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const check = args.includes('--check');
if (args.some((a) => a !== '--check')) {
  console.error('usage: node scripts/gen-completions.mjs [--check]');
  process.exit(2);
}

let cli, completion;
try {
  cli = await import(new URL('../dist/cli/main.js', import.meta.url).href);
  completion = await import(new URL('../dist/completion/index.js', import.meta.url).href);
} catch (err) {
  console.error(`Cannot load dist/ (${err.message}); build first: npx tsc -p .`);
  process.exit(1);
}

/** Runs `portalctl completion SHELL` in-process and returns what it printed. */
async function script(shell) {
  const chunks = [];
  const errs = [];
  const sink = (into) =>
    new Writable({
      write(chunk, _enc, done) {
        into.push(Buffer.from(chunk));
        done();
      },
    });
  const streams = { stdin: new PassThrough(), stdout: sink(chunks), stderr: sink(errs), stdinIsTTY: false, stdoutIsTTY: false, stderrIsTTY: false };
  // A clean environment: nothing the user has set may change the scripts.
  const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/', NO_COLOR: '1' };
  const code = await cli.main(['completion', shell], { streams, env });
  if (code !== 0) throw new Error(`portalctl completion ${shell} exited ${code}: ${Buffer.concat(errs).toString('utf8')}`);
  return Buffer.concat(chunks).toString('utf8');
}

const dir = join(root, 'completions');
mkdirSync(dir, { recursive: true });
let stale = 0;
for (const shell of completion.SHELLS) {
  const file = join(dir, completion.COMPLETION_FILES[shell]);
  const text = await script(shell);
  let current = null;
  try {
    current = readFileSync(file, 'utf8');
  } catch {
    // missing: written (or reported) below
  }
  const name = relative(root, file);
  if (current === text) {
    if (!check) console.log(`${name}: up to date`);
    continue;
  }
  if (check) {
    console.error(`${name}: out of date; run: npx tsc -p . && node scripts/gen-completions.mjs`);
    stale++;
  } else {
    writeFileSync(file, text);
    console.log(`${name}: written`);
  }
}
process.exit(stale ? 1 : 0);
