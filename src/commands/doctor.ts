// `portalctl doctor`: is this installation ready to send registration emails?
// Checks the store, mail delivery, the portals and the mail queue, prints one
// line per check (or one JSON document) and exits 1 if any check failed.
//
// Doctor changes nothing in an existing store: it opens it without migrating
// it or resetting its mode, so what it reports is what is on disk. Only a
// missing store is created (as any other command would), and doctor says where.

import type { Command } from 'commander';
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type Database from 'better-sqlite3';
import type { Context } from '../context.js';
import { PortalctlError, RefusedError } from '../errors.js';
import { parseEmail } from '../domain/validate.js';
import { BUSY_TIMEOUT_MS, latestSchemaVersion, type DB } from '../store/db.js';
import { Store } from '../store/store.js';
import type { MailSettings } from '../mail/transport.js';
import { chalkFor, printJson, say } from '../output/output.js';
import { neutralize } from '../output/sanitize.js';

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface Check {
  name: string;
  status: CheckStatus;
  detail: string;
}

const ok = (name: string, detail: string): Check => ({ name, status: 'ok', detail });
const warning = (name: string, detail: string): Check => ({ name, status: 'warn', detail });
const fail = (name: string, detail: string): Check => ({ name, status: 'fail', detail });

const message = (err: unknown) => (err instanceof Error ? err.message : String(err)).replace(/\s+/g, ' ').trim();
const octal = (mode: number) => (mode & 0o777).toString(8).padStart(4, '0');

/** The modes of those of the files that exist. */
function fileModes(files: string[]): { file: string; mode: number }[] {
  const out: { file: string; mode: number }[] = [];
  for (const file of files) {
    try {
      out.push({ file, mode: statSync(file).mode });
    } catch {
      // not there: nothing to check
    }
  }
  return out;
}

interface OpenedStore {
  store?: Store;
  /** A connection doctor opened itself (an existing store) and must close. */
  own?: DB;
}

/** Store checks; returns the store for the later checks when it could be opened. */
function checkStore(ctx: Context, checks: Check[]): OpenedStore {
  const path = ctx.dbPath();
  const existed = existsSync(path);
  // Modes are read before opening, which may create the -wal and -shm files.
  const modes = existed ? fileModes([path, `${path}-wal`, `${path}-shm`]) : [];
  let opened: OpenedStore;
  if (!existed) {
    try {
      opened = { store: ctx.store() };
    } catch (err) {
      checks.push(fail('store', `${path} does not exist and cannot be created: ${message(err)}`));
      return {};
    }
    checks.push(ok('store', `${path} (did not exist; created it now, empty)`));
  } else {
    let db: DB | undefined;
    try {
      const BetterSqlite3 = createRequire(import.meta.url)('better-sqlite3') as typeof Database;
      db = new BetterSqlite3(path, { fileMustExist: true, timeout: BUSY_TIMEOUT_MS });
      opened = { own: db, store: new Store(db, path) };
      // Read-write but nothing is written: unlike a read-only connection, closing
      // it removes the -wal and -shm files it made. No migration, no chmod.
      // Reading the schema makes SQLite look at the file: a non-database fails here.
      db.pragma('schema_version', { simple: true });
    } catch (err) {
      if (db?.open) db.close();
      const hint = (err as { code?: string }).code === 'SQLITE_NOTADB' ? ' It is not a SQLite database; check --db / PORTALCTL_DB.' : '';
      checks.push(fail('store', `${path} cannot be opened: ${message(err)}.${hint}`));
      return {};
    }
    checks.push(ok('store', `${path} (exists, ${statSync(path).size} bytes)`));
  }
  // The store holds names, addresses and who linked which account: owner only.
  const wide = modes.filter((m) => (m.mode & 0o077) !== 0);
  if (wide.length === 0) {
    const mode = existed ? (modes[0]?.mode ?? 0o600) : statSync(path).mode;
    checks.push(ok('store permissions', `mode ${octal(mode)} (readable by its owner only)`));
  } else {
    const list = wide.map((m) => `${m.file} has mode ${octal(m.mode)}`).join(', ');
    checks.push(warning('store permissions', `${list}: other users can read names and addresses; run \`chmod 600 ${wide.map((m) => m.file).join(' ')}\``));
  }

  const db = opened.store!.db;
  const latest = latestSchemaVersion();
  try {
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version === latest) checks.push(ok('store schema', `version ${version} (current)`));
    else if (version > latest) {
      checks.push(fail('store schema', `version ${version} is newer than this portalctl knows (${latest}); upgrade portalctl before using this store`));
    } else {
      checks.push(warning('store schema', `version ${version}, this portalctl uses ${latest}; the next portalctl command that opens the store upgrades it`));
    }
  } catch (err) {
    checks.push(fail('store schema', `cannot be read: ${message(err)}`));
  }
  try {
    const rows = db.pragma('integrity_check') as { integrity_check: string }[];
    const problems = rows.map((r) => r.integrity_check).filter((r) => r !== 'ok');
    if (problems.length === 0) checks.push(ok('store integrity', 'ok'));
    else {
      checks.push(fail('store integrity', `${problems.length} problem${problems.length === 1 ? '' : 's'} (${problems.slice(0, 3).join('; ')}${problems.length > 3 ? '; …' : ''}); restore the store from a backup`));
    }
  } catch (err) {
    checks.push(fail('store integrity', `the check could not run: ${message(err)}`));
  }
  try {
    const mode = String(db.pragma('journal_mode', { simple: true }));
    if (mode.toLowerCase() === 'wal') checks.push(ok('store journal', 'WAL (commands and the nightly prune can share the store)'));
    else checks.push(warning('store journal', `${mode}, not WAL; the next portalctl command that opens the store switches it to WAL`));
  } catch (err) {
    checks.push(fail('store journal', `cannot be read: ${message(err)}`));
  }
  return opened;
}

/** The mail settings without failing on a bad PORTALCTL_MAIL_FROM (that is its own check). */
function mailSettings(ctx: Context): MailSettings {
  try {
    return ctx.mailSettings();
  } catch {
    return {
      smtpUrl: ctx.env.PORTALCTL_SMTP_URL || undefined,
      smtpPasswordFile: ctx.env.PORTALCTL_SMTP_PASSWORD_FILE || undefined,
      mailDir: join(dirname(ctx.dbPath()), 'mail'),
    };
  }
}

/** The nearest folder that exists at or above dir. */
function nearestExisting(dir: string): string {
  let d = dir;
  while (!existsSync(d) && dirname(d) !== d) d = dirname(d);
  return d;
}

/** What to do about an SMTP failure, judged from the server's or the system's words. */
function smtpHint(reason: string): string {
  if (/ECONNREFUSED|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|timeout/i.test(reason)) {
    return '; check the host and port in PORTALCTL_SMTP_URL and that the mail server is running';
  }
  if (/certificate|self[- ]signed|SSL|TLS|wrong version number/i.test(reason)) {
    return '; the TLS handshake failed: use smtps:// only for a port that speaks TLS from the start (usually 465), smtp:// otherwise';
  }
  if (/EAUTH|auth|535|534|credentials|password|login/i.test(reason)) {
    return '; check the user name and password in PORTALCTL_SMTP_URL (or PORTALCTL_SMTP_PASSWORD_FILE)';
  }
  return '';
}

async function checkMail(ctx: Context, checks: Check[]): Promise<void> {
  const { maskSecret, parseSmtpUrl } = await import('../mail/transport.js');
  const settings = mailSettings(ctx);
  if (settings.smtpUrl) {
    let secret: string | undefined;
    let display: string | undefined;
    try {
      const smtp = parseSmtpUrl(settings.smtpUrl, settings.smtpPasswordFile);
      secret = smtp.password;
      display = smtp.display;
      const { createMailer } = await import('../mail/transport.js');
      const mailer = await createMailer(settings);
      try {
        await mailer.verify();
      } finally {
        mailer.close();
      }
      const login = smtp.url.username ? `login accepted as ${decodeURIComponent(smtp.url.username)}` : 'no login configured';
      const tls = smtp.url.protocol === 'smtps:' ? 'TLS certificate accepted' : 'TLS only if the server offers STARTTLS';
      checks.push(ok('mail', `${display}: reachable, ${login}, ${tls}`));
    } catch (err) {
      // Never show the password, whatever the error quotes.
      const reason = maskSecret(maskSecret(message(err), secret), settings.smtpUrl);
      // Before the URL is parsed there is nothing safe to show of it; the reason names PORTALCTL_SMTP_URL.
      checks.push(fail('mail', display ? `${display}: ${reason}${smtpHint(reason)}` : reason));
    }
  } else {
    const dir = settings.mailDir;
    try {
      if (existsSync(dir)) {
        if (!statSync(dir).isDirectory()) throw new Error(`${dir} exists but is not a folder`);
        accessSync(dir, constants.W_OK);
        checks.push(ok('mail', `PORTALCTL_SMTP_URL is not set: emails are written as .eml files to ${dir}`));
      } else {
        const parent = nearestExisting(dirname(dir));
        if (!statSync(parent).isDirectory()) throw new Error(`${parent} is not a folder`);
        accessSync(parent, constants.W_OK);
        checks.push(ok('mail', `PORTALCTL_SMTP_URL is not set: emails are written as .eml files to ${dir} (created with the first email)`));
      }
    } catch (err) {
      checks.push(fail('mail', `PORTALCTL_SMTP_URL is not set and the mail folder ${dir} cannot be written: ${message(err)}; set PORTALCTL_SMTP_URL or fix the folder`));
    }
  }
  const from = ctx.env.PORTALCTL_MAIL_FROM;
  if (from) {
    try {
      checks.push(ok('mail from', `emails come from ${parseEmail(from, 'PORTALCTL_MAIL_FROM address')}`));
    } catch (err) {
      checks.push(fail('mail from', message(err)));
    }
  }
}

function checkPortals(ctx: Context, store: Store, checks: Check[]): void {
  const portals = store.portals();
  if (portals.length === 0) {
    checks.push(warning('portals', 'there is no portal yet; create one with `portalctl portals add SLUG --name N --url URL --admin-email A --register-url U`'));
    return;
  }
  // --portal, PORTALCTL_PORTAL or the config file, as every other command resolves it.
  const setting = ctx.settings().portal;
  const chosen = setting.value;
  const slugs = portals.map((p) => p.slug).join(', ');
  if (chosen && !portals.some((p) => p.slug === chosen)) {
    const source = setting.source === 'config' ? `the config file ${setting.from}` : setting.from;
    checks.push(fail('portals', `${source} names ${JSON.stringify(chosen)}, which is not a portal here; known portals: ${slugs}`));
  } else {
    const dflt = chosen ? `; default ${chosen}` : portals.length === 1 ? '' : '; commands need --portal SLUG or PORTALCTL_PORTAL';
    checks.push(ok('portals', `${portals.length} portal${portals.length === 1 ? '' : 's'}: ${slugs}${dflt}`));
  }
  for (const p of portals) {
    const problems: string[] = [];
    const facts: string[] = [];
    let bad = false;
    let baseUrl: URL | undefined;
    try {
      baseUrl = new URL(p.base_url);
    } catch {
      bad = true;
      problems.push(`the base URL ${JSON.stringify(p.base_url)} is not a URL; Step 2 links cannot work (\`portalctl portals set ${p.slug} --url https://…\`)`);
    }
    if (baseUrl && baseUrl.protocol !== 'https:') {
      problems.push(`the base URL ${p.base_url} is not https, so Step 2 links travel unencrypted (\`portalctl portals set ${p.slug} --url https://…\`)`);
    } else if (baseUrl) facts.push(p.base_url);
    try {
      facts.push(`Site Administrator ${parseEmail(p.admin_email ?? '')}`);
    } catch {
      bad = true;
      problems.push(`no valid Site Administrator address (\`portalctl portals set ${p.slug} --admin-email ADDRESS\`)`);
    }
    if (!p.register_url) {
      bad = true;
      problems.push(`no registration form URL for Step 1 (\`portalctl portals set ${p.slug} --register-url URL\`)`);
    } else if (!/^https:\/\//i.test(p.register_url)) {
      problems.push(`the Step 1 registration form ${p.register_url} is not https (\`portalctl portals set ${p.slug} --register-url URL\`)`);
    } else facts.push(`Step 1 form ${p.register_url}`);
    const name = `portal ${p.slug}`;
    if (problems.length === 0) checks.push(ok(name, facts.join(', ')));
    else checks.push((bad ? fail : warning)(name, problems.join('; ')));
  }
}

async function checkQueue(ctx: Context, store: Store, checks: Check[]): Promise<void> {
  const { pendingMessages } = await import('../mail/outbox.js');
  const rows = pendingMessages(store);
  const queued = rows.filter((r) => r.state === 'queued').length;
  const failed = rows.filter((r) => r.state === 'failed').length;
  if (queued === 0 && failed === 0) {
    checks.push(ok('queue', 'every registration email has been delivered'));
    return;
  }
  const parts: string[] = [];
  if (queued > 0) parts.push(`${queued} email${queued === 1 ? '' : 's'} queued for a retry; run \`portalctl outbox send\``);
  if (failed > 0) {
    parts.push(
      `${failed} email${failed === 1 ? '' : 's'} refused by the mail server; see \`portalctl outbox list\` and send new registrations with \`portalctl users resend-registration\``,
    );
  }
  checks.push(warning('queue', parts.join('; ')));
}

export async function runChecks(ctx: Context): Promise<Check[]> {
  const checks: Check[] = [];
  const opened = checkStore(ctx, checks);
  try {
    await checkMail(ctx, checks);
    if (!opened.store) {
      checks.push(warning('portals', 'not checked: the store could not be opened'));
      checks.push(warning('queue', 'not checked: the store could not be opened'));
    } else {
      for (const [name, fn] of [
        ['portals', checkPortals],
        ['queue', checkQueue],
      ] as const) {
        try {
          await fn(ctx, opened.store, checks);
        } catch (err) {
          const why = err instanceof PortalctlError ? err.message : message(err);
          checks.push(fail(name, `cannot be read from the store: ${why}`));
        }
      }
    }
  } finally {
    if (opened.own?.open) opened.own.close();
  }
  return checks;
}

export async function doctorRun(ctx: Context): Promise<void> {
  const checks = await runChecks(ctx);
  const failed = checks.filter((c) => c.status === 'fail');
  const warned = checks.filter((c) => c.status === 'warn');
  if (ctx.options.json) {
    printJson(ctx, { checks, ok: failed.length === 0 });
  } else {
    const c = chalkFor(ctx);
    const paint = { ok: c.green, warn: c.yellow, fail: c.red } as const;
    const lines = checks
      .filter((k) => !ctx.options.quiet || k.status !== 'ok')
      .map((k) => `${paint[k.status](k.status)}  ${c.bold(neutralize(k.name))}: ${neutralize(k.detail)}\n`);
    ctx.io.stdout.write(lines.join(''));
    if (failed.length === 0) {
      say(ctx, warned.length === 0 ? 'Everything looks fine.' : `No check failed; ${warned.length} warning${warned.length === 1 ? '' : 's'} to look at.`);
    }
  }
  if (failed.length > 0) {
    throw new RefusedError(
      'doctor_failed',
      `${failed.length} check${failed.length === 1 ? '' : 's'} failed: ${failed.map((f) => f.name).join(', ')}.`,
      { failed: failed.map((f) => f.name) },
    );
  }
}

export function register(parent: Command, ctx: Context): void {
  parent
    .command('doctor')
    .summary('check the store, mail delivery, portals and mail queue')
    .description(
      'Check that portalctl is ready to work: the store (where it is, its permissions, schema and integrity), mail delivery (the SMTP server is reachable and accepts the login, or the .eml folder is writable), the portals and the mail queue. Prints one line per check: ok, warn or fail. Exits 1 if any check fails.',
    )
    .addHelpText('after', '\nExamples:\n  portalctl doctor\n  portalctl doctor --json')
    .action(() => doctorRun(ctx));
}
