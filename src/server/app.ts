// `portalctl serve`: the web page behind the link in Step 2 of every
// registration email, the sign-in with the login services, and the access
// API the portals ask "is this account linked, and if not, why".
//
// Built on fastify rather than on node:http by hand: routing, query and form
// parsing, body limits, HEAD for every GET, cookies, rate limiting, graceful
// close and request timeouts are its well-tested parts. The security headers
// are fixed for the server's life: built once (security-headers.ts).
// Everything this file decides is the registration's: what a page view may
// change (a link_viewed record, nothing else), that only the return from a
// real sign-in links an account, and that it links through the very domain
// code `portalctl link` uses (same rules, codes, audit trail and events).
//
// The factory takes everything from outside — store, clock, zone, login
// services with their secrets already read, API tokens, the public URL, the
// log stream — so tests build it with a movable clock and real parts.

import type { Writable } from 'node:stream';
import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { PortalctlError, RefusedError, StoreError } from '../errors.js';
import { diagnoseAccess } from '../domain/access.js';
import { deliverWebhooks, displayUrl, type WebhookTarget } from '../webhooks/deliver.js';
import { GroupCommit } from '../domain/group-commit.js';
import { inspectLink, parseLinkInput, recordExpiries, recordLinkViews, redeemLink, type LinkTarget, type LinkView, type Stamp } from '../domain/lifecycle.js';
import { LOGIN_SERVICES, parseServiceKey, serviceName, type ServiceKey } from '../domain/services.js';
import { formatForEmail } from '../domain/time.js';
import { parseAccount, parseEmail, parseSlug } from '../domain/validate.js';
import type { Portal, Store } from '../store/types.js';
import { loggablePath, requestLog, type LogFields } from './log.js';
import { describeError, OidcLogin, SignInError, type OidcPending, type OidcSettings } from './oidc.js';
import { ERROR_STATUS, errorPage, step2Page, STYLESHEET, STYLESHEET_NAME, successPage, type ErrorCode, type ErrorPageInput } from './pages.js';
import { proxyMatcher } from './proxies.js';
import { perAddressLimit } from './rate-limit.js';
import { securityHeaders } from './security-headers.js';
import { bearerDigests, bearerMatches, csrfMatches, csrfToken, deriveKeys, newBrowserId, seal, unseal, type Keys } from './seal.js';

export type { OidcSettings } from './oidc.js';

/** A login service behind a SAML service provider (Shibboleth) that passes the account in a header. */
export interface HeaderSettings {
  type: 'header';
  header: string;
  trustedProxies: string[];
}

export type LoginServiceSettings = OidcSettings | HeaderSettings;

export interface ServerDeps {
  store: Store;
  /** Read per request: tests move it. */
  clock: () => Date;
  /** The zone times are told in when a portal names none. */
  zone: string;
  /** Who the audit trail records for a link made here. */
  actor: string;
  /** Configured login services, secrets already read. */
  services: Partial<Record<ServiceKey, LoginServiceSettings>>;
  /** Bearer tokens of the access API; none: the API answers 503. */
  apiTokens: readonly string[];
  /** Where browsers reach /register/ (e.g. https://register.example.org); default: each portal's own URL. */
  publicUrl?: string;
  /** One JSON line per request. */
  log: Writable;
  /** Link routes: at most `max` requests per client address per window. Default 60 a minute. */
  rateLimit?: { max: number; windowMs: number };
  /** How often to record `expired` events; 0: never on a timer (only when a page meets an expired link). Default a minute. */
  expirySweepMs?: number;
  /** How long a pending sign-in may take. Default 10 minutes. */
  signInMinutes?: number;
  /** The configured webhooks (secrets read): a running serve delivers their events continuously. */
  webhooks?: readonly WebhookTarget[];
  /** How often to deliver webhook events. Default 15 s. */
  webhookMs?: number;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** What this request did, for its log line (never a token). */
    logExtra: LogFields;
    /**
     * The client's address as fastify's trustProxy sees it, worked out once: fastify's `ip` parses
     * X-Forwarded-For's addresses again on every read, and a link request reads it three times.
     */
    clientIp: string;
  }
}

type Query = Record<string, string | string[] | undefined>;

/** The sealed cookie's content between "Link with …" and the return from the login service. */
interface Pending {
  /** The Step 2 token. */
  t: string;
  /** The login service. */
  s: ServiceKey;
  /** When it stops being good (ms since the epoch, by the server's clock). */
  exp: number;
  /** OpenID Connect: the redirect URI sent, and state, nonce, PKCE verifier. */
  ru?: string;
  o?: OidcPending;
}

const PENDING = 'pending sign-in';
const BROWSER_COOKIE = 'portalctl-browser';
const PENDING_COOKIE = 'portalctl-signin';
const MAX_BODY = 8 * 1024;
const MAX_USER_AGENT = 512;

function isPending(v: unknown): v is Pending {
  const p = v as Pending;
  return (
    typeof p === 'object' &&
    p !== null &&
    typeof p.t === 'string' &&
    typeof p.s === 'string' &&
    typeof p.exp === 'number' &&
    (p.o === undefined || (typeof p.o.state === 'string' && typeof p.o.nonce === 'string' && typeof p.o.verifier === 'string' && typeof p.ru === 'string'))
  );
}

const one = (v: string | string[] | undefined): string | undefined => (typeof v === 'string' ? v : undefined);

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
/** A header's bytes read as UTF-8 (undefined if they are not). */
function headerText(value: string): string | undefined {
  if (/^[\x00-\x7f]*$/.test(value)) return value;
  try {
    return strictUtf8.decode(Buffer.from(value, 'latin1'));
  } catch {
    return undefined;
  }
}

/** Pages under /register/link find the stylesheet at assets/…, pages under /register/callback/X at ../assets/… — relative, so a path prefix in front works. */
function assetBase(req: FastifyRequest): string {
  const path = req.url.split('?', 1)[0]!;
  if (path === '/register/link') return 'assets';
  if (path.startsWith('/register/callback/')) return '../assets';
  return '/register/assets';
}

export async function buildServer(deps: ServerDeps): Promise<FastifyInstance> {
  const { store, clock, zone } = deps;
  const log = requestLog(deps.log, clock);
  const publicUrl = deps.publicUrl?.replace(/\/+$/, '');
  const signInMs = (deps.signInMinutes ?? 10) * 60_000;

  const oidc = new Map<ServiceKey, OidcLogin>();
  const headerTrust = new Map<ServiceKey, (address: string | undefined) => boolean>();
  const headerProxies: string[] = [];
  for (const [key, s] of Object.entries(deps.services) as [ServiceKey, LoginServiceSettings][]) {
    if (s.type === 'oidc') oidc.set(key, new OidcLogin(s));
    else {
      headerTrust.set(key, proxyMatcher(s.trustedProxies, `services.${key}.trustedProxies`));
      headerProxies.push(...s.trustedProxies);
    }
  }
  // X-Forwarded-For is believed from this machine (a reverse proxy here) and from the header services' proxies. A
  // function of our own rather than the list for fastify's proxy-addr: it takes every network the services' check
  // takes (proxy-addr refuses a /0, and serve ended in an internal error on one that doctor only warns about).
  const forwardedFrom = proxyMatcher(['127.0.0.0/8', '::1', ...headerProxies], 'services.*.trustedProxies');
  const issuerOrigins = [...new Set([...oidc.values()].map((o) => new URL(o.settings.issuer).origin).filter((o) => o.startsWith('http:')))];
  const keys: Keys = deriveKeys([...[...oidc.values()].map((o) => o.settings.clientSecret), ...deps.apiTokens]);
  const apiDigests = bearerDigests(deps.apiTokens);

  const stamp = (): Stamp => ({ now: clock(), actor: deps.actor, zone });
  // Page views of concurrent requests share a transaction; each request still answers only once its own view is committed.
  const views = new GroupCommit<LinkView>((batch) => recordLinkViews(store, batch));
  const zoneOf = (portal: Portal | undefined) => portal?.timeZone ?? zone;
  /** The address browsers use for this portal's /register/ pages. */
  const baseFor = (portal: Portal) => (publicUrl ?? portal.baseUrl).replace(/\/+$/, '');
  /**
   * Secure cookies when browsers reach us over https: as publicUrl says, or
   * without one, as the request came (X-Forwarded-Proto believed from a
   * proxy on this machine). A client on plain http would never send a
   * Secure cookie back, and the sign-in would fail for no reason it can see.
   */
  const secureFor = (req: FastifyRequest) => (publicUrl ? publicUrl.startsWith('https:') : req.protocol === 'https');
  // __Host- cookies: Secure, for this host only, Path=/ — a sibling subdomain cannot plant one.
  const cookieName = (base: string, secure: boolean) => (secure ? `__Host-${base}` : base);
  const readCookie = (req: FastifyRequest, base: string) => req.cookies[`__Host-${base}`] ?? req.cookies[base];

  const app = fastify({
    logger: false,
    trustProxy: (address: string) => forwardedFrom(address),
    bodyLimit: MAX_BODY,
    routerOptions: { maxParamLength: 64 },
    requestTimeout: 30_000,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  });
  app.decorateRequest('logExtra', null as unknown as LogFields);
  app.decorateRequest('clientIp', '');
  // While closing, a request that was in flight gets its answer and then its
  // connection is closed, so a keep-alive client cannot hold the drain open.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (_req, reply) => {
    if (closing) reply.header('connection', 'close');
  });
  const security = securityHeaders({ formActionOrigins: issuerOrigins, hsts: publicUrl?.startsWith('https:') ?? false });
  app.addHook('onRequest', (req, reply, done) => {
    req.logExtra = {};
    req.clientIp = req.ip;
    reply.header('cache-control', 'no-store');
    // On the raw response, as helmet set them: they stay whatever handler ends up answering.
    for (const [name, value] of security) reply.raw.setHeader(name, value);
    done();
  });
  app.addHook('onResponse', async (req, reply) => {
    log.write({
      method: req.method,
      path: loggablePath(req.url),
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime * 10) / 10,
      ip: req.clientIp,
      ...req.logExtra,
    });
    // A page view or a link records an event: hand it to the webhooks now, not at the next tick.
    if (req.url.startsWith('/register/') && req.method !== 'HEAD') void deliverEvents();
  });

  await app.register(cookie);
  // Only the Step 2 form is ever posted: no JSON, no text bodies.
  app.removeAllContentTypeParsers();
  await app.register(formbody, { bodyLimit: MAX_BODY });
  // One count per client address shared by every link route (page, form, callback).
  const limit = perAddressLimit(deps.rateLimit ?? { max: 60, windowMs: 60_000 });
  const linkLimit = (req: FastifyRequest, reply: FastifyReply, done: () => void) => {
    const verdict = limit(req.clientIp);
    if (verdict.allowed) return done();
    reply.header('retry-after', String(verdict.retryAfterSeconds));
    void errorReply(req, reply, 'rate_limited');
  };

  // ------------------------------------------------------------ pages

  const plainErrorPages = new Map<string, string>();
  const sendPage = (reply: FastifyReply, status: number, html: string) => reply.code(status).type('text/html; charset=utf-8').send(html);

  function errorReply(
    req: FastifyRequest,
    reply: FastifyReply,
    code: ErrorCode,
    o: { portal?: Portal; detail?: ErrorPageInput['detail']; status?: number; reason?: string } = {},
  ) {
    req.logExtra.outcome ??= code;
    if (o.reason) req.logExtra.reason = o.reason;
    const base = assetBase(req);
    if (!o.portal && !o.detail) {
      // The same page for every request (a scanner's 429s, a malformed link): built once.
      const key = `${code} ${base}`;
      let html = plainErrorPages.get(key);
      if (html === undefined) plainErrorPages.set(key, (html = errorPage({ code, assetBase: base })));
      return sendPage(reply, o.status ?? ERROR_STATUS[code], html);
    }
    return sendPage(
      reply,
      o.status ?? ERROR_STATUS[code],
      errorPage({
        portalName: o.portal?.name,
        portalUrl: o.portal?.baseUrl,
        adminEmail: o.portal?.adminEmail,
        code,
        detail: o.detail,
        assetBase: base,
      }),
    );
  }

  /** A refusal from the domain (link_expired, account_in_use, …) as its page. */
  function refusalReply(
    req: FastifyRequest,
    reply: FastifyReply,
    err: RefusedError,
    portal: Portal | undefined,
    account?: { service: string; username: string },
  ) {
    const when = (err.details?.expiredAt ?? err.details?.supersededAt) as string | undefined;
    const code: ErrorCode = err.code in ERROR_STATUS ? (err.code as ErrorCode) : 'service_unavailable';
    return errorReply(req, reply, code, {
      portal,
      detail: {
        whenText: when ? formatForEmail(when, zoneOf(portal)) : undefined,
        serviceName: account ? (serviceName(account.service) ?? undefined) : undefined,
        username: account?.username,
      },
    });
  }

  // A link that leads to no registration (cut short, unknown) names no portal; when the store holds
  // one, its name and Site Administrator contact still belong on the page. Read at most once a minute.
  let solo: { until: number; portal: Portal | undefined } | undefined;
  async function onlyPortal(): Promise<Portal | undefined> {
    const now = Date.now();
    if (!solo || now >= solo.until) {
      const all = await store.read((tx) => tx.portals.all()).catch(() => []);
      solo = { until: now + 60_000, portal: all.length === 1 ? all[0] : undefined };
    }
    return solo.portal;
  }

  /** The token of a Step 2 link, or the page that says it is not one. */
  function tokenOf(req: FastifyRequest, reply: FastifyReply, raw: string | undefined): string | undefined {
    try {
      return parseLinkInput(raw ?? '').token;
    } catch {
      // Missing, cut short, altered, or not a link at all: the FAQ's "incorrectly copied".
      void onlyPortal().then((portal) => errorReply(req, reply, 'link_malformed', { portal }));
      return undefined;
    }
  }

  let sweeping: Promise<void> | undefined;
  function sweepExpiries(): Promise<void> {
    sweeping ??= recordExpiries(store, stamp())
      .then((n) => {
        if (n > 0) log.write({ msg: 'recorded expired links', count: n });
      })
      .catch((err: unknown) => log.write({ msg: 'recording expired links failed', error: describeError(err) }))
      .finally(() => {
        sweeping = undefined;
      });
    return sweeping;
  }

  // Webhooks: a running serve delivers them continuously (SPEC), one run at a time.
  const stopping = new AbortController();
  let delivering: Promise<void> | undefined;
  function deliverEvents(): Promise<void> {
    if (!deps.webhooks?.length || stopping.signal.aborted) return Promise.resolve();
    delivering ??= deliverWebhooks(store, deps.webhooks, deps.clock(), { signal: stopping.signal })
      .then((reports) => {
        for (const r of reports) {
          if (r.delivered || r.failed || r.dead)
            log.write({ msg: 'webhook deliveries', url: displayUrl(r.url), delivered: r.delivered, failed: r.failed, dead: r.dead });
        }
      })
      .catch((err: unknown) => log.write({ msg: 'webhook delivery failed', error: describeError(err) }))
      .finally(() => {
        delivering = undefined;
      });
    return delivering;
  }

  function serviceChoices() {
    return LOGIN_SERVICES.map((s) => ({ key: s.key, name: s.name, available: deps.services[s.key] !== undefined }));
  }

  app.get(`/register/assets/${STYLESHEET_NAME}`, async (_req, reply) => {
    // Versioned by the page (?v=hash) and nothing secret in it: a day's caching is safe.
    return reply.header('cache-control', 'public, max-age=86400').type('text/css; charset=utf-8').send(STYLESHEET);
  });

  // Browsers ask every host for one; behind a proxy the portal answers it, direct there is none.
  app.get('/favicon.ico', async (_req, reply) => reply.code(204).header('cache-control', 'public, max-age=86400').send());

  // The Step 2 page. GET and HEAD (fastify answers HEAD from this route): never uses the link up.
  app.get<{ Querystring: Query }>('/register/link', { onRequest: linkLimit }, async (req, reply) => {
    const token = tokenOf(req, reply, one(req.query.token));
    if (token === undefined) return reply;
    const now = stamp();
    const { target, error } = await inspectLink(store, token, now);
    if (target) {
      await views.add({ target, clientAddress: req.clientIp || null, userAgent: req.headers['user-agent']?.slice(0, MAX_USER_AGENT) ?? null, stamp: now });
      Object.assign(req.logExtra, { event: 'link_viewed', portal: target.portal.slug, user: target.user.id });
    }
    if (error) {
      // The first to notice an expired link records it (SPEC: remind, prune or serve).
      if (error.code === 'link_expired') await sweepExpiries();
      return refusalReply(req, reply, error, target?.portal ?? (await onlyPortal()));
    }
    const { portal, user, registration } = target!;
    const secure = secureFor(req);
    let browserId = readCookie(req, BROWSER_COOKIE);
    if (!browserId || !/^[A-Za-z0-9_-]{24}$/.test(browserId)) {
      browserId = newBrowserId();
      reply.setCookie(cookieName(BROWSER_COOKIE, secure), browserId, { path: '/', httpOnly: true, sameSite: 'lax', secure });
    }
    req.logExtra.outcome = 'step2';
    return sendPage(
      reply,
      200,
      step2Page({
        portalName: portal.name,
        portalUrl: portal.baseUrl,
        firstName: user.firstName,
        expiresAtText: formatForEmail(registration.expiresAt, zoneOf(portal)),
        services: serviceChoices(),
        registerUrl: portal.registerUrl,
        token,
        csrfToken: csrfToken(keys.csrf, browserId, token),
        assetBase: 'assets',
        formAction: 'link',
        adminEmail: portal.adminEmail,
        linkedAs:
          user.loginService && user.username ? { username: user.username, serviceName: serviceName(user.loginService) ?? user.loginService } : undefined,
      }),
    );
  });

  // "Link with …": starts the sign-in. A POST alone links nothing (scanners submit forms too).
  app.post<{ Body: Query | undefined }>('/register/link', { onRequest: linkLimit }, async (req, reply) => {
    const body = req.body ?? {};
    const site = one(req.headers['sec-fetch-site']);
    if (site !== undefined && site !== 'same-origin' && site !== 'none') {
      return errorReply(req, reply, 'form_expired', { reason: `cross-site form (Sec-Fetch-Site: ${site})` });
    }
    const token = tokenOf(req, reply, one(body.token));
    if (token === undefined) return reply;
    const browserId = readCookie(req, BROWSER_COOKIE);
    const csrf = one(body.csrf);
    if (!browserId || !csrf || !csrfMatches(keys.csrf, browserId, token, csrf)) {
      return errorReply(req, reply, 'form_expired', { reason: browserId ? 'csrf token does not match' : 'no browser cookie' });
    }
    const { target, error } = await inspectLink(store, token, stamp());
    if (error) return refusalReply(req, reply, error, target?.portal);
    const { portal, user } = target as LinkTarget;
    Object.assign(req.logExtra, { portal: portal.slug, user: user.id });
    const key = LOGIN_SERVICES.find((s) => s.key === one(body.service))?.key;
    const settings = key ? deps.services[key] : undefined;
    if (!key || !settings) return errorReply(req, reply, 'service_unavailable', { portal, reason: 'login service not configured' });
    req.logExtra.service = key;

    const pending: Pending = { t: token, s: key, exp: clock().getTime() + signInMs };
    let to: string;
    if (settings.type === 'oidc') {
      const redirectUri = `${baseFor(portal)}/register/callback/${key}`;
      try {
        const started = await oidc.get(key)!.start(redirectUri);
        Object.assign(pending, { ru: redirectUri, o: started.pending });
        to = started.url.href;
      } catch (err) {
        return errorReply(req, reply, 'service_unavailable', { portal, reason: describeError(err) });
      }
    } else {
      // The SAML service provider in front guards the callback: it signs the person in, then lets the request through with the header.
      to = `callback/${key}`;
    }
    const secure = secureFor(req);
    reply.setCookie(cookieName(PENDING_COOKIE, secure), seal(keys.seal, PENDING, pending), {
      path: '/',
      httpOnly: true,
      sameSite: 'lax',
      secure,
      maxAge: Math.round(signInMs / 1000),
    });
    req.logExtra.outcome = 'signin_started';
    return reply.code(303).header('location', to).send();
  });

  // Back from the login service: the only place an account is linked.
  // GET only: a HEAD (a link checker, a prefetch) must not spend the sign-in.
  app.get<{ Params: { service: string }; Querystring: Query }>(
    '/register/callback/:service',
    { onRequest: linkLimit, exposeHeadRoute: false },
    async (req, reply) => {
      const key = LOGIN_SERVICES.find((s) => s.key === req.params.service)?.key;
      const settings = key ? deps.services[key] : undefined;
      if (!key || !settings) return errorReply(req, reply, 'not_found');
      req.logExtra.service = key;

      // A header service believes the header only from its proxies' own connections. These
      // refusals use nothing up: the pending sign-in stays for a request that does come through.
      let headerAccount: string | undefined;
      if (settings.type === 'header') {
        if (!headerTrust.get(key)!(req.socket.remoteAddress)) {
          return errorReply(req, reply, 'signin_failed', { status: 403, reason: `header from untrusted address ${req.socket.remoteAddress ?? '?'}` });
        }
        const value = req.headers[settings.header.toLowerCase()];
        if (typeof value !== 'string' || value.trim() === '') return errorReply(req, reply, 'signin_failed', { reason: `no ${settings.header} header` });
        // Node hands header bytes over one character each (Latin-1); a SAML service provider sends the
        // username as UTF-8 (Müller arrives as the bytes of MÃ¼ller). Bytes that are not UTF-8 are no username.
        const utf8 = headerText(value);
        if (utf8 === undefined) return errorReply(req, reply, 'signin_failed', { reason: `the ${settings.header} header is not UTF-8 text` });
        headerAccount = utf8;
      }

      // The pending sign-in of this browser, good once: cleared whatever happens next.
      const raw = readCookie(req, PENDING_COOKIE);
      const secure = req.cookies[`__Host-${PENDING_COOKIE}`] !== undefined;
      if (raw !== undefined) reply.clearCookie(cookieName(PENDING_COOKIE, secure), { path: '/', httpOnly: true, sameSite: 'lax', secure });
      const opened = raw === undefined ? undefined : unseal(keys.seal, PENDING, raw);
      if (!isPending(opened))
        return errorReply(req, reply, 'signin_failed', { reason: raw === undefined ? 'no pending sign-in' : 'pending sign-in cookie not ours' });
      if (opened.s !== key) return errorReply(req, reply, 'signin_failed', { reason: `pending sign-in is for ${opened.s}` });
      if (opened.exp < clock().getTime()) return errorReply(req, reply, 'signin_failed', { reason: 'pending sign-in expired' });

      let account: string;
      if (settings.type === 'oidc') {
        if (!opened.o || !opened.ru) return errorReply(req, reply, 'signin_failed', { reason: 'pending sign-in without OpenID Connect state' });
        const url = new URL(opened.ru);
        const q = req.url.indexOf('?');
        url.search = q < 0 ? '' : req.url.slice(q);
        try {
          account = await oidc.get(key)!.finish(url, opened.o);
        } catch (err) {
          const e = err instanceof SignInError ? err : new SignInError('unavailable', describeError(err));
          return errorReply(req, reply, e.kind === 'unavailable' ? 'service_unavailable' : 'signin_failed', { reason: e.reason });
        }
      } else {
        account = headerAccount!;
      }
      try {
        account = parseAccount(account);
      } catch {
        return errorReply(req, reply, 'signin_failed', { reason: 'the login service gave a username portalctl cannot take' });
      }

      try {
        const result = await redeemLink(store, { token: opened.t, service: key, account }, stamp());
        Object.assign(req.logExtra, {
          portal: result.portal.slug,
          user: result.user.id,
          outcome: result.outcome,
          event: result.outcome === 'unchanged' ? undefined : result.outcome,
        });
        return sendPage(
          reply,
          200,
          successPage({
            portalName: result.portal.name,
            portalUrl: result.portal.baseUrl,
            serviceName: serviceName(key)!,
            username: account,
            assetBase: '../assets',
          }),
        );
      } catch (err) {
        if (!(err instanceof RefusedError)) throw err;
        const { target } = await inspectLink(store, opened.t, stamp()).catch(() => ({ target: undefined }));
        // The domain recorded the attempt and a link_failed event unless the link leads nowhere.
        if (target) Object.assign(req.logExtra, { portal: target.portal.slug, user: target.user.id, event: 'link_failed' });
        return refusalReply(req, reply, err, target?.portal, { service: key, username: account });
      }
    },
  );

  // ------------------------------------------------------------ API

  const apiError = (reply: FastifyReply, status: number, code: string, message: string) => reply.code(status).send({ error: { code, message } });

  // The portals, read once for all the API requests of one turn of the event loop (under load the
  // poll phase takes in many at once): a change another process makes shows from the next turn on.
  let portalsRead: Promise<Portal[]> | undefined;
  const portalsThisTurn = () => {
    if (!portalsRead) {
      portalsRead = store.read((tx) => tx.portals.all());
      setImmediate(() => (portalsRead = undefined));
    }
    return portalsRead;
  };

  app.get<{ Querystring: Query }>('/api/v1/access', { exposeHeadRoute: false }, async (req, reply) => {
    if (apiDigests.length === 0) return apiError(reply, 503, 'api_not_configured', 'The access API is off: serve.apiTokenFile is not set in the config file.');
    const m = /^Bearer +([\x21-\x7e]+) *$/i.exec(one(req.headers.authorization) ?? '');
    if (!m) {
      req.logExtra.outcome = 'no_token';
      reply.header('www-authenticate', 'Bearer realm="portalctl"');
      return apiError(reply, 401, 'unauthorized', 'Send Authorization: Bearer TOKEN with a token from serve.apiTokenFile.');
    }
    if (!bearerMatches(m[1]!, apiDigests)) {
      req.logExtra.outcome = 'wrong_token';
      reply.header('www-authenticate', 'Bearer realm="portalctl", error="invalid_token"');
      return apiError(reply, 401, 'unauthorized', 'The bearer token is not one of serve.apiTokenFile.');
    }
    const q = req.query;
    let portal: Portal | undefined;
    let question: { service: ServiceKey; account: string; email?: string };
    try {
      const repeated = (['portal', 'service', 'account', 'email'] as const).find((k) => Array.isArray(q[k]));
      if (repeated) return apiError(reply, 400, 'usage', `Give ${repeated}= once, not ${q[repeated]!.length} times.`);
      const slug = one(q.portal);
      const service = one(q.service);
      const account = one(q.account);
      const email = one(q.email);
      if (service === undefined || account === undefined) return apiError(reply, 400, 'usage', 'Give service=KEY and account=USERNAME (and portal=SLUG).');
      question = { service: parseServiceKey(service), account: parseAccount(account), email: email === undefined ? undefined : parseEmail(email) };
      const portals = await portalsThisTurn();
      if (slug !== undefined) portal = portals.find((p) => p.slug === parseSlug(slug));
      else if (portals.length === 1) portal = portals[0];
      else return apiError(reply, 400, 'portal_required', 'Give portal=SLUG: the store holds several portals.');
      if (!portal) return apiError(reply, 404, 'unknown_portal', 'There is no such portal.');
    } catch (err) {
      if (err instanceof PortalctlError && !(err instanceof StoreError)) return apiError(reply, 400, err.code, err.message);
      throw err;
    }
    const d = await diagnoseAccess(store, portal, question, clock(), zone);
    Object.assign(req.logExtra, { portal: portal.slug, service: question.service, outcome: d.linked ? 'linked' : 'access_denied' });
    if (d.linked) return reply.code(200).send({ ...d, user: d.users[0] ?? null });
    return reply.code(403).send({ error: { code: 'access_denied', message: d.diagnosis }, ...d });
  });

  app.get('/healthz', async (_req, reply) => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('the store did not answer within 3 s')), 3_000);
    });
    try {
      await Promise.race([store.read((tx) => tx.portals.all()), timeout]);
      return reply.code(200).send({ ok: true });
    } catch (err) {
      return reply.code(503).send({ ok: false, error: describeError(err) });
    } finally {
      clearTimeout(timer);
    }
  });

  // ------------------------------------------------------------ the rest

  const isApi = (req: FastifyRequest) => req.url.startsWith('/api/') || req.url.startsWith('/healthz');

  app.setNotFoundHandler(async (req, reply) => {
    if (isApi(req)) return apiError(reply, 404, 'not_found', 'There is no such address.');
    return errorReply(req, reply, 'not_found');
  });

  app.setErrorHandler(async (err: Error & { statusCode?: number }, req, reply) => {
    const status = err.statusCode ?? 500;
    if (status >= 500) req.logExtra.error = describeError(err);
    if (isApi(req))
      return apiError(reply, status >= 500 ? 500 : status, status >= 500 ? 'internal' : 'bad_request', status >= 500 ? 'Internal error.' : err.message);
    // A body too large, of another type, or unreadable: not what the Step 2 form sends.
    if (status < 500) return errorReply(req, reply, 'form_expired', { status, reason: err.message });
    return errorReply(req, reply, 'service_unavailable', { status: err instanceof StoreError ? 503 : 500 });
  });

  // ------------------------------------------------------------ background

  let timer: NodeJS.Timeout | undefined;
  let webhookTimer: NodeJS.Timeout | undefined;
  app.addHook('onReady', async () => {
    // Discover each OpenID Connect provider now, so the first person does not wait; a failure is retried on use.
    for (const [key, login] of oidc) {
      login.configuration().then(
        () => log.write({ msg: 'login service ready', service: key, issuer: login.settings.issuer }),
        (err: unknown) => log.write({ msg: 'login service not reachable; retried on use', service: key, error: describeError(err) }),
      );
    }
    if (!keys.shared) {
      log.write({
        msg: 'no client secret or API token to derive the sign-in cookie key from: a random key is used, so behind a load balancer a sign-in must return to this host (sticky sessions)',
      });
    }
    const every = deps.expirySweepMs ?? 60_000;
    void sweepExpiries();
    if (every > 0) {
      timer = setInterval(() => void sweepExpiries(), every);
      timer.unref();
    }
    const webhookEvery = deps.webhookMs ?? 15_000;
    if (deps.webhooks?.length && webhookEvery > 0) {
      void deliverEvents();
      webhookTimer = setInterval(() => void deliverEvents(), webhookEvery);
      webhookTimer.unref();
    }
  });
  app.addHook('onListen', async () => {
    log.write({ msg: 'listening', url: listenUrl(app), services: Object.keys(deps.services).join(' '), api: apiDigests.length > 0 });
  });
  app.addHook('onClose', async () => {
    if (timer) clearInterval(timer);
    if (webhookTimer) clearInterval(webhookTimer);
    stopping.abort();
    await Promise.all([sweeping, delivering, views.idle()]);
  });

  return app;
}

/** The address a listening server answers at, as a URL. */
export function listenUrl(app: FastifyInstance): string {
  const address = app.server.address();
  if (!address || typeof address === 'string') return String(address);
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}

/**
 * Stops taking requests, lets those in flight finish (up to `drainMs`, then
 * cuts the connections that are left), and runs the close hooks.
 */
export async function closeServer(app: FastifyInstance, drainMs = 10_000): Promise<void> {
  const cut = setTimeout(() => app.server.closeAllConnections(), drainMs);
  cut.unref();
  try {
    await app.close();
  } finally {
    clearTimeout(cut);
  }
}
