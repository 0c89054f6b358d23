// Where a PostgreSQL store is and how to reach it: the URL taken apart, the
// password found (URL, PGPASSWORD, the config file's passwordFile, then
// ~/.pgpass as libpq reads it), TLS from sslmode, a connect timeout — and
// every error pg reports turned into a one-line StoreError that never holds
// the password.
//
// pg is given a complete configuration: it would otherwise fill gaps from the
// process's own PG* variables and ~/.pgpass (deprecated in pg), and a
// `connectionString` would silently beat a password given beside it.

import { closeSync, constants, fstatSync, openSync, readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import type { ConnectionOptions } from 'node:tls';
import { EXIT, StoreError } from '../../errors.js';
import { quote } from '../../text.js';

export interface PgTarget {
  host: string;
  port: number;
  user: string;
  database: string;
  /** The URL to show: no password, ever. */
  location: string;
  sslmode: SslMode;
  ssl: false | ConnectionOptions;
  connectTimeoutMs: number;
  applicationName: string;
  /** Resolved only when the server asks for a password. */
  password: () => string | undefined;
  /** The password if it has been looked up, for scrubbing error messages. */
  knownPassword: () => string | undefined;
}

export type SslMode = 'disable' | 'allow' | 'prefer' | 'require' | 'verify-ca' | 'verify-full';
const SSL_MODES: SslMode[] = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'];

/** The default connect timeout: a server that does not answer is an error after this long, not a hang. */
export const CONNECT_TIMEOUT_MS = 5000;

const KNOWN_PARAMS = ['sslmode', 'sslrootcert', 'sslcert', 'sslkey', 'connect_timeout', 'application_name', 'host', 'port', 'user', 'dbname', 'password'];

function invalid(what: string): StoreError {
  return new StoreError('invalid_store_url', `The PostgreSQL URL ${what}; use postgres://USER@HOST:PORT/DBNAME (see the README).`, EXIT.usage);
}

/** The URL with its password removed (not masked: it says nothing of its length). */
export function maskPostgresUrl(raw: string): string {
  try {
    const url = readPostgresUrl(raw);
    if (url.password) url.password = '***';
    url.searchParams.delete('password');
    return postgresUrlText(url);
  } catch {
    return 'postgres://(not a valid URL)';
  }
}

function readFileParam(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new StoreError(
      'invalid_store_url',
      `Cannot read ${what} ${quote(path, 200)}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}.`,
      EXIT.usage,
    );
  }
}

/** An IPv4 or IPv6 address rather than a host name. */
const isAddress = (host: string) => host.includes(':') || /^\d{1,3}(\.\d{1,3}){3}$/.test(host);

function tlsOptions(mode: SslMode, params: URLSearchParams, host: string): false | ConnectionOptions {
  if (mode === 'disable' || mode === 'allow') return false;
  const opts: ConnectionOptions = { rejectUnauthorized: mode === 'verify-ca' || mode === 'verify-full' };
  const root = params.get('sslrootcert');
  if (root && root !== 'system' && opts.rejectUnauthorized) opts.ca = readFileParam(root, 'the sslrootcert file');
  const cert = params.get('sslcert');
  const key = params.get('sslkey');
  if (cert) opts.cert = readFileParam(cert, 'the sslcert file');
  if (key) opts.key = readFileParam(key, 'the sslkey file');
  if (mode === 'verify-ca') opts.checkServerIdentity = () => undefined;
  // The name the certificate must carry; an address is checked as an address (a servername may not be
  // one: RFC 6066, and Node prints a deprecation warning for it).
  else if (mode === 'verify-full' && !host.startsWith('/') && !isAddress(host)) opts.servername = host;
  return opts;
}

/**
 * One line of ~/.pgpass: host:port:database:user:password, `*` matching
 * anything, `\:` and `\\` escaped. Exported for the tests.
 */
export function pgpassLookup(text: string, t: { host: string; port: number; database: string; user: string }): string | undefined {
  const host = t.host.startsWith('/') ? 'localhost' : t.host;
  for (const line of text.split(/\r?\n/)) {
    if (line === '' || line.startsWith('#')) continue;
    const fields: string[] = [];
    let cur = '';
    for (let i = 0; i < line.length; i++) {
      const ch = line[i]!;
      if (ch === '\\' && i + 1 < line.length) cur += line[++i];
      else if (ch === ':' && fields.length < 4) {
        fields.push(cur);
        cur = '';
      } else cur += ch;
    }
    fields.push(cur);
    if (fields.length !== 5) continue;
    const [h, p, d, u, pw] = fields as [string, string, string, string, string];
    const match = (pattern: string, value: string) => pattern === '*' || pattern === value;
    if (match(h, host) && match(p, String(t.port)) && match(d, t.database) && match(u, t.user)) return pw;
  }
  return undefined;
}

function readPgpass(env: NodeJS.ProcessEnv, t: { host: string; port: number; database: string; user: string }): string | undefined {
  const home = env.HOME || safeHome();
  const path = env.PGPASSFILE || (home ? join(home, '.pgpass') : undefined);
  if (!path) return undefined;
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    const st = fstatSync(fd);
    // libpq ignores a password file that group or others can read; so do we.
    if (!st.isFile() || (st.mode & 0o077) !== 0 || st.size > 1024 * 1024) return undefined;
    return pgpassLookup(readFileSync(fd, 'utf8'), t);
  } finally {
    closeSync(fd);
  }
}

function safeHome(): string | undefined {
  try {
    return userInfo().homedir;
  } catch {
    return undefined;
  }
}

function osUser(env: NodeJS.ProcessEnv): string {
  try {
    return userInfo().username;
  } catch {
    return env.USER || env.LOGNAME || 'postgres';
  }
}

/** The stand-in host of a URL that names a user but no host (a name that can be no real host). */
const NO_HOST = 'no-host.portalctl.invalid';

/**
 * A postgres:// URL as a URL object. libpq takes a user without a host
 * (postgres://portalctl@/db?host=/run/postgresql: the socket from host= or
 * PGHOST); a WHATWG URL does not, so such a URL is read with a stand-in host.
 */
export function readPostgresUrl(raw: string): URL {
  return new URL(raw.replace(/^(postgres(?:ql)?:\/\/[^/?#]*@)(?=[/?#]|$)/i, `$1${NO_HOST}`));
}

/** A URL read by readPostgresUrl, as text again: without the stand-in host. */
export function postgresUrlText(url: URL): string {
  return url.toString().replace(`@${NO_HOST}`, '@');
}

/** Takes a postgres:// URL apart, with libpq's fallbacks (PGHOST, PGPORT, PGUSER, PGDATABASE, PGSSLMODE, PGCONNECT_TIMEOUT). */
export function parsePostgresUrl(raw: string, env: NodeJS.ProcessEnv, passwordFromFile?: string): PgTarget {
  let url: URL;
  try {
    url = readPostgresUrl(raw.trim());
  } catch {
    throw invalid('is not a valid URL');
  }
  const hostless = url.hostname === NO_HOST;
  if (!/^postgres(ql)?:$/i.test(url.protocol)) throw invalid('must start with postgres:// or postgresql://');
  const params = url.searchParams;
  for (const key of params.keys()) if (!KNOWN_PARAMS.includes(key)) throw invalid(`has an unknown parameter ${quote(key)} (known: ${KNOWN_PARAMS.join(', ')})`);
  const dec = (s: string) => {
    try {
      return decodeURIComponent(s);
    } catch {
      throw invalid('has a badly escaped part');
    }
  };
  const host = (url.hostname && !hostless ? dec(url.hostname).replace(/^\[(.*)\]$/, '$1') : '') || params.get('host') || env.PGHOST || 'localhost';
  const portText = url.port || params.get('port') || env.PGPORT || '5432';
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw invalid(`has an invalid port ${quote(portText)}`);
  const user = (url.username ? dec(url.username) : '') || params.get('user') || env.PGUSER || osUser(env);
  const path = url.pathname.replace(/^\//, '');
  if (path.includes('/')) throw invalid('names more than one database');
  const database = (path ? dec(path) : '') || params.get('dbname') || env.PGDATABASE || user;
  const modeText = params.get('sslmode') || env.PGSSLMODE || 'prefer';
  if (!SSL_MODES.includes(modeText as SslMode)) throw invalid(`has an unknown sslmode ${quote(modeText)} (known: ${SSL_MODES.join(', ')})`);
  const sslmode = modeText as SslMode;
  const timeoutText = params.get('connect_timeout') || env.PGCONNECT_TIMEOUT;
  let connectTimeoutMs = CONNECT_TIMEOUT_MS;
  if (timeoutText !== undefined && timeoutText !== '') {
    const s = Number(timeoutText);
    if (!Number.isFinite(s) || s < 0) throw invalid(`has an invalid connect_timeout ${quote(timeoutText)}`);
    // libpq: 0 waits forever; we keep a bound (a cron job must not hang), and at least 2 s as libpq does.
    connectTimeoutMs = s === 0 ? 60_000 : Math.max(2, s) * 1000;
  }
  const inUrl = url.password ? dec(url.password) : params.get('password') || undefined;
  const target = { host, port, user, database };
  let found: { value: string | undefined } | undefined;
  const password = () => {
    found ??= { value: inUrl ?? (env.PGPASSWORD || undefined) ?? passwordFromFile ?? readPgpass(env, target) };
    return found.value;
  };
  const location = maskPostgresUrl(url.toString());
  return {
    ...target,
    location,
    sslmode,
    ssl: tlsOptions(sslmode, params, host),
    connectTimeoutMs,
    applicationName: params.get('application_name') || 'portalctl',
    password,
    knownPassword: () => found?.value ?? inUrl,
  };
}

// ------------------------------------------------------------------ errors

type PgLikeError = Error & { code?: string; severity?: string; routine?: string };

/** Connection-level trouble: the server is down, restarting, unreachable, or dropped us. */
export function isConnectionError(err: unknown): boolean {
  const e = err as PgLikeError;
  const code = e?.code ?? '';
  if (['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ENOENT', 'EADDRNOTAVAIL'].includes(code))
    return true;
  if (code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03' || code === '53300') return true;
  const m = e?.message ?? '';
  return /Connection terminated|timeout expired|Client has encountered a connection error|Client was closed|not queryable|connection error|socket hang up/i.test(
    m,
  );
}

/** A serialization failure or deadlock: the transaction may simply be run again. */
export function isRetryable(err: unknown): boolean {
  const code = (err as PgLikeError)?.code;
  return code === '40001' || code === '40P01';
}

/** Text as one sentence: a full stop at the end unless it already ends with one (or with a question). */
const sentence = (text: string) => (/[.?!]$/.test(text) ? text : `${text}.`);

function reason(e: PgLikeError): string {
  const code = e.code ?? '';
  if (code === 'ECONNREFUSED') return 'connection refused — is the server running, and on that host and port?';
  if (code === 'ECONNRESET' || code === 'EPIPE') return 'the connection was reset (the server restarted or is shutting down)';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'the host name could not be resolved';
  if (code === 'ENOENT') return 'no server socket there — is the server running?';
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'ETIMEDOUT') return 'the host cannot be reached';
  if (code === '57P03') return 'the server is starting up or shutting down';
  if (code === '57P01' || code === '57P02') return 'the server ended the connection (restarted, or an administrator terminated it)';
  if (code === '53300') return 'the server has no connection slot left (too many clients)';
  if (/timeout/i.test(e.message)) return 'no answer within the connect timeout';
  if (/Connection terminated unexpectedly/.test(e.message)) return 'the connection was lost (the server restarted or crashed, or the network dropped it)';
  return e.message.replace(/\s+/g, ' ').trim();
}

/**
 * A pg error as an error an administrator can act on. `phase` says what was
 * going on: connecting, inside a transaction (rolled back), or committing
 * (the outcome is unknown).
 */
export function pgError(err: unknown, location: string, phase: 'connect' | 'work' | 'commit' = 'work', secrets: string[] = []): Error {
  if (err instanceof StoreError || !(err instanceof Error)) return err as Error;
  const e = err as PgLikeError;
  const code = e.code ?? '';
  const where = `the PostgreSQL store ${location}`;
  const Where = `The PostgreSQL store ${location}`;
  const scrub = (text: string) => secrets.filter(Boolean).reduce((t, s) => t.split(s).join('***'), text);
  const make = (c: string, text: string, exit: number = EXIT.failed) => {
    const out = new StoreError(c, scrub(text), exit);
    return out;
  };
  if (code === '28P01' || code === '28000' || /SASL|password must be|client password|no pg_hba\.conf entry|password authentication/i.test(e.message)) {
    const none = /must be a string|must be a non-empty string/.test(e.message);
    return make(
      'store_auth',
      none
        ? `${Where} asks for a password and none was found; set PGPASSWORD, add the server to ~/.pgpass (mode 0600), or name a passwordFile in the config file.`
        : code === '28000' && /pg_hba/.test(e.message)
          ? `${Where} refused the connection: ${scrub(e.message)} (the server's pg_hba.conf does not allow this user, host or TLS mode).`
          : `${Where} refused the login: ${scrub(e.message)}; check the user name and the password (PGPASSWORD, ~/.pgpass or passwordFile).`,
    );
  }
  if (code === '3D000') {
    return make(
      'store_missing',
      `${Where} does not exist: ${scrub(e.message)}. Create the database first (createdb -O ROLE DBNAME, see the README); portalctl never creates databases.`,
      EXIT.usage,
    );
  }
  if (/self[- ]signed|certificate|SSL|TLS|unable to verify|Hostname\/IP does not match/i.test(e.message) && !code.match(/^[0-9A-Z]{5}$/)) {
    return make('store_unavailable', `Cannot reach ${where} over TLS: ${scrub(e.message)}; check sslmode and sslrootcert in the URL.`);
  }
  if (isConnectionError(e)) {
    if (phase === 'connect') return make('store_unavailable', sentence(`Cannot reach ${where}: ${reason(e)}`));
    if (phase === 'commit')
      return make(
        'store_unavailable',
        `Lost ${where} while committing (${reason(e)}): the change may or may not have been recorded; check (for instance with \`portalctl users show\`) before running the command again.`,
      );
    return make('store_unavailable', `Lost ${where} (${reason(e)}); what this command was doing at that moment was not recorded. Run it again.`);
  }
  if (isRetryable(e)) {
    return make('store_conflict', `Other portalctl processes kept changing the same records at the same moment; nothing was changed by this one. Try again.`);
  }
  if (code === '55P03') return make('store_busy', `${Where} stayed locked by another process for too long; nothing was changed. Try again.`);
  if (code === '57014') return make('store_busy', `${Where} took too long to answer; the statement was cancelled and nothing was changed.`);
  if (code.startsWith('23'))
    return make('store_conflict', `Another portalctl process changed the same records at the same moment (${scrub(e.message)}); try again.`);
  if (code === '25006') return make('store_readonly', `${Where} is read-only (a standby server?); this command needs to write to it.`);
  if (code === '42501') return make('store_denied', `${Where} refused: ${scrub(e.message)}; the role needs to own the portalctl tables (see the README).`);
  if (code === '53100' || code === '58030') return make('store_io', `${Where} could not be written (${scrub(e.message)}): is the server's disk full?`);
  if (code === '53200') return make('store_io', `${Where} ran out of memory (${scrub(e.message)}).`);
  if (code === 'XX001' || code === 'XX002') return make('store_corrupt', `${Where} is damaged (${scrub(e.message)}); restore it from a backup.`);
  if (code === '42P01' || code === '42703')
    return make('store_invalid', `${Where} does not hold the tables this portalctl expects (${scrub(e.message)}); was the schema changed by hand?`);
  if (/^[0-9A-Z]{5}$/.test(code)) return make('store_error', `${Where} could not be used: ${scrub(e.message)} (SQLSTATE ${code}).`);
  if (phase === 'connect') return make('store_unavailable', sentence(`Cannot reach ${where}: ${scrub(e.message)}`));
  return err;
}
