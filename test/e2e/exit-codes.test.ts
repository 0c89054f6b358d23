// The exit codes of SPEC, from the real bin/portalctl to the shell: what a
// cron job or a script sees. (Behaviour behind each code is tested in-process.)

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { BIN, GRANTS, sandbox, type Sandbox } from '../helpers/cli.js';
import { LATEST_SQLITE_VERSION } from '../../src/store/sqlite/open.js';
import { VERSION } from '../../src/cli/version-number.js';
import { seedUsers } from '../helpers/store.js';
import { closedPort } from '../helpers/ports.js';

let sb: Sandbox;
beforeAll(() => {
  sb = sandbox();
});
afterAll(() => sb.cleanup());

describe('exit codes, end to end', () => {
  it('2 for a named store that does not exist, 0 once `portals add` made it, 2 for bad input, 1 for a refusal, 75 for queued mail', async () => {
    const missing = await sb.run(['--json', 'users', 'list']);
    expect(missing.exitCode).toBe(2);
    expect(JSON.parse(missing.stderr).error.code).toBe('store_missing');

    const add = await sb.run(GRANTS);
    expect(add.exitCode, add.stderr).toBe(0);
    expect(add.stdout.split('\n')[0]).toMatch(/^Slug\tName\t/); // piped: tab-separated

    const bad = await sb.run(['users', 'list', '--status', 'gone']);
    expect(bad).toMatchObject({ exitCode: 2, stdout: '' });
    expect(bad.stderr).toBe('error: Unknown status "gone"; use one of: linked, pending, expired, unlinked.');

    const refused = await sb.run(['users', 'show', 'nobody@example.org']);
    expect(refused.exitCode).toBe(1);

    const queued = await sb.run(['users', 'invite', '--email', 'q@example.org', '--first-name', 'Q', '--last-name', 'Q'], {
      env: { PORTALCTL_SMTP_URL: `smtp://127.0.0.1:${await closedPort()}` },
    });
    expect(queued.exitCode).toBe(75);
    expect(queued.stderr).toContain('Run `portalctl outbox send` to retry.');
    expect(queued.stderr).not.toMatch(/\n\s+at /);

    const cron = await sb.run(['prune', '--yes', '--quiet']);
    expect(cron).toMatchObject({ exitCode: 0, stdout: '', stderr: '' });
  });

  it('--version answers without the command tree: versions and the migration level of the store', async () => {
    const r = await sb.run(['--version']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe(
      `portalctl ${VERSION}\nNode.js ${process.versions.node}\nSQLite ${r.stdout.split('\n')[2]!.slice(7)}\nstore: ${sb.db} (migration ${LATEST_SQLITE_VERSION} of ${LATEST_SQLITE_VERSION})`,
    );
    const json = JSON.parse((await sb.run(['--version', '--json'])).stdout);
    expect(json).toMatchObject({ portalctl: VERSION, store: { kind: 'sqlite', path: sb.db, schemaVersion: LATEST_SQLITE_VERSION } });
    const none = await sb.run(['-V'], { env: { PORTALCTL_DB: `${sb.dir}/none.db` } });
    expect(none.stdout).toContain('(not created yet)');
    // A URL of another kind names no store; its password is not shown.
    const other = await sb.run(['-V'], { env: { PORTALCTL_DB: 'mysql://portal:hunter2@db.example.org/portal' } });
    expect(other.stdout.split('\n').at(-1)).toBe('store: a mysql:// URL, which portalctl cannot use (give a postgres:// URL or a SQLite file path)');
    expect(other.stdout).not.toContain('hunter2');
  });

  it('TZ set but empty counts as unset (UTC here), as an empty variable does: times are shown, nothing fails after a write', async () => {
    const tz = { TZ: '' };
    const invite = await sb.run(['users', 'invite', '--email', 'tz@example.org', '--first-name', 'T', '--last-name', 'Z'], { env: tz });
    expect(invite.exitCode, invite.stderr).toBe(0);
    const who = await sb.run(['users', 'whoami-login', 'tz@example.org'], { env: tz });
    expect(who.exitCode, who.stderr).toBe(0);
    expect(who.stderr).toMatch(/Their Step 2 link is valid until \d{4}-\d\d-\d\d \d\d:\d\d UTC/);
  });

  it('a reader that goes away (| head) ends the output quietly, exit 0; a full disk is exit 1 with one line', async () => {
    await seedUsers(sb, 3000); // far more than a pipe holds
    const node = `"${process.execPath}" "${BIN}"`;
    const head = await execa('bash', ['-c', `set -o pipefail; ${node} users list | head -n 2`], { env: sb.env, extendEnv: false, reject: false });
    expect(head).toMatchObject({ exitCode: 0, stderr: '' });
    expect(head.stdout.split('\n')).toHaveLength(2);
    const full = await execa('bash', ['-c', `${node} users list >/dev/full`], { env: sb.env, extendEnv: false, reject: false });
    expect(full.exitCode).toBe(1);
    expect(full.stderr).toBe(
      'error: Cannot write to standard output: ENOSPC (no space left on the device). Anything the command changed is recorded; only its output is lost.',
    );
  });
});
