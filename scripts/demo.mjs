#!/usr/bin/env node
// The main job on the embedded default: a SQLite store and emails written as
// .eml files. Creates a demo portal (once), invites a person, shows the Users
// overview, then links an account with the Step 2 link from the email.
// Uses ./.demo unless PORTALCTL_DB is set.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const bin = join(root, 'bin', 'portalctl');
const env = { ...process.env, PORTALCTL_DB: process.env.PORTALCTL_DB || join(root, '.demo', 'portalctl.db') };

function portalctl(...args) {
  console.log(`$ portalctl ${args.map((a) => (/\s/.test(a) ? JSON.stringify(a) : a)).join(' ')}`);
  const r = spawnSync(process.execPath, [bin, ...args], { env, stdio: 'inherit' });
  return r.status;
}

console.log(`Store: ${env.PORTALCTL_DB}\n`);
// PORTALCTL_DB names the store, so only `portals add` may create it (every
// other command refuses a named store that does not exist): look for the demo
// portal only in a store that is there.
const list = existsSync(env.PORTALCTL_DB) ? spawnSync(process.execPath, [bin, '--json', 'portals', 'list'], { env, encoding: 'utf8' }) : null;
if (list && list.status !== 0) {
  process.stderr.write(list.stderr);
  process.exit(list.status ?? 1);
}
const portals = list ? JSON.parse(list.stdout).portals.map((p) => p.slug) : [];
if (!portals.includes('demo')) {
  const added = portalctl('portals', 'add', 'demo', '--name', 'Demo Portal', '--url', 'https://portal.example.org', '--admin-email', 'site-admin@example.org');
  if (added !== 0) process.exit(added ?? 1);
}
const n = Date.now().toString(36);
const email = `jane.doe+${n}@example.org`;
const status = portalctl('--portal', 'demo', 'users', 'invite', '--email', email, '--first-name', 'Jane', '--last-name', 'Doe');
portalctl('--portal', 'demo', 'users', 'list');

// Step 2, as the person would do it: the link from the email they received.
const mailDir = join(dirname(env.PORTALCTL_DB), 'mail');
const newest = readdirSync(mailDir)
  .filter((f) => f.endsWith('.eml'))
  .map((f) => join(mailDir, f))
  .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
// Undo quoted-printable soft line breaks to read the link as a mail client shows it.
const link =
  newest &&
  /https:\/\/\S+\?token=[A-Za-z0-9_-]+/.exec(
    readFileSync(newest, 'utf8')
      .replace(/=\r?\n/g, '')
      .replace(/=3D/g, '='),
  )?.[0];
if (status === 0 && link) {
  console.log(`\nThe registration email is ${newest}; Jane follows its Step 2 link:`);
  portalctl('--portal', 'demo', 'link', link, '--service', 'nih', '--account', `jdoe${n}`);
  portalctl('--portal', 'demo', 'users', 'whoami-login', email);
}
process.exitCode = status ?? 1;
