// Settings come from, in order: command-line flags, environment variables, the
// config file ($XDG_CONFIG_HOME/portalctl/config.json), built-in defaults.
// `portalctl config` shows the effective value of each and where it came from.

import { readFileSync, statSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { UsageError } from './errors.js';

export type Source = 'flag' | 'env' | 'config' | 'default';

export interface Resolved<T> {
  value: T;
  source: Source;
  /** The flag, variable or file the value came from. */
  from: string;
}

/** What the config file may hold. */
export interface ConfigFile {
  db?: string;
  portal?: string;
  smtpUrl?: string;
  smtpPasswordFile?: string;
  mailFrom?: string;
}

const KEYS: (keyof ConfigFile)[] = ['db', 'portal', 'smtpUrl', 'smtpPasswordFile', 'mailFrom'];

function home(env: NodeJS.ProcessEnv): string {
  return env.HOME || userInfo().homedir;
}

export function configPath(env: NodeJS.ProcessEnv): string {
  if (env.PORTALCTL_CONFIG) return env.PORTALCTL_CONFIG;
  return join(env.XDG_CONFIG_HOME || join(home(env), '.config'), 'portalctl', 'config.json');
}

export function defaultDbPath(env: NodeJS.ProcessEnv): string {
  return join(env.XDG_DATA_HOME || join(home(env), '.local', 'share'), 'portalctl', 'portalctl.db');
}

export function readConfigFile(path: string): ConfigFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new UsageError(`Cannot read the config file ${path}: ${(err as Error).message}.`, 'invalid_config');
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`The config file ${path} is not valid JSON (${(err as Error).message}); fix or remove it.`, 'invalid_config');
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new UsageError(`The config file ${path} must hold a JSON object such as {"portal": "grants"}.`, 'invalid_config');
  }
  const out: ConfigFile = {};
  for (const [k, v] of Object.entries(doc)) {
    if (!(KEYS as string[]).includes(k)) {
      throw new UsageError(`Unknown setting ${JSON.stringify(k)} in ${path}; known settings: ${KEYS.join(', ')}.`, 'invalid_config');
    }
    if (typeof v !== 'string') throw new UsageError(`The setting ${k} in ${path} must be a string.`, 'invalid_config');
    out[k as keyof ConfigFile] = v;
  }
  if (out.smtpUrl && /^smtps?:\/\/[^/@]*:[^/@]+@/.test(out.smtpUrl)) {
    const mode = statSync(path).mode;
    if ((mode & 0o077) !== 0) {
      throw new UsageError(`The config file ${path} holds an SMTP password but is readable by others; run \`chmod 600 ${path}\` or use smtpPasswordFile.`, 'invalid_config');
    }
  }
  return out;
}

export function pick<T>(candidates: [T | undefined, Source, string][], fallback: Resolved<T>): Resolved<T> {
  for (const [value, source, from] of candidates) {
    if (value !== undefined && value !== '') return { value, source, from };
  }
  return fallback;
}
