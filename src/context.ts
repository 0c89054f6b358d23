// The Context is built once per run and handed to every command: streams and
// what they are (terminal or not, colour or not), the clock, global options,
// and lazily opened dependencies (store, mailer, prompts). Tests build their
// own with other streams, environment and clock.

import { userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { configPath, defaultDbPath, pick, readConfigFile, type ConfigFile, type Resolved } from './config.js';
import type { Readable, Writable } from 'node:stream';
import { UsageError } from './errors.js';
import { clockFromEnv, type Clock } from './domain/time.js';
import { Store, type PortalRow } from './store/store.js';
import type { Mailer, MailSettings } from './mail/transport.js';
import { parseEmail, parseSlug } from './domain/validate.js';
import { neutralize } from './output/sanitize.js';

export interface GlobalOptions {
  db?: string;
  portal?: string;
  json: boolean;
  color: boolean;
  quiet: boolean;
  yes: boolean;
  actor?: string;
  debug: boolean;
}

export interface IO {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
  stdinIsTTY: boolean;
  stdoutIsTTY: boolean;
  /** Width of the terminal stdout is on, if it is one: tables are fitted to it. */
  columns?: number;
  stderrIsTTY: boolean;
}

export interface Context {
  io: IO;
  env: NodeJS.ProcessEnv;
  options: GlobalOptions;
  now: Clock;
  /** Prompts are allowed only when both stdin and stdout are terminals. */
  canPrompt(): boolean;
  /** Progress (spinners, counters) only on a terminal stderr, and not with --json or --quiet. */
  showProgress(): boolean;
  dbPath(): string;
  /** Every setting with where its value came from (flag > env > config file > default). */
  settings(): Settings;
  store(): Store;
  actorName(): string;
  mailSettings(): MailSettings;
  mailer(opts?: { pool?: boolean }): Promise<Mailer>;
  /** --portal, PORTALCTL_PORTAL, the config file, or the only portal in the store. */
  portal(): PortalRow;
  /** For commands that cover every portal (prune, outbox, audit): the portal named by --portal, if any. */
  portalFlag(): PortalRow | undefined;
  close(): void;
}

export interface Settings {
  configFile: string;
  db: Resolved<string>;
  portal: Resolved<string | undefined>;
  smtpUrl: Resolved<string | undefined>;
  smtpPasswordFile: Resolved<string | undefined>;
  mailFrom: Resolved<string | undefined>;
}

export function colorLevel(env: NodeJS.ProcessEnv, isTTY: boolean, flag: boolean): 0 | 1 | 2 | 3 {
  if (!flag) return 0;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return 0;
  const force = env.FORCE_COLOR;
  if (force !== undefined) {
    if (force === '0' || force === 'false') return 0;
    if (force === '2') return 2;
    if (force === '3') return 3;
    return 1;
  }
  if (!isTTY || env.TERM === 'dumb') return 0;
  return 1;
}

export function createContext(io: IO, env: NodeJS.ProcessEnv): Context {
  let store: Store | undefined;
  let mailer: Mailer | undefined;
  let clock: Clock | undefined;
  let settings: Settings | undefined;
  let file: ConfigFile | undefined;
  const ctx: Context = {
    io,
    env,
    options: { json: false, color: true, quiet: false, yes: false, debug: false },
    now: () => {
      clock ??= clockFromEnv(env);
      return clock();
    },
    canPrompt: () => io.stdinIsTTY && io.stdoutIsTTY,
    showProgress: () => io.stderrIsTTY && !ctx.options.json && !ctx.options.quiet,
    dbPath: () => ctx.settings().db.value,
    settings: () => {
      if (settings) return settings;
      const path = configPath(env);
      file ??= readConfigFile(path);
      const none = { value: undefined, source: 'default' as const, from: '' };
      settings = {
        configFile: path,
        db: pick<string>(
          [
            [ctx.options.db, 'flag', '--db'],
            [env.PORTALCTL_DB, 'env', 'PORTALCTL_DB'],
            [file.db, 'config', path],
          ],
          { value: defaultDbPath(env), source: 'default', from: '$XDG_DATA_HOME/portalctl/portalctl.db' },
        ),
        portal: pick<string | undefined>(
          [
            [ctx.options.portal, 'flag', '--portal'],
            [env.PORTALCTL_PORTAL, 'env', 'PORTALCTL_PORTAL'],
            [file.portal, 'config', path],
          ],
          none,
        ),
        smtpUrl: pick<string | undefined>([[env.PORTALCTL_SMTP_URL, 'env', 'PORTALCTL_SMTP_URL'], [file.smtpUrl, 'config', path]], none),
        smtpPasswordFile: pick<string | undefined>([[env.PORTALCTL_SMTP_PASSWORD_FILE, 'env', 'PORTALCTL_SMTP_PASSWORD_FILE'], [file.smtpPasswordFile, 'config', path]], none),
        mailFrom: pick<string | undefined>([[env.PORTALCTL_MAIL_FROM, 'env', 'PORTALCTL_MAIL_FROM'], [file.mailFrom, 'config', path]], none),
      };
      return settings;
    },
    store: () => {
      store ??= Store.open(ctx.dbPath());
      return store;
    },
    actorName: () => {
      if (ctx.options.actor !== undefined) return ctx.options.actor;
      try {
        return userInfo().username;
      } catch {
        return env.USER || env.LOGNAME || 'unknown';
      }
    },
    mailSettings: () => {
      const st = ctx.settings();
      const fromRaw = st.mailFrom.value;
      const from = fromRaw ? parseEmail(fromRaw, `sender address (${st.mailFrom.from})`) : undefined;
      return {
        smtpUrl: st.smtpUrl.value,
        smtpPasswordFile: st.smtpPasswordFile.value,
        from,
        mailDir: join(dirname(ctx.dbPath()), 'mail'),
      };
    },
    mailer: async (opts) => {
      if (!mailer) {
        const { createMailer } = await import('./mail/transport.js');
        mailer = await createMailer(ctx.mailSettings(), opts);
      }
      return mailer;
    },
    portal: () => {
      const slugRaw = ctx.settings().portal.value;
      const s = ctx.store();
      if (slugRaw) {
        const slug = parseSlug(slugRaw);
        const p = s.portalBySlug(slug);
        if (!p) {
          const known = s.portals().map((x) => x.slug);
          throw new UsageError(
            `Unknown portal ${JSON.stringify(neutralize(slugRaw))}; ${known.length ? `known portals: ${known.join(', ')}` : 'create one with `portalctl portals add`'}.`,
            'unknown_portal',
          );
        }
        return p;
      }
      const all = s.portals();
      if (all.length === 1) return all[0]!;
      if (all.length === 0) {
        throw new UsageError('There is no portal yet; create one with `portalctl portals add SLUG --name N --url URL --admin-email A`.', 'no_portal');
      }
      throw new UsageError(`The store holds several portals (${all.map((p) => p.slug).join(', ')}); choose one with --portal SLUG.`, 'portal_required');
    },
    portalFlag: () => (ctx.options.portal !== undefined ? ctx.portal() : undefined),
    close: () => {
      mailer?.close();
      store?.close();
    },
  };
  return ctx;
}

