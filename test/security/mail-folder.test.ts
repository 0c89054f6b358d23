// Issue 14, Medium: ".eml files are written through planted files and
// symlinks". The mail folder must be ours (owned by us, not writable by
// group or others, not a link); files are created new (O_EXCL|O_NOFOLLOW),
// mode 0600 whatever the umask, under names nobody can guess.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GRANTS, world, type World } from '../helpers/run.js';
import { fingerprint, isRoot } from './fixtures.js';

let w: World;
beforeEach(async () => {
  w = world();
  expect((await w.run(GRANTS)).exitCode).toBe(0);
});
afterEach(() => w.close());

const invite = (email = 'jane@example.org', env: Record<string, string> = {}) =>
  w.run(['--json', 'users', 'invite', '--email', email, '--first-name', 'Jane', '--last-name', 'Doe'], { env });

/** The names an attacker would guess for user 1's first email: the old predictable format and near variants. */
const GUESSES = ['2026-11-28T14-00-00-000Z-grants-user1-msg1.eml', 'grants-user1-msg1.eml', 'user1.eml', '1.eml'];

function plantLinks(dir: string, target: string): void {
  for (const name of GUESSES) symlinkSync(target, join(dir, name));
}

async function nothingRecorded() {
  expect((await w.json(['users', 'list'])).users).toEqual([]);
  expect((await w.json(['outbox', 'list'])).messages).toEqual([]);
}

describe('a mail folder that is not ours alone', () => {
  it('world-writable (a shared temporary folder) with symlinks planted at predictable names: exit 2 before anything is recorded, no link followed', async () => {
    mkdirSync(w.mailDir, { recursive: true });
    chmodSync(w.mailDir, 0o1777);
    const target = join(w.dir, 'attacker-file');
    plantLinks(w.mailDir, target);
    const r = await invite();
    expect(r.exitCode, r.stderr).toBe(2);
    expect(JSON.parse(r.stderr).error).toMatchObject({ code: 'invalid_mail_dir', message: expect.stringMatching(/can be written by others.*chmod 700/) });
    expect(existsSync(target)).toBe(false);
    await nothingRecorded();
    const doctor = await w.run(['--json', 'doctor']);
    expect(JSON.parse(doctor.stdout).checks.find((c: { name: string }) => c.name === 'mail')).toMatchObject({ status: 'fail' });
  });

  it('group-writable: refused the same way', async () => {
    mkdirSync(w.mailDir, { recursive: true });
    chmodSync(w.mailDir, 0o770);
    expect((await invite()).exitCode).toBe(2);
    await nothingRecorded();
  });

  it('a symbolic link to a folder: refused', async () => {
    const elsewhere = join(w.dir, 'elsewhere');
    mkdirSync(elsewhere, { mode: 0o700 });
    mkdirSync(join(w.dir, 'store'), { recursive: true });
    symlinkSync(elsewhere, w.mailDir);
    const r = await invite();
    expect(r.exitCode, r.stderr).toBe(2);
    expect(readdirSync(elsewhere)).toEqual([]);
    await nothingRecorded();
  });

  it('a file where the folder should be: refused', async () => {
    writeFileSync(w.mailDir, 'not a folder');
    expect((await invite()).exitCode).toBe(2);
    await nothingRecorded();
  });

  it.runIf(isRoot)('owned by another user (mode 0700): refused — emails hold live links', async () => {
    mkdirSync(w.mailDir, { recursive: true, mode: 0o700 });
    chownSync(w.mailDir, 65534, 65534);
    const r = await invite();
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/belongs to another user/);
    await nothingRecorded();
  });

  it('a store in a shared (1777) folder: its mail folder is created 0700, so nobody else can plant anything in it', async () => {
    const shared = join(w.dir, 'shared');
    mkdirSync(shared);
    chmodSync(shared, 0o1777);
    const db = join(shared, 'portalctl.db');
    expect((await w.run(['--db', db, ...GRANTS])).exitCode).toBe(0);
    expect((await w.run(['--db', db, 'users', 'invite', '--email', 'a@example.org', '--first-name', 'A', '--last-name', 'B'])).exitCode).toBe(0);
    expect(lstatSync(join(shared, 'mail')).mode & 0o777).toBe(0o700);
  });
});

describe('in a folder of our own', () => {
  it('planted links and a planted 0644 file at guessable names are left alone; the email goes to a new 0600 file with an unguessable name', async () => {
    mkdirSync(w.mailDir, { recursive: true, mode: 0o700 });
    const target = join(w.dir, 'attacker-file');
    plantLinks(w.mailDir, target);
    const planted = join(w.mailDir, 'planted-0644.eml');
    writeFileSync(planted, 'planted', { mode: 0o644 });
    chmodSync(planted, 0o644);
    const before = fingerprint(planted);
    const r = await invite();
    expect(r.exitCode, r.stderr).toBe(0);
    expect(existsSync(target)).toBe(false);
    expect(fingerprint(planted)).toEqual(before);
    const made = readdirSync(w.mailDir).filter((f) => !GUESSES.includes(f) && f !== 'planted-0644.eml');
    expect(made).toHaveLength(1);
    expect(made[0]).toMatch(/^2026-11-28T14-00-00-000Z-grants-user1-msg1-[0-9a-f]{12}\.eml$/);
    const st = lstatSync(join(w.mailDir, made[0]!));
    expect(st.isFile()).toBe(true);
    expect(st.mode & 0o777).toBe(0o600);
  });

  it('under umask 000 the folder is 0700 and every .eml 0600', async () => {
    const old = process.umask(0);
    try {
      expect((await invite('a@example.org')).exitCode).toBe(0);
      expect((await invite('b@example.org')).exitCode).toBe(0);
    } finally {
      process.umask(old);
    }
    expect(lstatSync(w.mailDir).mode & 0o777).toBe(0o700);
    for (const f of readdirSync(w.mailDir)) expect(lstatSync(join(w.mailDir, f)).mode & 0o777).toBe(0o600);
    expect(lstatSync(w.db).mode & 0o777).toBe(0o600);
  });

  it('two emails to the same person at the same moment never share a name', async () => {
    expect((await invite('a@example.org')).exitCode).toBe(0);
    expect((await w.run(['users', 'resend-registration', '1'])).exitCode).toBe(0);
    expect((await w.run(['users', 'resend-registration', '1'])).exitCode).toBe(0);
    expect(new Set(readdirSync(w.mailDir)).size).toBe(3);
  });
});
