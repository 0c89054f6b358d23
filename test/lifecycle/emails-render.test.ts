// The reminder and the removal warning exactly as `remind` sent them (taken
// from a real SMTP server), rendered in headless Chromium at phone and desktop
// width, as a mail client shows HTML: inline styles only, nothing fetched.
// Screenshots land in test/.screenshots/ (git-ignored) to look at.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessSync, constants } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CHROMIUM_PATH, DESKTOP, launchBrowser, PHONE, screenshot, type TestBrowser } from '../helpers/browser.js';
import { startSmtp, type TestSmtp } from '../helpers/smtp.js';
import type { World } from '../helpers/run.js';
import { at, linkIn, mailsTo, portalWith, REMINDER_SUBJECT } from './fixtures.js';

const haveChromium = (() => {
  try {
    accessSync(CHROMIUM_PATH, constants.X_OK);
    return true;
  } catch {
    return false;
  }
})();

describe.skipIf(!haveChromium && !process.env.CI)('the reminder and the removal warning in Chromium', () => {
  let smtp: TestSmtp;
  let w: World;
  let browser: TestBrowser;
  let server: Server;
  let origin: string;
  const html: Record<string, string> = {};
  let reminderLink = '';

  beforeAll(async () => {
    smtp = await startSmtp();
    const s = await portalWith(smtp, 1, { prefix: 'maximiliana.alexandrina-konstantinopolis', portal: ['--time-zone', 'America/Los_Angeles'] });
    w = s.w;
    const to = s.emails[0]!;
    expect((await w.run(['remind', '--yes'], { now: at(2) })).exitCode).toBe(0);
    expect((await w.run(['remind', '--yes'], { now: at(23) })).exitCode).toBe(0);
    const mails = mailsTo(smtp, to);
    const reminder = mails.find((m) => m.subject === REMINDER_SUBJECT)!;
    const warning = mails.find((m) => /will be removed/.test(m.subject ?? ''))!;
    html.reminder = String(reminder.html);
    html['removal-warning'] = String(warning.html);
    reminderLink = linkIn(reminder);
    server = createServer((req, res) => {
      const name = (req.url ?? '').slice(1);
      if (!html[name]) return void res.writeHead(404).end();
      res
        .writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'" })
        .end(html[name]);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await launchBrowser();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise((r) => server?.close(r));
    await smtp?.close();
    w?.close();
  });

  for (const name of ['reminder', 'removal-warning']) {
    it(`${name}: fits a phone without sideways scrolling; its button is on screen and big enough to tap; nothing is fetched`, async () => {
      const page = await browser.newPage(PHONE);
      const fetched: string[] = [];
      page.on('request', (r) => {
        if (!r.url().startsWith(origin)) fetched.push(r.url());
      });
      try {
        await page.goto(`${origin}/${name}`, { waitUntil: 'load' });
        const m = await page.evaluate(() => ({
          scrollWidth: document.documentElement.scrollWidth,
          innerWidth: window.innerWidth,
          lang: document.documentElement.lang,
          buttons: [...document.querySelectorAll('a')]
            .filter((a) => /Link my account/.test(a.textContent ?? ''))
            .map((a) => {
              const r = a.getBoundingClientRect();
              return { href: a.getAttribute('href'), left: r.left, right: r.right, height: r.height };
            }),
          text: document.body.innerText,
        }));
        await screenshot(page, `lifecycle-${name}-390`);
        expect(m.scrollWidth, 'scrolls sideways on a phone').toBeLessThanOrEqual(m.innerWidth);
        expect(m.lang).toBe('en');
        if (name === 'reminder') {
          expect(m.buttons).toHaveLength(1);
          expect(m.buttons[0]!.href).toBe(reminderLink);
          expect(m.buttons[0]!.left).toBeGreaterThanOrEqual(0);
          expect(m.buttons[0]!.right).toBeLessThanOrEqual(m.innerWidth);
          expect(m.buttons[0]!.height).toBeGreaterThanOrEqual(44);
          expect(m.text).toContain('Your link expires on Saturday, December 5, 2026 at 06:00 Pacific Standard Time');
        } else {
          expect(m.buttons).toEqual([]);
          expect(m.text).toContain('Your portal profile will be removed on Monday, December 28, 2026 at 06:00 Pacific Standard Time');
          expect(m.text).toMatch(/Ask the Site Administrator at admin@example\.org for a new registration email/);
        }
        await page.setViewportSize(DESKTOP);
        await screenshot(page, `lifecycle-${name}-1280`);
        expect(fetched).toEqual([]);
      } finally {
        await page.close();
      }
    });
  }
});
