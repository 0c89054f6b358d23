// A real headless Chromium (Debian's /usr/bin/chromium, never a downloaded
// one) driven by playwright-core. The flags work as root in a sandbox without
// network access. Each newPage() gets its own browser context (own cookies), so
// one browser serves many independent "people".

import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';

export interface Viewport {
  width: number;
  height: number;
  /** Honour <meta name="viewport"> and touch, as a phone does. */
  isMobile?: boolean;
}

export const PHONE: Viewport = { width: 390, height: 844, isMobile: true };
export const DESKTOP: Viewport = { width: 1280, height: 800 };

export const CHROMIUM_PATH = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';

export const SCREENSHOT_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '.screenshots');

const ARGS = [
  '--no-sandbox', // running as root
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-default-apps',
  '--disable-extensions',
];

export interface TestBrowser {
  browser: Browser;
  /** A page in a fresh context (no cookies shared with other pages). Closing the page closes its context. */
  newPage(viewport?: Viewport): Promise<Page>;
  close(): Promise<void>;
}

/**
 * Launches Chromium. playwright's launch() already uses a fresh temporary
 * --user-data-dir (removed on close); it refuses a --user-data-dir in args.
 */
export async function launchBrowser(): Promise<TestBrowser> {
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: ARGS, headless: true });
  return {
    browser,
    async newPage(viewport = DESKTOP) {
      const context = await browser.newContext({
        viewport: { width: viewport.width, height: viewport.height },
        isMobile: viewport.isMobile ?? false,
        hasTouch: viewport.isMobile ?? false,
        locale: 'en-US',
      });
      const page = await context.newPage();
      page.once('close', () => void context.close().catch(() => {}));
      return page;
    },
    close: () => browser.close(),
  };
}

/** Full-page PNG at test/.screenshots/<name>.png (gitignored); returns the path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name.replace(/[^\w.-]+/g, '-')}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
