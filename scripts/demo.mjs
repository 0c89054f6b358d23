#!/usr/bin/env node
// The main job on the embedded default: a SQLite store and emails written as
// .eml files. Creates a demo portal (once), invites a person, and shows the
// Users overview. Uses ./.demo unless PORTALCTL_DB is set.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const bin = join(root, 'bin', 'portalctl');
const env = { ...process.env, PORTALCTL_DB: process.env.PORTALCTL_DB || join(root, '.demo', 'portalctl.db') };

function portalctl(...args) {
  console.log(`$ portalctl ${args.map((a) => (/\s/.test(a) ? JSON.stringify(a) : a)).join(' ')}`);
  const r = spawnSync(process.execPath, [bin, ...args], { env, stdio: 'inherit' });
  return r.status;
}

console.log(`Store: ${env.PORTALCTL_DB}\n`);
const list = existsSync(env.PORTALCTL_DB) ? spawnSync(process.execPath, [bin, '--json', 'portals', 'list'], { env, encoding: 'utf8' }) : null;
const portals = list?.status === 0 ? JSON.parse(list.stdout).portals.map((p) => p.slug) : [];
if (!portals.includes('demo')) {
  portalctl('portals', 'add', 'demo', '--name', 'Demo Portal', '--url', 'https://portal.example.org', '--admin-email', 'site-admin@example.org');
}
const n = Date.now().toString(36);
const status = portalctl('--portal', 'demo', 'users', 'invite', '--email', `jane.doe+${n}@example.org`, '--first-name', 'Jane', '--last-name', 'Doe');
portalctl('--portal', 'demo', 'users', 'list');
process.exitCode = status ?? 1;
