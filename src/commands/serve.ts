// `serve`: the Step 2 web page and the access API (src/server/). This command
// checks the settings — refusing to start, exit 2, on anything that would
// only fail later — reads the secrets, opens the store, builds the server
// from them, and runs it until SIGTERM or Ctrl-C, when it lets the requests
// in flight finish and returns.

import { isIP } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { UsageError } from '../errors.js';
import { quote } from '../text.js';
import { serviceName, type ServiceKey } from '../domain/services.js';
import { parseHttpUrl } from '../domain/validate.js';
import { info, type Result } from '../output/results.js';
import { writeMessages } from '../output/render.js';
import type { Context } from '../runtime/context.js';
import { readSecretFile } from '../runtime/settings.js';
import { webhookTargets } from '../runtime/webhooks.js';
import type { LoginServiceSettings } from '../server/app.js';
import { isLoopbackHttp } from '../server/oidc.js';
import { proxyMatcher } from '../server/proxies.js';
import { str, type RawInput } from './command.js';

export interface Listen {
  host: string;
  port: number;
}

export interface ServeOptions {
  listen?: Listen;
}

export const DEFAULT_LISTEN: Listen = { host: '127.0.0.1', port: 8080 };

/** "HOST:PORT", "[::1]:PORT" or ":PORT" (all addresses). */
export function parseListen(raw: string, what = '--listen'): Listen {
  const value = raw.trim();
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]*)):(\d{1,5})$/.exec(value);
  const bad = () => new UsageError(`Invalid ${what} ${quote(raw)}: give HOST:PORT, such as 127.0.0.1:8080, [::1]:8080 or 0.0.0.0:8080.`, 'invalid_listen');
  if (!m) throw bad();
  const port = Number(m[3]);
  if (port > 65535) throw bad();
  const host = m[1] ?? (m[2] || '0.0.0.0');
  if (m[1] !== undefined && isIP(m[1]) !== 6) throw bad();
  if (m[2] && !isIP(m[2]) && !/^(?=.{1,253}$)([A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/.test(m[2]))
    throw bad();
  return { host, port };
}

export function parse(raw: RawInput): ServeOptions {
  const listen = str(raw, 'listen');
  return { listen: listen === undefined ? undefined : parseListen(listen) };
}

/** The login services of the config file with their secrets read; a usage error for anything missing or unsafe. */
function loginServices(ctx: Context): Partial<Record<ServiceKey, LoginServiceSettings>> {
  const configured = ctx.settings.file.services ?? {};
  const keys = Object.keys(configured) as ServiceKey[];
  if (keys.length === 0) {
    throw new UsageError(
      `No login service is configured, so nobody could link an account: add "services" to the config file ${ctx.settings.configFile} (see the README, "The Step 2 web page").`,
      'no_login_service',
    );
  }
  const out: Partial<Record<ServiceKey, LoginServiceSettings>> = {};
  for (const key of keys) {
    const s = configured[key]!;
    if (s.type === 'oidc') {
      // openid-client talks to a plain-http issuer only on this machine (oidc.ts): anywhere else every sign-in would fail.
      const issuer = new URL(s.issuer);
      if (issuer.protocol === 'http:' && !isLoopbackHttp(issuer)) {
        throw new UsageError(
          `services.${key}.issuer ${quote(s.issuer)} in ${ctx.settings.configFile} is plain http: give the provider's https address (plain http only on this machine, for tests).`,
          'invalid_config',
        );
      }
      const clientSecret = readSecretFile(s.clientSecretFile, `The client secret file of login service ${key} (services.${key}.clientSecretFile)`);
      out[key] = { type: 'oidc', issuer: s.issuer, clientId: s.clientId, clientSecret, usernameClaim: s.usernameClaim, scopes: s.scopes };
    } else {
      proxyMatcher(s.trustedProxies, `services.${key}.trustedProxies in ${ctx.settings.configFile}`);
      out[key] = { type: 'header', header: s.header, trustedProxies: [...s.trustedProxies] };
    }
  }
  return out;
}

/** The access API's tokens, one per line; none when no apiTokenFile is set. */
function apiTokens(ctx: Context): string[] {
  const file = ctx.settings.file.serve?.apiTokenFile;
  if (!file) return [];
  return readSecretFile(file, 'The API token file (serve.apiTokenFile)')
    .split(/\r?\n/)
    .map((t) => t.trim())
    .filter((t) => t !== '' && !t.startsWith('#'));
}

export async function run(ctx: Context, o: ServeOptions): Promise<Result> {
  const conf = ctx.settings.file.serve ?? {};
  const listen = o.listen ?? (conf.listen ? parseListen(conf.listen, `serve.listen in ${ctx.settings.configFile}`) : DEFAULT_LISTEN);
  const publicUrl = conf.publicUrl ? parseHttpUrl(conf.publicUrl, `serve.publicUrl in ${ctx.settings.configFile}`, { base: true }) : undefined;
  const services = loginServices(ctx);
  const tokens = apiTokens(ctx);
  const webhooks = webhookTargets(ctx.settings);
  // bin/portalctl keeps V8's young generation at its smallest, which suits the commands that stream
  // rows. A server allocates a little for every request and keeps almost none of it: held at 1 MiB,
  // the young generation is collected every few hundred requests, a fifth of serve's time under load.
  // Let it grow as V8 does by default (the factor is read at each collection).
  setFlagsFromString('--semi-space-growth-factor=2');
  const { buildServer, closeServer, listenUrl } = await import('../server/app.js');
  const store = await ctx.store();
  const interrupted = ctx.interrupts();
  const app = await buildServer({
    store,
    clock: ctx.clock,
    zone: ctx.zone,
    actor: ctx.globals.actor ?? 'serve',
    services,
    apiTokens: tokens,
    publicUrl,
    log: ctx.io.stdout,
    webhooks,
  });
  try {
    await app.listen({ host: listen.host, port: listen.port });
  } catch (err) {
    await app.close().catch(() => {});
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'EADDRINUSE'
        ? 'the address is already in use'
        : code === 'EACCES'
          ? 'permission denied (ports below 1024 need privileges)'
          : code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND'
            ? 'this machine has no such address'
            : (code ?? (err as Error).message);
    throw new UsageError(`Cannot listen on ${listen.host}:${listen.port}: ${why}.`, 'listen_failed');
  }
  const url = listenUrl(app);
  const names = Object.keys(services)
    .map((k) => `${k} (${serviceName(k)}, ${services[k as ServiceKey]!.type === 'oidc' ? 'OpenID Connect' : 'trusted header'})`)
    .join(', ');
  await writeMessages(
    [
      info(
        `portalctl serve: listening on ${url}; login services: ${names}; access API ${tokens.length ? 'on' : 'off (no serve.apiTokenFile)'}; ${webhooks.length ? `delivering events to ${webhooks.length} webhook${webhooks.length === 1 ? '' : 's'}` : 'no webhooks'}.`,
      ),
    ],
    {
      stderr: ctx.io.stderr,
      json: ctx.globals.json,
      quiet: ctx.globals.quiet,
      colorErr: ctx.io.colorErr,
    },
  );

  if (!interrupted.aborted) await new Promise<void>((resolve) => interrupted.addEventListener('abort', () => resolve(), { once: true }));
  await closeServer(app);
  return { kind: 'none', messages: [info(`portalctl serve: stopped (${String(interrupted.reason ?? 'signal')}); the requests in flight were finished.`)] };
}
