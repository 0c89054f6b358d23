// Settings come from, in order: command-line flags, environment variables, the
// config file ($XDG_CONFIG_HOME/portalctl/config.json or PORTALCTL_CONFIG),
// built-in defaults. This module resolves each one (remembering where it came
// from, for `portalctl config`) and validates the groups a command needs —
// mail, store, login services, webhooks, serve — so that a command can check
// them all before its first write or prompt.

import { closeSync, constants, existsSync, fstatSync, openSync, readSync } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { quote } from '../text.js';
import { parseSender, parseHttpUrl, parseWholeNumber, type Sender } from '../domain/validate.js';
import { SERVICE_KEYS } from '../domain/services.js';
import { EVENT_TYPES } from '../store/types.js';
import { urlScheme } from '../store/open.js';
import { checkMailDir, parseSmtpUrl, type MailSettings } from '../mail/transport.js';

export type Source = 'flag' | 'env' | 'config' | 'default';

export interface Resolved<T> {
  value: T;
  source: Source;
  /** The flag, variable or file the value came from. */
  from: string;
}

export interface OidcServiceConfig {
  type: 'oidc';
  issuer: string;
  clientId: string;
  clientSecretFile: string;
  usernameClaim: string;
  scopes: string;
}

export interface HeaderServiceConfig {
  type: 'header';
  header: string;
  trustedProxies: string[];
}

export type ServiceConfig = OidcServiceConfig | HeaderServiceConfig;

export interface WebhookConfig {
  url: string;
  secretFile: string;
  types?: string[];
}

export interface ServeConfig {
  listen?: string;
  apiTokenFile?: string;
  publicUrl?: string;
}

/** What the config file may hold. */
export interface ConfigFile {
  db?: string;
  portal?: string;
  smtpUrl?: string;
  smtpPasswordFile?: string;
  mailFrom?: string;
  mailDir?: string;
  passwordFile?: string;
  services?: Record<string, ServiceConfig>;
  webhooks?: WebhookConfig[];
  serve?: ServeConfig;
}

const STRING_KEYS = ['db', 'portal', 'smtpUrl', 'smtpPasswordFile', 'mailFrom', 'mailDir', 'passwordFile'] as const;
const KEYS = [...STRING_KEYS, 'services', 'webhooks', 'serve'];
const MAX_CONFIG_BYTES = 1024 * 1024;
const MAX_SECRET_BYTES = 64 * 1024;

function home(env: NodeJS.ProcessEnv): string {
  return env.HOME || userInfo().homedir;
}

export function configPath(env: NodeJS.ProcessEnv): string {
  if (env.PORTALCTL_CONFIG) return env.PORTALCTL_CONFIG;
  return join(env.XDG_CONFIG_HOME || join(home(env), '.config'), 'portalctl', 'config.json');
}

export function defaultDataDir(env: NodeJS.ProcessEnv): string {
  return join(env.XDG_DATA_HOME || join(home(env), '.local', 'share'), 'portalctl');
}

/**
 * Reads a small regular file whole, refusing devices, FIFOs and folders, and
 * anything over `max` bytes — checked before reading, so /dev/zero or a huge
 * sparse file costs nothing.
 */
export function readSmallFile(path: string, max: number, what: string, code: string): { text: string; mode: number } | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    const c = (err as NodeJS.ErrnoException).code;
    if (c === 'ENOENT') return undefined;
    throw new UsageError(`Cannot read ${what} ${quote(path, 200)}: ${c ?? (err as Error).message}.`, code);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new UsageError(`${what} ${quote(path, 200)} is not a regular file.`, code);
    if (st.size > max) throw new UsageError(`${what} ${quote(path, 200)} is larger than ${Math.round(max / 1024)} KiB; is it the right file?`, code);
    const buf = Buffer.alloc(st.size);
    let off = 0;
    while (off < st.size) {
      const n = readSync(fd, buf, off, st.size - off, off);
      if (n === 0) break;
      off += n;
    }
    return { text: buf.subarray(0, off).toString('utf8'), mode: st.mode };
  } finally {
    closeSync(fd);
  }
}

/**
 * A secret file (client secret, API tokens, webhook secret, passwords): one
 * secret (or, for API tokens, one per line), trailing newline ignored; a file
 * that group or others may read is refused, and its content never printed.
 */
export function readSecretFile(path: string, what: string): string {
  const file = readSmallFile(path, MAX_SECRET_BYTES, what, 'invalid_secret_file');
  if (!file) throw new UsageError(`${what} ${quote(path, 200)} does not exist; check the path.`, 'invalid_secret_file');
  if ((file.mode & 0o077) !== 0) {
    throw new UsageError(
      `${what} ${quote(path, 200)} can be read by others (mode ${(file.mode & 0o777).toString(8)}); run \`chmod 600 ${path}\`.`,
      'invalid_secret_file',
    );
  }
  const secret = file.text.replace(/\r?\n$/, '');
  if (secret.trim() === '') throw new UsageError(`${what} ${quote(path, 200)} is empty.`, 'invalid_secret_file');
  return secret;
}

function fail(path: string, what: string): UsageError {
  return new UsageError(`The config file ${quote(path, 200)}: ${what}`, 'invalid_config');
}

function urlHasPassword(raw: string): boolean {
  try {
    // A PostgreSQL URL may carry it as ?password=… too.
    const url = new URL(raw);
    return url.password !== '' || url.searchParams.has('password');
  } catch {
    return false;
  }
}

function parseServices(path: string, v: unknown): Record<string, ServiceConfig> {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw fail(path, '"services" must be an object keyed by login service (nih, ims-employee, ims).');
  const out: Record<string, ServiceConfig> = {};
  for (const [key, raw] of Object.entries(v)) {
    if (!SERVICE_KEYS.includes(key)) throw fail(path, `unknown login service ${quote(key)} under "services"; use ${SERVICE_KEYS.join(', ')}.`);
    const s = raw as Record<string, unknown>;
    const where = `services.${key}`;
    const str = (k: string, required: boolean): string | undefined => {
      const x = s?.[k];
      if (x === undefined && !required) return undefined;
      if (typeof x !== 'string' || x.trim() === '') throw fail(path, `${where}.${k} must be a non-empty string.`);
      return x;
    };
    if (typeof s !== 'object' || s === null) throw fail(path, `${where} must be an object.`);
    if (s.type === 'oidc') {
      const known = ['type', 'issuer', 'clientId', 'clientSecretFile', 'usernameClaim', 'scopes'];
      for (const k of Object.keys(s)) if (!known.includes(k)) throw fail(path, `unknown setting ${where}.${k}; known: ${known.join(', ')}.`);
      out[key] = {
        type: 'oidc',
        issuer: parseHttpUrl(str('issuer', true)!, `${where}.issuer`),
        clientId: str('clientId', true)!,
        clientSecretFile: str('clientSecretFile', true)!,
        usernameClaim: str('usernameClaim', false) ?? 'preferred_username',
        scopes: str('scopes', false) ?? 'openid profile',
      };
    } else if (s.type === 'header') {
      const known = ['type', 'header', 'trustedProxies'];
      for (const k of Object.keys(s)) if (!known.includes(k)) throw fail(path, `unknown setting ${where}.${k}; known: ${known.join(', ')}.`);
      const header = str('header', true)!;
      if (!/^[A-Za-z0-9-]{1,64}$/.test(header)) throw fail(path, `${where}.header must be a header name such as X-Remote-User.`);
      const proxies = s.trustedProxies;
      if (!Array.isArray(proxies) || proxies.length === 0 || !proxies.every((p) => typeof p === 'string' && p.trim() !== '')) {
        throw fail(path, `${where}.trustedProxies must list the addresses of the proxies that set ${header}, e.g. ["127.0.0.1"].`);
      }
      out[key] = { type: 'header', header, trustedProxies: proxies as string[] };
    } else {
      throw fail(path, `${where}.type must be "oidc" or "header".`);
    }
  }
  return out;
}

function parseWebhooks(path: string, v: unknown): WebhookConfig[] {
  if (!Array.isArray(v)) throw fail(path, '"webhooks" must be a list of {"url", "secretFile", "types"}.');
  const seen = new Set<string>();
  return v.map((w, i) => {
    const where = `webhooks[${i}]`;
    if (typeof w !== 'object' || w === null) throw fail(path, `${where} must be an object.`);
    const o = w as Record<string, unknown>;
    for (const k of Object.keys(o))
      if (!['url', 'secretFile', 'types'].includes(k)) throw fail(path, `unknown setting ${where}.${k}; known: url, secretFile, types.`);
    if (typeof o.url !== 'string') throw fail(path, `${where}.url must be a string.`);
    if (typeof o.secretFile !== 'string' || o.secretFile === '') throw fail(path, `${where}.secretFile must name the file holding the signing secret.`);
    const url = parseHttpUrl(o.url, `${where}.url`);
    // The store keeps each webhook's queue by its URL: two entries for one URL would share it.
    if (seen.has(url)) throw fail(path, `${where}.url is listed twice; give each webhook one entry (with all its types).`);
    seen.add(url);
    let types: string[] | undefined;
    if (o.types !== undefined) {
      if (!Array.isArray(o.types) || o.types.length === 0 || !o.types.every((t) => typeof t === 'string' && (EVENT_TYPES as readonly string[]).includes(t))) {
        throw fail(path, `${where}.types must list event types (or be left out for all): ${EVENT_TYPES.join(', ')}.`);
      }
      types = o.types as string[];
    }
    return { url, secretFile: o.secretFile, types };
  });
}

function parseServe(path: string, v: unknown): ServeConfig {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw fail(path, '"serve" must be an object with listen, apiTokenFile, publicUrl.');
  const o = v as Record<string, unknown>;
  const out: ServeConfig = {};
  for (const [k, x] of Object.entries(o)) {
    if (!['listen', 'apiTokenFile', 'publicUrl'].includes(k)) throw fail(path, `unknown setting serve.${k}; known: listen, apiTokenFile, publicUrl.`);
    if (typeof x !== 'string' || x === '') throw fail(path, `serve.${k} must be a non-empty string.`);
    out[k as keyof ServeConfig] = x;
  }
  return out;
}

/** The config file, checked; its relative paths resolved against its folder, `~/` against `home`. */
export function readConfigFile(path: string, home: string): ConfigFile {
  const file = readSmallFile(path, MAX_CONFIG_BYTES, 'The config file', 'invalid_config');
  if (!file) return {};
  let doc: unknown;
  try {
    doc = JSON.parse(file.text);
  } catch (err) {
    // Where, not what: JSON.parse quotes the file around the mistake, and that may be part of a password.
    const at = /at position (\d+)/.exec((err as Error).message);
    let where = '';
    if (at) {
      const before = file.text.slice(0, Number(at[1])).split('\n');
      where = ` at line ${before.length}, column ${before.at(-1)!.length + 1}`;
    }
    throw fail(path, `is not valid JSON${where} (check the quotes around every value, the commas and the braces); fix or remove it.`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw fail(path, 'must hold a JSON object such as {"portal": "grants"}.');
  const out: ConfigFile = {};
  for (const [k, v] of Object.entries(doc)) {
    if (!KEYS.includes(k)) throw fail(path, `unknown setting ${quote(k)}; known settings: ${KEYS.join(', ')}.`);
    if ((STRING_KEYS as readonly string[]).includes(k)) {
      if (typeof v !== 'string') throw fail(path, `the setting ${k} must be a string.`);
      // An empty value is a mistake, not "unset" (a cron job's store must not fall back to another).
      if (v.trim() === '') throw fail(path, `the setting ${k} is empty; give it a value or leave it out.`);
      out[k as (typeof STRING_KEYS)[number]] = v;
    } else if (k === 'services') out.services = parseServices(path, v);
    else if (k === 'webhooks') out.webhooks = parseWebhooks(path, v);
    else out.serve = parseServe(path, v);
  }
  // A password in a file others can read is no secret.
  const secretUrls = [out.smtpUrl, out.db].filter((u): u is string => typeof u === 'string' && urlHasPassword(u));
  if (secretUrls.length > 0 && (file.mode & 0o077) !== 0) {
    throw fail(path, `holds a password but can be read by others; run \`chmod 600 ${path}\`, or use smtpPasswordFile / passwordFile.`);
  }
  // Relative paths in the config file are relative to the file, not to wherever portalctl runs. A URL
  // (scheme://…) is no path: a store URL of a kind portalctl cannot use is then refused as such.
  const base = dirname(resolve(path));
  // JSON has no shell to expand `~/`: the file does it, as git's and ssh's do.
  const rel = (p: string | undefined) =>
    p === undefined || isAbsolute(p) || urlScheme(p) !== undefined ? p : p === '~' || p.startsWith('~/') ? join(home, p.slice(1)) : resolve(base, p);
  /** A setting that names a file or folder: a URL there is a mistake, not a relative path. */
  const filePath = (p: string | undefined, name: string) => {
    if (p !== undefined && urlScheme(p) !== undefined) throw fail(path, `the setting ${name} must be a file path, not a URL.`);
    return rel(p);
  };
  out.db = rel(out.db);
  out.smtpPasswordFile = filePath(out.smtpPasswordFile, 'smtpPasswordFile');
  out.mailDir = filePath(out.mailDir, 'mailDir');
  out.passwordFile = filePath(out.passwordFile, 'passwordFile');
  for (const [key, s] of Object.entries(out.services ?? {}))
    if (s.type === 'oidc') s.clientSecretFile = filePath(s.clientSecretFile, `services.${key}.clientSecretFile`)!;
  (out.webhooks ?? []).forEach((w, i) => (w.secretFile = filePath(w.secretFile, `webhooks[${i}].secretFile`)!));
  if (out.serve?.apiTokenFile) out.serve.apiTokenFile = filePath(out.serve.apiTokenFile, 'serve.apiTokenFile');
  return out;
}

export function pick<T>(candidates: [T | undefined, Source, string][], fallback: Resolved<T>): Resolved<T> {
  for (const [value, source, from] of candidates) {
    if (value !== undefined && value !== '') return { value, source, from };
  }
  return fallback;
}

/** The flags that take part in settings. */
export interface SettingFlags {
  db?: string;
  portal?: string;
}

/** Every setting with where its value came from, and the checked groups built from them. */
export class Settings {
  readonly configFile: string;
  readonly file: ConfigFile;
  readonly db: Resolved<string>;
  readonly portal: Resolved<string | undefined>;
  readonly smtpUrl: Resolved<string | undefined>;
  readonly smtpPasswordFile: Resolved<string | undefined>;
  readonly mailFrom: Resolved<string | undefined>;
  readonly mailDir: Resolved<string>;
  /** PORTALCTL_BUSY_TIMEOUT_MS: how long to wait for another process's write lock on a SQLite store (undefined: the store's default, 5 s). */
  readonly busyTimeoutMs: number | undefined;
  /** PORTALCTL_SMTP_TIMEOUT_MS: how long to wait for the relay to connect, greet or answer (undefined: 15 s to connect and greet, 60 s per reply). */
  readonly smtpTimeoutMs: number | undefined;
  private mail?: MailSettings;

  constructor(flags: SettingFlags, env: NodeJS.ProcessEnv) {
    const path = configPath(env);
    this.configFile = path;
    const file = (this.file = readConfigFile(path, home(env)));
    // A config file named on purpose that is not there is a mistake (a cron job's settings, its store among
    // them, would silently become the defaults); the default one is optional.
    if (env.PORTALCTL_CONFIG && !existsSync(path)) {
      throw new UsageError(
        `PORTALCTL_CONFIG names the config file ${quote(path, 200)}, which does not exist; check the path, or unset PORTALCTL_CONFIG to use the default one.`,
        'invalid_config',
      );
    }
    const none = { value: undefined, source: 'default' as const, from: '' };
    this.db = pick<string>(
      [
        [flags.db, 'flag', '--db'],
        [env.PORTALCTL_DB, 'env', 'PORTALCTL_DB'],
        [file.db, 'config', path],
      ],
      { value: join(defaultDataDir(env), 'portalctl.db'), source: 'default', from: '$XDG_DATA_HOME/portalctl/portalctl.db' },
    );
    this.portal = pick<string | undefined>(
      [
        [flags.portal, 'flag', '--portal'],
        [env.PORTALCTL_PORTAL, 'env', 'PORTALCTL_PORTAL'],
        [file.portal, 'config', path],
      ],
      none,
    );
    this.smtpUrl = pick<string | undefined>(
      [
        [env.PORTALCTL_SMTP_URL, 'env', 'PORTALCTL_SMTP_URL'],
        [file.smtpUrl, 'config', path],
      ],
      none,
    );
    this.smtpPasswordFile = pick<string | undefined>(
      [
        [env.PORTALCTL_SMTP_PASSWORD_FILE, 'env', 'PORTALCTL_SMTP_PASSWORD_FILE'],
        [file.smtpPasswordFile, 'config', path],
      ],
      none,
    );
    this.mailFrom = pick<string | undefined>(
      [
        [env.PORTALCTL_MAIL_FROM, 'env', 'PORTALCTL_MAIL_FROM'],
        [file.mailFrom, 'config', path],
      ],
      none,
    );
    const busy = env.PORTALCTL_BUSY_TIMEOUT_MS;
    this.busyTimeoutMs = busy === undefined || busy === '' ? undefined : parseWholeNumber(busy, 'PORTALCTL_BUSY_TIMEOUT_MS (milliseconds)', 0, 600_000);
    const smtpTimeout = env.PORTALCTL_SMTP_TIMEOUT_MS;
    this.smtpTimeoutMs =
      smtpTimeout === undefined || smtpTimeout === '' ? undefined : parseWholeNumber(smtpTimeout, 'PORTALCTL_SMTP_TIMEOUT_MS (milliseconds)', 1, 600_000);
    // A store named by a URL has no folder to be beside (and the URL may hold a password): the data folder.
    const url = urlScheme(this.db.value) !== undefined;
    this.mailDir = pick<string>([[file.mailDir, 'config', path]], {
      value: url ? join(defaultDataDir(env), 'mail') : join(dirname(this.db.value), 'mail'),
      source: 'default',
      from: url ? '$XDG_DATA_HOME/portalctl/mail' : 'beside the store',
    });
  }

  /** The store was named (flag, environment, config file) rather than defaulted. */
  get storeExplicit(): boolean {
    return this.db.source !== 'default';
  }

  /** The mail settings, every one validated: a bad sender, URL or password file is a usage error before anything is recorded. */
  mailSettings(): MailSettings {
    if (this.mail) return this.mail;
    const from = this.mailFrom.value;
    const sender: Sender | undefined = from ? parseSender(from, `sender address (${this.mailFrom.from})`) : undefined;
    let smtp;
    if (this.smtpUrl.value) {
      const what = this.smtpUrl.source === 'env' ? 'PORTALCTL_SMTP_URL' : `smtpUrl in ${this.configFile}`;
      const password = this.smtpPasswordFile.value
        ? readSecretFile(this.smtpPasswordFile.value, `The SMTP password file (${this.smtpPasswordFile.from})`)
        : undefined;
      smtp = { ...parseSmtpUrl(this.smtpUrl.value, what, password), timeoutMs: this.smtpTimeoutMs };
    } else {
      // The .eml files will hold live links: a folder others can write to (or swap) is refused now, not after the invitations are recorded.
      checkMailDir(this.mailDir.value, false);
    }
    this.mail = { smtp, sender, mailDir: this.mailDir.value };
    return this.mail;
  }

  /** The PostgreSQL password from the config file's passwordFile, if one is named. */
  postgresPassword(): string | undefined {
    return this.file.passwordFile ? readSecretFile(this.file.passwordFile, `The PostgreSQL password file (${this.configFile})`) : undefined;
  }
}
