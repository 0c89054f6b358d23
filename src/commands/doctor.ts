// `doctor`: is this installation ready to work? It checks with the same
// pieces every command uses — the settings, the store opened without
// migrating or changing it, the mailer — and changes nothing.

import { PortalctlError, RefusedError } from '../errors.js';
import { plural } from '../text.js';
import { isPortalLinkUrl, parseLinkInput } from '../domain/lifecycle.js';
import { linkUrl, mintToken } from '../domain/tokens.js';
import { parseEmail } from '../domain/validate.js';
import { openStore } from '../store/open.js';
import type { Portal, Store } from '../store/types.js';
import { checkMailDir, createMailer } from '../mail/transport.js';
import { displayUrl } from '../webhooks/deliver.js';
import { info, type Check, type Result } from '../output/results.js';
import type { Context } from '../runtime/context.js';
import { readSecretFile } from '../runtime/settings.js';
import { proxyMatcher, trustsEveryone } from '../server/proxies.js';
import type { RawInput } from './command.js';

const ok = (name: string, detail: string): Check => ({ name, status: 'ok', detail });
const warn = (name: string, detail: string): Check => ({ name, status: 'warn', detail });
const fail = (name: string, detail: string): Check => ({ name, status: 'fail', detail });
const message = (err: unknown) => (err instanceof Error ? err.message : String(err)).replace(/\s+/g, ' ').trim();

export function parse(_raw: RawInput): Record<string, never> {
  return {};
}

async function checkStore(ctx: Context, checks: Check[]): Promise<Store | undefined> {
  const s = ctx.settings;
  let store: Store;
  try {
    store = await openStore(
      { value: s.db.value, explicit: s.storeExplicit },
      { create: false, inspectOnly: true, password: s.postgresPassword(), env: ctx.env, busyTimeoutMs: s.busyTimeoutMs },
    );
  } catch (err) {
    const code = err instanceof PortalctlError ? err.code : '';
    if (code === 'store_missing' && !s.storeExplicit)
      checks.push(warn('store', `${s.db.value} does not exist yet; the first portalctl command creates it (mode 0600)`));
    else checks.push(fail('store', message(err)));
    return undefined;
  }
  try {
    const started = performance.now();
    const info = await store.info();
    const latency = performance.now() - started;
    checks.push(ok('store', `${info.location} (${info.serverVersion}; round trip ${latency.toFixed(1)} ms)`));
    if (info.schemaVersion === info.latestSchemaVersion) checks.push(ok('store schema', `migration ${info.schemaVersion} (current)`));
    else if (info.schemaVersion > info.latestSchemaVersion)
      checks.push(
        fail(
          'store schema',
          `migration ${info.schemaVersion} is newer than this portalctl knows (${info.latestSchemaVersion}); upgrade portalctl before using this store`,
        ),
      );
    else
      checks.push(
        warn(
          'store schema',
          `migration ${info.schemaVersion}; this portalctl uses ${info.latestSchemaVersion} — the next command that opens the store upgrades it`,
        ),
      );
    checks.push(...(await store.checks()));
  } catch (err) {
    checks.push(fail('store', message(err)));
  }
  return store;
}

/** What to do about an SMTP failure, judged from the server's or the system's words; `where`: the setting that holds the URL. */
function smtpHint(reason: string, where: string): string {
  if (/ECONNREFUSED|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|timeout/i.test(reason))
    return `; check the host and port in ${where} and that the mail server is running`;
  if (/certificate|self[- ]signed|SSL|TLS|wrong version number|STARTTLS/i.test(reason))
    return '; the TLS handshake failed: use smtps:// only for a port that speaks TLS from the start (usually 465), smtp:// otherwise (add ?tls=off only for a local relay without TLS)';
  if (/EAUTH|auth|535|534|credentials|password|login/i.test(reason)) return `; check the user name and password in ${where} (or the SMTP password file)`;
  return '';
}

async function checkMail(ctx: Context, checks: Check[]): Promise<void> {
  let settings;
  try {
    settings = ctx.mailSettings();
  } catch (err) {
    checks.push(fail('mail', message(err)));
    return;
  }
  if (settings.sender)
    checks.push(ok('mail from', `emails come from ${settings.sender.name ? `${settings.sender.name} <${settings.sender.address}>` : settings.sender.address}`));
  if (!settings.smtp) {
    try {
      checkMailDir(settings.mailDir, false);
      checks.push(
        warn(
          'mail',
          `no email is sent: PORTALCTL_SMTP_URL is not set, so emails are only written as .eml files to ${settings.mailDir}. Set PORTALCTL_SMTP_URL (or smtpUrl in the config file) to deliver them.`,
        ),
      );
    } catch (err) {
      checks.push(fail('mail', message(err)));
    }
    return;
  }
  const smtp = settings.smtp;
  const mailer = await createMailer(settings);
  try {
    await mailer.verify();
    const login = smtp.url.username ? `login accepted as ${decodeURIComponent(smtp.url.username)}` : 'no login configured';
    const tls =
      smtp.url.protocol === 'smtps:' ? 'TLS from the start' : smtp.requireTls ? 'STARTTLS required before the login' : 'TLS only if the server offers STARTTLS';
    checks.push(ok('mail', `${smtp.display}: reachable, ${login}, ${tls}`));
  } catch (err) {
    const reason = message(err);
    checks.push(fail('mail', `${smtp.display}: ${reason}${smtpHint(reason, smtp.setting)}`));
  } finally {
    mailer.close();
  }
}

function checkPortal(p: Portal): Check {
  const problems: string[] = [];
  const facts: string[] = [];
  let bad = false;
  // A freshly built Step 2 link must parse back to this portal, or every email carries a dead link.
  try {
    const link = parseLinkInput(linkUrl(p.baseUrl, mintToken()));
    if (!link.url || !isPortalLinkUrl(link.url, p)) throw new Error('it does not lead back to the portal');
    facts.push(p.baseUrl);
  } catch (err) {
    bad = true;
    problems.push(
      `Step 2 links built from the base URL ${p.baseUrl} do not work (${message(err)}); fix it with \`portalctl portals set ${p.slug} --url https://…\``,
    );
  }
  if (!bad && !p.baseUrl.startsWith('https://'))
    problems.push(`the base URL ${p.baseUrl} is not https, so Step 2 links travel unencrypted (\`portalctl portals set ${p.slug} --url https://…\`)`);
  try {
    facts.push(`Site Administrator ${parseEmail(p.adminEmail)}`);
  } catch {
    bad = true;
    problems.push(`no valid Site Administrator address (\`portalctl portals set ${p.slug} --admin-email ADDRESS\`)`);
  }
  if (!/^https:\/\//i.test(p.registerUrl))
    problems.push(`the Step 1 registration form ${p.registerUrl} is not https (\`portalctl portals set ${p.slug} --register-url URL\`)`);
  else facts.push(`Step 1 form ${p.registerUrl}`);
  facts.push(p.remindDays.length ? `reminders on days ${p.remindDays.join(', ')}` : 'no reminders');
  facts.push(p.warnDays ? `removal warning ${p.warnDays} days before` : 'no removal warning');
  const name = `portal ${p.slug}`;
  if (problems.length === 0) return ok(name, facts.join(', '));
  return (bad ? fail : warn)(name, problems.join('; '));
}

async function checkPortals(ctx: Context, store: Store, checks: Check[]): Promise<void> {
  const portals = await store.read((tx) => tx.portals.all());
  if (portals.length === 0) {
    checks.push(warn('portals', 'there is no portal yet; create one with `portalctl portals add SLUG --name N --url URL --admin-email A`'));
    return;
  }
  const setting = ctx.settings.portal;
  const slugs = portals.map((p) => p.slug).join(', ');
  if (setting.value && !portals.some((p) => p.slug === setting.value)) {
    checks.push(
      fail(
        'portals',
        `${setting.source === 'config' ? `the config file ${setting.from}` : setting.from} names ${JSON.stringify(setting.value)}, which is not a portal here; known portals: ${slugs}`,
      ),
    );
  } else {
    const dflt = setting.value ? `; default ${setting.value}` : portals.length === 1 ? '' : '; commands need --portal SLUG or PORTALCTL_PORTAL';
    checks.push(ok('portals', `${plural(portals.length, 'portal')}: ${slugs}${dflt}`));
  }
  for (const p of portals) checks.push(checkPortal(p));
}

async function checkQueue(store: Store, checks: Check[], toFiles: boolean): Promise<void> {
  let queued = 0;
  let failed = 0;
  for await (const batch of store.listPending({})) {
    for (const m of batch) {
      if (m.state === 'failed') failed++;
      else queued++;
    }
  }
  if (queued === 0 && failed === 0) {
    checks.push(ok('mail queue', 'every email has been delivered'));
    return;
  }
  const parts: string[] = [];
  // `outbox send` refuses to write queued emails as .eml files: without a mail server, say what it needs.
  if (queued > 0)
    parts.push(
      `${plural(queued, 'email')} queued for a retry; ${toFiles ? 'run `portalctl outbox send --eml` to write them as .eml files, or set PORTALCTL_SMTP_URL and run `portalctl outbox send`' : 'run `portalctl outbox send`'}`,
    );
  if (failed > 0)
    parts.push(
      `${plural(failed, 'email')} REFUSED by the mail server and not retried; see \`portalctl outbox list\`, fix the cause, then \`portalctl outbox send --include-failed\``,
    );
  checks.push((failed > 0 ? fail : warn)('mail queue', parts.join('; ')));
}

/** Each configured webhook: its secret file, its transport, and its queue (pending and dead deliveries). */
async function checkWebhooks(ctx: Context, store: Store | undefined, checks: Check[]): Promise<void> {
  const hooks = ctx.settings.file.webhooks ?? [];
  if (hooks.length === 0) return;
  const queues = store ? await store.read((tx) => tx.webhooks.queues()) : [];
  for (const w of hooks) {
    const name = `webhook ${displayUrl(w.url)}`;
    try {
      readSecretFile(w.secretFile, 'its secret file');
    } catch (err) {
      checks.push(fail(name, message(err)));
      continue;
    }
    const problems: string[] = [];
    const host = new URL(w.url).hostname;
    if (w.url.startsWith('http:') && !['localhost', '127.0.0.1', '[::1]'].includes(host))
      problems.push('it is http://, so events (names, addresses) travel unencrypted; use https://');
    const q = queues.find((x) => x.webhook === w.url);
    if (q?.dead)
      problems.push(
        `${plural(q.dead, 'delivery', 'deliveries')} DEAD after every attempt failed (${q.lastError ?? 'no answer'}); fix the receiver, then \`portalctl events --retry-dead\``,
      );
    if (q?.pending) problems.push(`${plural(q.pending, 'delivery', 'deliveries')} pending${q.lastError ? ` (last error: ${q.lastError})` : ''}`);
    const types = w.types ? w.types.join(', ') : 'every event';
    checks.push(problems.length ? warn(name, problems.join('; ')) : ok(name, `${types}; nothing waiting`));
  }
}

/** Short API tokens can be guessed; the token file is the only lock on /api/v1/access. */
const MIN_API_TOKEN = 32;

/**
 * `serve`'s login services and access API, when the config file sets serve
 * up: each OpenID Connect provider is asked for its discovery document (is
 * it reachable, does it call itself by the configured issuer), each header
 * service names its proxies, the secret files are readable and private.
 */
async function checkServe(ctx: Context, checks: Check[]): Promise<void> {
  const { file, configFile } = ctx.settings;
  const services = file.services ?? {};
  const serve = file.serve ?? {};
  const keys = Object.keys(services);
  if (keys.length === 0 && Object.keys(serve).length === 0) return; // serve is not set up here
  if (keys.length === 0)
    checks.push(
      fail('login services', `none configured in ${configFile}: \`portalctl serve\` will not start; add "services" (see the README, "The Step 2 web page")`),
    );
  for (const key of keys) {
    const s = services[key]!;
    const name = `login service ${key}`;
    if (s.type === 'oidc') {
      let clientSecret: string;
      try {
        clientSecret = readSecretFile(s.clientSecretFile, `the client secret file (services.${key}.clientSecretFile)`);
      } catch (err) {
        checks.push(fail(name, message(err)));
        continue;
      }
      try {
        const { checkProvider } = await import('../server/oidc.js');
        const { facts, problems } = await checkProvider({ issuer: s.issuer, clientId: s.clientId, clientSecret });
        const detail = `OpenID Connect, discovery answered: ${facts.join(', ')}; username from the "${s.usernameClaim}" claim`;
        checks.push(problems.length ? warn(name, `${detail}; but ${problems.join('; ')}`) : ok(name, detail));
      } catch (err) {
        const { describeError } = await import('../server/oidc.js');
        checks.push(
          fail(
            name,
            `OpenID Connect discovery at ${s.issuer} failed (${describeError(err)}); check services.${key}.issuer and that the provider is reachable from here`,
          ),
        );
      }
    } else {
      try {
        proxyMatcher(s.trustedProxies, `services.${key}.trustedProxies`);
      } catch (err) {
        checks.push(fail(name, message(err)));
        continue;
      }
      const detail = `trusted header ${s.header}, believed only from ${s.trustedProxies.join(', ')}`;
      checks.push(
        trustsEveryone(s.trustedProxies)
          ? warn(name, `${detail} — that is every address, so anyone who can reach serve can claim any account; list only the service provider's proxies`)
          : ok(name, detail),
      );
    }
  }
  if (serve.apiTokenFile) {
    try {
      const tokens = readSecretFile(serve.apiTokenFile, 'the API token file (serve.apiTokenFile)')
        .split(/\r?\n/)
        .map((t) => t.trim())
        .filter((t) => t !== '' && !t.startsWith('#'));
      const short = tokens.filter((t) => t.length < MIN_API_TOKEN).length;
      const detail = `${plural(tokens.length, 'token')} in ${serve.apiTokenFile}; /api/v1/access is on`;
      checks.push(
        short
          ? warn('API tokens', `${detail}, but ${plural(short, 'token')} shorter than ${MIN_API_TOKEN} characters (make them with \`openssl rand -hex 32\`)`)
          : ok('API tokens', detail),
      );
    } catch (err) {
      checks.push(fail('API tokens', message(err)));
    }
  } else {
    checks.push(warn('API tokens', 'serve.apiTokenFile is not set: /api/v1/access answers 503 until it is'));
  }
  if (serve.publicUrl && !/^https:\/\//i.test(serve.publicUrl))
    checks.push(warn('serve public URL', `${serve.publicUrl} is not https: the sign-in cookies are not marked Secure and travel unencrypted`));
}

export async function run(ctx: Context): Promise<Result> {
  const checks: Check[] = [];
  if (ctx.env.PORTALCTL_NOW)
    checks.push(warn('clock', `PORTALCTL_NOW=${ctx.env.PORTALCTL_NOW} overrides the clock: every time portalctl records is that time`));
  const store = await checkStore(ctx, checks);
  try {
    await checkMail(ctx, checks);
    await checkServe(ctx, checks);
    if (store) {
      for (const [name, fn] of [
        ['portals', (s: Store) => checkPortals(ctx, s, checks)],
        ['mail queue', (s: Store) => checkQueue(s, checks, !ctx.settings.smtpUrl.value)],
        ['webhooks', (s: Store) => checkWebhooks(ctx, s, checks)],
      ] as const) {
        try {
          await fn(store);
        } catch (err) {
          checks.push(fail(name, `cannot be read from the store: ${message(err)}`));
        }
      }
    }
  } finally {
    await store?.close();
  }
  const failed = checks.filter((c) => c.status === 'fail');
  const warned = checks.filter((c) => c.status === 'warn');
  return {
    kind: 'document',
    json: { checks, ok: failed.length === 0 },
    sections: [{ kind: 'checks', checks }],
    messages:
      failed.length === 0 ? [info(warned.length === 0 ? 'Everything looks fine.' : `No check failed; ${plural(warned.length, 'warning')} to look at.`)] : [],
    error: failed.length
      ? new RefusedError('doctor_failed', `${plural(failed.length, 'check')} failed: ${failed.map((f) => f.name).join(', ')}.`, {
          failed: failed.map((f) => f.name),
        })
      : undefined,
  };
}
