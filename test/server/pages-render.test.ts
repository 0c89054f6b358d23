// The Step 2 pages and the emails as a person sees them, in headless Chromium
// (Debian's /usr/bin/chromium driven by playwright-core).
//
// The pages are served by a tiny local HTTP server with the Content-Security-
// Policy `portalctl serve` sends, and the stylesheet at the address the pages
// link to, so the CSS really loads and anything inline would be refused (and
// reported). Each page and email is rendered at phone (390×844) and desktop
// (1280×800) widths into test/.screenshots/ (git-ignored) to look at.
//
// Checked: nothing scrolls sideways on a phone, every button is on screen, big
// enough to hit, reachable with Tab and visibly focused; text contrast ≥ 4.5:1;
// one <h1> and no skipped heading level; no request leaves the machine.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessSync, constants, mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { STYLESHEET, STYLESHEET_NAME } from '../../src/server/pages.js';
import { allEmails, allPages, ASSET_BASE } from './fixtures.js';

const CHROMIUM = '/usr/bin/chromium';
const haveChromium = (() => {
  try {
    accessSync(CHROMIUM, constants.X_OK);
    return true;
  } catch {
    return false;
  }
})();

const SHOTS = resolve(import.meta.dirname, '../.screenshots');
const CSP = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self' https://login.example.org; frame-ancestors 'none'; base-uri 'none'";
const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 800 };

const pages = allPages();
const emails = allEmails();

interface Layout {
  scrollWidth: number;
  innerWidth: number;
  stylesheetLoaded: boolean;
  lang: string;
  title: string;
  h1: number;
  headingLevels: number[];
  buttons: { text: string; disabled: boolean; left: number; right: number; height: number }[];
  lowContrast: { text: string; color: string; background: string; ratio: number }[];
}

// Runs in the page: facts about layout, headings, buttons and contrast.
function measure(): Layout {
  const rgb = (c: string): [number, number, number, number] => {
    const m = /rgba?\(([\d.]+), ([\d.]+), ([\d.]+)(?:, ([\d.]+))?\)/.exec(c);
    return m ? [Number(m[1]), Number(m[2]), Number(m[3]), m[4] === undefined ? 1 : Number(m[4])] : [0, 0, 0, 0];
  };
  const lum = ([r, g, b]: number[]) => {
    const f = (v: number) => {
      const s = v / 255;
      return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
    };
    return 0.2126 * f(r!) + 0.7152 * f(g!) + 0.0722 * f(b!);
  };
  const background = (el: Element | null): string => {
    for (; el; el = el.parentElement) {
      const c = getComputedStyle(el).backgroundColor;
      if (rgb(c)[3] > 0) return c;
    }
    return 'rgb(255, 255, 255)';
  };
  const lowContrast: Layout['lowContrast'] = [];
  for (const el of document.body.querySelectorAll('*')) {
    const own = [...el.childNodes]
      .filter((n) => n.nodeType === Node.TEXT_NODE && n.textContent!.trim())
      .map((n) => n.textContent!.trim())
      .join(' ');
    if (!own) continue;
    const st = getComputedStyle(el);
    if (st.visibility === 'hidden' || st.display === 'none') continue;
    const fg = st.color;
    const bg = background(el);
    const [l1, l2] = [lum(rgb(fg)), lum(rgb(bg))].sort((x, y) => y - x);
    const ratio = (l1! + 0.05) / (l2! + 0.05);
    if (ratio < 4.5) lowContrast.push({ text: own.slice(0, 60), color: fg, background: bg, ratio: Math.round(ratio * 100) / 100 });
  }
  return {
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
    stylesheetLoaded: getComputedStyle(document.body).backgroundColor === 'rgb(243, 244, 246)',
    lang: document.documentElement.lang,
    title: document.title,
    h1: document.querySelectorAll('h1').length,
    headingLevels: [...document.querySelectorAll('h1,h2,h3,h4,h5,h6')].map((e) => Number(e.tagName[1])),
    buttons: [...document.querySelectorAll('button, a.button')].map((b) => {
      const r = b.getBoundingClientRect();
      return {
        text: (b as HTMLElement).innerText.trim(),
        disabled: (b as HTMLButtonElement).disabled === true,
        left: r.left,
        right: r.right,
        height: r.height,
      };
    }),
    lowContrast,
  };
}

/** Tabs through the page; for each focused element: its text and whether its focus is visible. */
async function tabThrough(page: Page): Promise<{ tag: string; text: string; visibleFocus: boolean }[]> {
  const seen: { tag: string; text: string; visibleFocus: boolean }[] = [];
  await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
  for (let i = 0; i < 20; i++) {
    await page.keyboard.press('Tab');
    const f = await page.evaluate(() => {
      const el = document.activeElement as HTMLElement | null;
      if (!el || el === document.body) return null;
      const st = getComputedStyle(el);
      const outline = st.outlineStyle !== 'none' && parseFloat(st.outlineWidth) >= 2;
      const ring = st.boxShadow !== 'none' && st.boxShadow !== '';
      return { tag: el.tagName.toLowerCase(), text: el.innerText.trim(), visibleFocus: outline || ring };
    });
    if (!f) break;
    if (seen.some((s) => s.tag === f.tag && s.text === f.text)) break;
    seen.push(f);
  }
  return seen;
}

describe.skipIf(!haveChromium && !process.env.CI)('pages and emails rendered in Chromium', () => {
  let browser: Browser;
  let server: Server;
  let origin: string;
  const cspViolations: string[] = [];
  const offsite: string[] = [];

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (url.pathname === `${ASSET_BASE}/${STYLESHEET_NAME}`) {
        res.writeHead(200, { 'content-type': 'text/css; charset=utf-8' }).end(STYLESHEET);
      } else if (url.pathname.startsWith('/page/') && pages[url.pathname.slice(6)]) {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': CSP }).end(pages[url.pathname.slice(6)]);
      } else if (url.pathname.startsWith('/email/') && emails[url.pathname.slice(7)]) {
        // An email is shown as a mail client would: inline styles, nothing fetched.
        res
          .writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'" })
          .end(emails[url.pathname.slice(7)]);
      } else {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise((r) => server?.close(r));
  });

  async function open(path: string, viewport: { width: number; height: number }): Promise<Page> {
    const context = await browser.newContext({ viewport, deviceScaleFactor: 1 });
    await context.route('**/*', (route) => {
      const u = route.request().url();
      if (u.startsWith(origin)) return route.continue();
      offsite.push(u);
      return route.abort();
    });
    const page = await context.newPage();
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) cspViolations.push(`${path}: ${m.text()}`);
    });
    const res = await page.goto(`${origin}${path}`, { waitUntil: 'load' });
    expect(res?.status()).toBe(200);
    return page;
  }

  describe.each(Object.keys(pages))('page %s', (name) => {
    it('fits a phone, loads its stylesheet, passes contrast, heading and keyboard checks', async () => {
      const page = await open(`/page/${name}`, PHONE);
      try {
        await page.screenshot({ path: join(SHOTS, `${name}-390.png`), fullPage: true });
        const m = await page.evaluate(measure);
        expect(m.stylesheetLoaded, 'the stylesheet was not applied').toBe(true);
        expect(m.scrollWidth, 'scrolls sideways on a phone').toBeLessThanOrEqual(m.innerWidth);
        expect(m.lang).toBe('en');
        expect(m.title).not.toBe('');
        expect(m.h1).toBe(1);
        expect(m.headingLevels[0]).toBe(1);
        for (let i = 1; i < m.headingLevels.length; i++) expect(m.headingLevels[i]! - m.headingLevels[i - 1]!).toBeLessThanOrEqual(1);
        expect(m.lowContrast, JSON.stringify(m.lowContrast)).toEqual([]);
        for (const b of m.buttons) {
          expect(b.left, b.text).toBeGreaterThanOrEqual(0);
          expect(b.right, b.text).toBeLessThanOrEqual(m.innerWidth);
          expect(b.height, b.text).toBeGreaterThanOrEqual(44);
        }
        const focused = await tabThrough(page);
        for (const b of m.buttons.filter((x) => !x.disabled)) {
          const f = focused.find((x) => x.text === b.text);
          expect(f, `${b.text} is not reachable with Tab: ${JSON.stringify(focused)}`).toBeDefined();
        }
        for (const f of focused) expect(f.visibleFocus, `${f.tag} "${f.text}" has no visible focus`).toBe(true);
        // What keyboard focus looks like on the first button, to look at.
        const first = page.locator('button:not([disabled]), a.button').first();
        if ((await first.count()) > 0) {
          await first.focus();
          await page.screenshot({ path: join(SHOTS, `${name}-390-focus.png`) });
        }

        await page.setViewportSize(DESKTOP);
        await page.screenshot({ path: join(SHOTS, `${name}-1280.png`), fullPage: true });
      } finally {
        await page.context().close();
      }
    });
  });

  describe.each(Object.keys(emails))('%s', (name) => {
    it('fits a phone and passes contrast checks', async () => {
      const page = await open(`/email/${name}`, PHONE);
      try {
        await page.screenshot({ path: join(SHOTS, `${name}-390.png`), fullPage: true });
        const m = await page.evaluate(measure);
        expect(m.scrollWidth, 'scrolls sideways on a phone').toBeLessThanOrEqual(m.innerWidth);
        expect(m.lang).toBe('en');
        expect(m.lowContrast, JSON.stringify(m.lowContrast)).toEqual([]);
        await page.setViewportSize(DESKTOP);
        await page.screenshot({ path: join(SHOTS, `${name}-1280.png`), fullPage: true });
      } finally {
        await page.context().close();
      }
    });
  });

  it('breaks no Content-Security-Policy rule and fetches nothing from elsewhere', () => {
    expect(cspViolations).toEqual([]);
    expect(offsite).toEqual([]);
  });
});
