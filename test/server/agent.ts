// A plain HTTP client that keeps cookies per host and follows redirects the
// way a browser does — a "browser" for the many HTTP tests
// that need no rendering (scanners, forged and replayed callbacks, races).
// Each Agent is one browser: its own cookies, its own provider session.

import type { ServeHarness } from './harness.js';

export interface Reply {
  status: number;
  url: string;
  headers: Headers;
  text: string;
}

export interface RequestInit {
  method?: string;
  form?: Record<string, string>;
  headers?: Record<string, string>;
  body?: string;
}

export class Agent {
  private readonly jars = new Map<string, Map<string, string>>();

  /** Headers sent with every request: a user agent, an X-Forwarded-For as a proxy in front would add. */
  constructor(readonly headers: Record<string, string> = {}) {}

  jar(url: string | URL): Map<string, string> {
    const host = new URL(url).host;
    let jar = this.jars.get(host);
    if (!jar) this.jars.set(host, (jar = new Map()));
    return jar;
  }

  async request(url: string | URL, init: RequestInit = {}): Promise<Reply> {
    const u = new URL(url);
    const headers: Record<string, string> = { ...this.headers, ...init.headers };
    const jar = this.jar(u);
    if (jar.size) headers.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    let body = init.body;
    if (init.form) {
      body = new URLSearchParams(init.form).toString();
      headers['content-type'] ??= 'application/x-www-form-urlencoded';
    }
    const method = init.method ?? (init.form ? 'POST' : 'GET');
    const res = await fetch(u, { method, headers, body, redirect: 'manual' });
    for (const sc of res.headers.getSetCookie()) {
      const [pair, ...attrs] = sc.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      const gone = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a)) || value === '';
      if (gone) jar.delete(name);
      else jar.set(name, value);
    }
    return { status: res.status, url: u.href, headers: res.headers, text: method === 'HEAD' ? '' : await res.text() };
  }

  /**
   * Follows 30x redirects. Stops — without fetching it —
   * at the first address `stop` accepts, or at a page with no way on.
   */
  async follow(url: string | URL, stop: (u: URL) => boolean, init: RequestInit = {}): Promise<{ stoppedAt?: URL; last: Reply }> {
    let next: URL = new URL(url);
    let req = init;
    for (let hop = 0; hop < 20; hop++) {
      if (stop(next)) return { stoppedAt: next, last: undefined as unknown as Reply };
      const r = await this.request(next, req);
      req = {};
      const location = r.headers.get('location');
      if (r.status >= 300 && r.status < 400 && location) {
        next = new URL(location, r.url);
        continue;
      }
      return { last: r };
    }
    throw new Error(`too many hops from ${String(url)}`);
  }
}

const decode = (s: string) =>
  s
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');

/** The value of a hidden field of the Step 2 form. */
export function field(html: string, name: string): string {
  const m = new RegExp(`<input type="hidden" name="${name}" value="([^"]*)">`).exec(html);
  if (!m) throw new Error(`no ${name} field in ${html.slice(0, 400)}`);
  return decode(m[1]!);
}

/** What a reader sees of a page: tags dropped, entities decoded, spaces collapsed. */
export function seen(html: string): string {
  return decode(
    html
      .replace(/<head>[\s\S]*?<\/head>/, '')
      .replace(/<[^>]+>/g, ' ')
      .replace(/\s+/g, ' ')
      .replace(/ ([.,;:)])/g, '$1'),
  ).trim();
}

export function h1(html: string): string {
  return seen(/<h1>([\s\S]*?)<\/h1>/.exec(html)?.[1] ?? '');
}

/** Opens the Step 2 link and presses "Link with …": the reply to the POST (303 to the login service, or an error page). */
export async function chooseService(agent: Agent, link: string, service: string): Promise<Reply> {
  const page = await agent.request(link);
  if (page.status !== 200) throw new Error(`Step 2 page answered ${page.status}: ${h1(page.text)}`);
  const form = new URL('link', link);
  return agent.request(form, { form: { token: field(page.text, 'token'), csrf: field(page.text, 'csrf'), service } });
}

export const isCallback =
  (h: ServeHarness, service = 'nih') =>
  (u: URL) =>
    u.href.startsWith(`${h.url}/register/callback/${service}`);

/**
 * The whole way to the login service and back to the door: Step 2 page,
 * "Link with NIH Network Login", the provider's login form (unless this
 * agent is signed in there already). Returns the callback URL, not fetched.
 */
export async function signInWithNih(agent: Agent, h: ServeHarness, link: string, username: string, password = 'correct-horse'): Promise<URL> {
  const chosen = await chooseService(agent, link, 'nih');
  const to = chosen.headers.get('location');
  if (chosen.status !== 303 || !to) throw new Error(`no way on from "Link with": ${chosen.status} ${h1(chosen.text)}`);
  let r = await agent.follow(new URL(to, chosen.url), isCallback(h));
  if (!r.stoppedAt) {
    const action = /<form method="post" action="([^"]+\/login)"/.exec(r.last.text)?.[1];
    if (!action) throw new Error(`no login form at the provider: ${r.last.status} ${r.last.text.slice(0, 300)}`);
    r = await agent.follow(new URL(decode(action), r.last.url), isCallback(h), { form: { username, password } });
  }
  if (!r.stoppedAt) throw new Error(`the provider did not send the browser back: ${r.last.status} ${seen(r.last.text).slice(0, 300)}`);
  return r.stoppedAt;
}
