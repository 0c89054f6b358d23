// How a connection to PostgreSQL is made, on a private cluster that logs
// every connection it accepts (log_connections): sslmode against a server
// that has TLS and one that has none — the modes do what libpq's do, and
// `prefer` (the default) costs one connection a command either way (a server
// without TLS is answered in clear on the connection that asked, as libpq
// does) — and the password log-ins, SCRAM and md5, through the driver as
// bin/portalctl bundles it (its crypto is node:crypto's, scripts/bundle.mjs).

import { execFileSync } from 'node:child_process';
import { chownSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GRANTS, sandbox, type Sandbox } from '../helpers/cli.js';
import { startPostgres, type PgCluster } from '../helpers/postgres.js';

let cluster: PgCluster;
let certs: string;
beforeAll(async () => {
  cluster = await startPostgres({ settings: { log_connections: true } });
  certs = makeCertificates();
}, 60_000);
afterAll(async () => {
  await cluster?.destroy();
});

/**
 * A CA and a server certificate for 127.0.0.1 signed by it (openssl, which
 * the postgresql package brings), in the cluster's folder: the server reads them.
 */
function makeCertificates(): string {
  const dir = join(cluster.dir, 'tls');
  mkdirSync(dir, { mode: 0o755 });
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  writeFileSync(join(dir, 'san.cnf'), 'subjectAltName = IP:127.0.0.1\n');
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  ssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=portalctl test CA');
  ssl('req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1');
  ssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '2', '-extfile', 'san.cnf');
  // The server reads its key only if the key is its own and private.
  const { uid, gid } = statSync(join(cluster.dir, 'data'));
  for (const f of ['server.crt', 'server.key']) chownSync(join(dir, f), uid, gid);
  return dir;
}

async function withSandbox(query: string, fn: (sb: Sandbox) => Promise<void>): Promise<void> {
  const url = `${await cluster.createDatabase()}${query}`;
  const sb = sandbox({ PORTALCTL_DB: url, PGPASSWORD: cluster.password });
  try {
    const made = await sb.run(GRANTS);
    expect(made.exitCode, made.stderr).toBe(0);
    await fn(sb);
  } finally {
    sb.cleanup();
  }
}

/** How many connections the server accepted while `fn` ran. */
async function connectionsDuring(fn: () => Promise<void>): Promise<number> {
  const count = () => readFileSync(join(cluster.dir, 'postgres.log'), 'utf8').match(/connection received:/g)?.length ?? 0;
  const before = count();
  await fn();
  return count() - before;
}

async function doctorSays(sb: Sandbox): Promise<string> {
  const r = await sb.run(['--json', 'doctor']);
  const checks = (JSON.parse(r.stdout) as { checks: { name: string; detail: string }[] }).checks;
  return checks.find((c) => c.name === 'store connection')!.detail;
}

describe('a server without TLS', { timeout: 60_000 }, () => {
  it('prefer (the default) goes on in clear on the connection that asked: one connection a command', async () => {
    for (const query of ['', '?sslmode=prefer']) {
      await withSandbox(query, async (sb) => {
        const n = await connectionsDuring(async () => {
          const r = await sb.run(['users', 'list']);
          expect(r.exitCode, r.stderr).toBe(0);
        });
        expect(n).toBe(1);
        expect(await doctorSays(sb)).toMatch(/^not encrypted/);
      });
    }
  });
});

describe('a server with TLS', { timeout: 60_000 }, () => {
  beforeAll(async () => {
    await cluster.sql('postgres', `ALTER SYSTEM SET ssl_cert_file = '${join(certs, 'server.crt')}'`);
    await cluster.sql('postgres', `ALTER SYSTEM SET ssl_key_file = '${join(certs, 'server.key')}'`);
    await cluster.sql('postgres', 'ALTER SYSTEM SET ssl = on');
    await cluster.sql('postgres', 'SELECT pg_reload_conf()');
  });

  it('prefer (the default) encrypts, on one connection', async () => {
    await withSandbox('', async (sb) => {
      const n = await connectionsDuring(async () => {
        expect((await sb.run(['users', 'list'])).exitCode).toBe(0);
      });
      expect(n).toBe(1);
      expect(await doctorSays(sb)).toMatch(/^encrypted \(TLSv1\.[23]\), sslmode=prefer/);
    });
  });

  it('verify-full with the CA named by sslrootcert encrypts; disable does not', async () => {
    await withSandbox(`?sslmode=verify-full&sslrootcert=${encodeURIComponent(join(certs, 'ca.crt'))}`, async (sb) => {
      expect(await doctorSays(sb)).toMatch(/^encrypted .*sslmode=verify-full/);
      const r = await sb.run(['users', 'list']);
      expect(r.exitCode).toBe(0);
      expect(r.stderr).toBe('');
    });
    await withSandbox('?sslmode=disable', async (sb) => {
      expect(await doctorSays(sb)).toMatch(/^not encrypted/);
    });
  });

  it('verify-full refuses a certificate no trusted CA signed: one clear line, exit 1', async () => {
    const url = `${await cluster.createDatabase()}?sslmode=verify-full`;
    const sb = sandbox({ PORTALCTL_DB: url, PGPASSWORD: cluster.password });
    try {
      const r = await sb.run(['--json', ...GRANTS]);
      expect(r.exitCode).toBe(1);
      // One line of JSON, nothing else: no warning from Node about how the address was checked.
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      const err = JSON.parse(r.stderr).error;
      expect(err.code).toBe('store_unavailable');
      expect(err.message).toMatch(/over TLS: .*certificate/);
      expect(err.message).not.toContain(cluster.password);
    } finally {
      sb.cleanup();
    }
  });
});

describe('password log-ins', { timeout: 60_000 }, () => {
  it('SCRAM (the default) and md5 (older roles) both log in; a wrong password is one clear line', async () => {
    // The cluster's roles log in with SCRAM over TCP; one more role whose password is stored as md5,
    // with a pg_hba.conf line of its own ahead of the others.
    const hba = join(cluster.dir, 'data', 'pg_hba.conf');
    writeFileSync(hba, `host all md5_role 127.0.0.1/32 md5\n${readFileSync(hba, 'utf8')}`);
    await cluster.sql('postgres', "SET password_encryption = 'md5'; CREATE ROLE md5_role LOGIN PASSWORD 'md5-secret'");
    await cluster.sql('postgres', 'SELECT pg_reload_conf()');
    const stored = await cluster.sql<{ p: string }>(
      'postgres',
      "SELECT left(rolpassword, 3) AS p FROM pg_authid WHERE rolname IN ('md5_role', 'portalctl') ORDER BY rolname",
    );
    expect(stored.map((r) => r.p)).toEqual(['md5', 'SCR']);

    await withSandbox('', async (sb) => {
      expect((await sb.run(['users', 'list'])).exitCode).toBe(0);
    });
    // md5_role owns no store: the answer that there is none comes after a successful log-in.
    const url = new URL(await cluster.createDatabase());
    url.username = 'md5_role';
    const sb = sandbox({ PORTALCTL_DB: url.href, PGPASSWORD: 'md5-secret' });
    try {
      const r = await sb.run(['users', 'list']);
      expect(r.stderr).toMatch(/holds no portalctl store/);
      expect(r.exitCode).toBe(2);
      const wrong = await sb.run(['users', 'list'], { env: { PGPASSWORD: 'not-it' } });
      expect(wrong.exitCode).toBe(1);
      expect(wrong.stderr.trim().split('\n')).toHaveLength(1);
      expect(wrong.stderr).toMatch(/password/i);
      expect(wrong.stderr).not.toContain('not-it');
    } finally {
      sb.cleanup();
    }
  });
});
