// How a PostgreSQL store is reached, as a person sets it up (README "Several
// hosts"): the password from the URL, PGPASSWORD, the config file's
// passwordFile or ~/.pgpass; sslmode honoured; and the password never shown
// by `config`, `doctor` or `--debug` when everything works.

import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { GRANTS, sandbox, type Sandbox } from '../helpers/cli.js';
import { sharedPostgres, type PgServer } from '../helpers/postgres.js';

let pgs: PgServer;
beforeAll(async () => {
  pgs = await sharedPostgres();
});

async function withSandbox(env: Record<string, string>, fn: (sb: Sandbox) => Promise<void>): Promise<void> {
  const sb = sandbox(env);
  try {
    await fn(sb);
  } finally {
    sb.cleanup();
  }
}

/** A store made through the product: portals add on a fresh database, then a look at it. */
async function works(sb: Sandbox): Promise<void> {
  const add = await sb.run(['--json', ...GRANTS]);
  expect(add.stderr).toBe('');
  expect(add.exitCode).toBe(0);
  const list = await sb.json<{ portals: { slug: string }[] }>(['--json', 'portals', 'list']);
  expect(list.portals.map((p) => p.slug)).toEqual(['grants']);
}

describe('where the password comes from', { timeout: 60_000 }, () => {
  it('the URL itself (percent-encoded), and nothing prints it', async () => {
    const secretUrl = new URL(await pgs.createDatabase());
    secretUrl.password = encodeURIComponent(pgs.password);
    await withSandbox({ PORTALCTL_DB: secretUrl.href }, async (sb) => {
      await works(sb);
      for (const argv of [['config'], ['--json', 'config'], ['doctor'], ['--json', 'doctor'], ['--debug', 'users', 'list']]) {
        const r = await sb.run(argv);
        expect(r.stdout + r.stderr, argv.join(' ')).not.toContain(pgs.password);
        expect(r.stdout + r.stderr, argv.join(' ')).not.toContain(encodeURIComponent(pgs.password));
      }
      // config shows where the store is, with the password taken out.
      const shown = await sb.run(['config']);
      expect(shown.stdout).toContain(`127.0.0.1:${secretUrl.port}${secretUrl.pathname}`);
    });
  });

  it('PGPASSWORD', async () => {
    await withSandbox({ PORTALCTL_DB: await pgs.createDatabase(), PGPASSWORD: pgs.password }, works);
  });

  it("the config file's passwordFile (relative to the config file)", async () => {
    await withSandbox({ PORTALCTL_DB: await pgs.createDatabase() }, async (sb) => {
      const dir = join(sb.dir, '.config', 'portalctl');
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'pg-password'), `${pgs.password}\n`, { mode: 0o600 });
      writeFileSync(join(dir, 'config.json'), JSON.stringify({ passwordFile: 'pg-password' }));
      await works(sb);
      const r = await sb.run(['--json', 'config']);
      expect(r.stdout).not.toContain(pgs.password);
      // A password file others can read is refused, naming it and the fix.
      chmodSync(join(dir, 'pg-password'), 0o644);
      const loose = await sb.run(['users', 'list']);
      expect(loose.exitCode).toBe(2);
      expect(loose.stderr).toContain('pg-password');
      expect(loose.stderr).toMatch(/chmod 600/);
      expect(loose.stderr).not.toContain(pgs.password);
    });
  });

  it('~/.pgpass, as libpq reads it (and PGPASSFILE)', async () => {
    await withSandbox({ PORTALCTL_DB: await pgs.createDatabase() }, async (sb) => {
      writeFileSync(join(sb.dir, '.pgpass'), `# portalctl\n127.0.0.1:${pgs.port}:*:portalctl:${pgs.password.replace(/[:\\]/g, '\\$&')}\n`, { mode: 0o600 });
      await works(sb);
    });
    await withSandbox({ PORTALCTL_DB: await pgs.createDatabase(), PGPASSFILE: pgs.passfile }, works);
  });

  it('a URL password beats PGPASSWORD (the one written next to the store wins)', async () => {
    const url = new URL(await pgs.createDatabase());
    url.password = encodeURIComponent(pgs.password);
    await withSandbox({ PORTALCTL_DB: url.href, PGPASSWORD: 'not-this-one' }, works);
  });
});

describe('the URL forms', { timeout: 60_000 }, () => {
  it("a user and no host, the socket folder in host= — libpq's form, which a WHATWG URL refuses — connects and is shown as given", async () => {
    const dbname = new URL(await pgs.createDatabase()).pathname.slice(1);
    const url = `postgres://portalctl@/${dbname}?host=${encodeURIComponent(pgs.socketDir)}&port=${pgs.port}`;
    await withSandbox({ PORTALCTL_DB: url }, async (sb) => {
      await works(sb);
      expect((await sb.run(['config'])).stdout).toContain(`postgres://portalctl@/${dbname}?host=`);
    });
  });
});

describe('sslmode', { timeout: 60_000 }, () => {
  // The test server has no certificate: TLS is refused by it.
  it('disable and prefer connect to a server without TLS', async () => {
    for (const mode of ['disable', 'prefer']) {
      await withSandbox({ PORTALCTL_DB: `${await pgs.createDatabase()}?sslmode=${mode}`, PGPASSWORD: pgs.password }, works);
    }
  });

  it('require refuses a server without TLS: one clear line, exit 1, nothing written', async () => {
    await withSandbox({ PORTALCTL_DB: `${await pgs.createDatabase()}?sslmode=require`, PGPASSWORD: pgs.password }, async (sb) => {
      const r = await sb.run(['--json', ...GRANTS]);
      expect(r.exitCode).toBe(1);
      const err = JSON.parse(r.stderr).error;
      expect(err.code).toBe('store_unavailable');
      expect(err.message).toMatch(/TLS|SSL/i);
      const plain = await sb.run(GRANTS);
      expect(plain.stderr.trim().split('\n')).toHaveLength(1);
      expect(plain.stderr).not.toMatch(/\n\s+at /);
    });
  });

  it('an unknown sslmode is a usage error naming it (exit 2)', async () => {
    await withSandbox({ PORTALCTL_DB: `${await pgs.createDatabase()}?sslmode=sometimes`, PGPASSWORD: pgs.password }, async (sb) => {
      const r = await sb.run(['users', 'list']);
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toContain('sometimes');
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    });
  });
});

describe('the driver', { timeout: 60_000 }, () => {
  it('comes from its bundle (dist/bundle/pg.cjs, compiled code saved at build), not ~25 files of node_modules/pg', async () => {
    await withSandbox({ PORTALCTL_DB: await pgs.createDatabase(), PGPASSWORD: pgs.password }, async (sb) => {
      await works(sb);
      const files = join(sb.dir, 'files.json');
      const probe = join(sb.dir, 'probe.cjs');
      writeFileSync(probe, `process.on('exit', () => require('fs').writeFileSync(${JSON.stringify(files)}, JSON.stringify(Object.keys(require.cache))));`);
      const r = await sb.run(['users', 'list'], { env: { NODE_OPTIONS: `--require ${probe}` } });
      expect(r.exitCode, r.stderr).toBe(0);
      const loaded = JSON.parse(readFileSync(files, 'utf8')) as string[];
      expect(loaded.some((f) => f.endsWith(join('bin', 'load-bundle.cjs')))).toBe(true);
      expect(loaded.filter((f) => /node_modules[\\/]pg[\\/-]/.test(f))).toEqual([]);
    });
  });
});
