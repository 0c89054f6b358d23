#!/usr/bin/env node
// Writes man/portalctl.1 from the built command tree (build first: npx tsc -p .).
//   node scripts/gen-man.mjs          write the page
//   node scripts/gen-man.mjs --check  only compare; exit 1 if it differs

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const check = args.includes('--check');
if (args.some((a) => a !== '--check')) {
  console.error('usage: node scripts/gen-man.mjs [--check]');
  process.exit(2);
}

let man;
try {
  man = await import(new URL('../dist/cli/man.js', import.meta.url).href);
} catch (err) {
  console.error(`Cannot load dist/ (${err.message}); build first: npx tsc -p .`);
  process.exit(1);
}

const file = join(root, 'man', 'portalctl.1');
const text = man.manPage();
let current = null;
try {
  current = readFileSync(file, 'utf8');
} catch {
  // missing: written (or reported) below
}
if (current === text) {
  if (!check) console.log('man/portalctl.1: up to date');
} else if (check) {
  console.error('man/portalctl.1: out of date; run: npm run man');
  process.exit(1);
} else {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
  console.log('man/portalctl.1: written');
}
