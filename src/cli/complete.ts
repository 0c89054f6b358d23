// `portalctl __complete portals|users [--db PATH] [--portal SLUG] -- PREFIX`:
// the values shell completion offers for --portal and for USER arguments,
// one "value<TAB>description" a line. Called on TAB, so it must be quick and
// harmless: bin/portalctl loads only this module; it opens the SQLite store
// read-only, changes nothing (no migration, no file created), asks a
// PostgreSQL store nothing (no network on TAB), and prints nothing at all
// when anything is amiss.

import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { anyOf, CONTROL, LINE_SEPARATOR } from '../text.js';

/**
 * The store and the portal as Settings resolves them (flag, environment,
 * config file, default) — read here without Settings and its validation,
 * which a TAB should not pay for.
 */
function where(flags: { db?: string; portal?: string }, env: NodeJS.ProcessEnv): { db: string; portal?: string } {
  const home = env.HOME || homedir();
  const configFile = env.PORTALCTL_CONFIG || join(env.XDG_CONFIG_HOME || join(home, '.config'), 'portalctl', 'config.json');
  let file: { db?: unknown; portal?: unknown } = {};
  try {
    file = JSON.parse(readFileSync(configFile, 'utf8')) as typeof file;
  } catch {
    // no config file (or a broken one: the next real command says so)
  }
  const fileDb = typeof file.db === 'string' && file.db !== '' ? (isAbsolute(file.db) ? file.db : resolve(dirname(configFile), file.db)) : undefined;
  const filePortal = typeof file.portal === 'string' && file.portal !== '' ? file.portal : undefined;
  return {
    db: flags.db || env.PORTALCTL_DB || fileDb || join(env.XDG_DATA_HOME || join(home, '.local', 'share'), 'portalctl', 'portalctl.db'),
    portal: flags.portal || env.PORTALCTL_PORTAL || filePortal,
  };
}

const LINE_BREAKING = anyOf('g', CONTROL, LINE_SEPARATOR);

/** One line per candidate; tabs and line breaks in a description (untrusted names) become spaces. */
const line = (value: string, description: string) => `${value}\t${description.replace(LINE_BREAKING, ' ')}\n`;

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  try {
    const [kind, ...rest] = argv;
    const flag = (name: string) => {
      const i = rest.indexOf(name);
      const end = rest.includes('--') ? rest.indexOf('--') : rest.length;
      return i >= 0 && i < end ? rest[i + 1] : undefined;
    };
    const prefix = rest.includes('--') ? (rest[rest.indexOf('--') + 1] ?? '') : '';
    const settings = where({ db: flag('--db'), portal: flag('--portal') }, env);
    const path = settings.db;
    if (/^postgres(?:ql)?:\/\//i.test(path) || (kind !== 'portals' && kind !== 'users')) return 0;
    const { completionCandidates } = await import('../store/sqlite/candidates.js');
    const found = await completionCandidates(path, kind, settings.portal, prefix);
    out.write(found.map((c) => line(c.value, c.description)).join(''));
  } catch {
    // Completion never complains: a broken config file or store shows up when a real command runs.
  }
  return 0;
}
