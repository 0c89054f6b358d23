// The registration email as a person sees it: invite someone against a real
// SMTP server, take the HTML part of the delivered message and render it in
// Chromium (Debian's /usr/bin/chromium through playwright-core). Assertions
// are about what a reader notices: the Step 2 button and copyable address,
// the expiry, the Site Administrator, no images or remote resources, and a
// name typed with HTML shown as text. Screenshots go to test/.screenshots/.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import type { ParsedMail } from 'mailparser';
import type { Page } from 'playwright-core';
import { CHROMIUM_PATH, DESKTOP, launchBrowser, PHONE, screenshot, type TestBrowser } from '../helpers/browser.js';
import { world, type World } from '../helpers/run.js';
import { startSmtp, type TestSmtp } from '../helpers/smtp.js';

const NAME_FIRST = '<b>Eve</b>';
const PORTAL_NAME = 'Grants & Awards <Portal>';
const EXPIRY = 'Saturday, December 5, 2026 at 09:00 Eastern Standard Time (December 5, 14:00 UTC)';

interface Anchor {
  href: string | null;
  text: string;
  width: number;
  height: number;
  color: string;
  background: string;
}

describe.skipIf(!existsSync(CHROMIUM_PATH) && !process.env.CI)('the registration email, rendered in Chromium', () => {
  let smtp: TestSmtp;
  let w: World;
  let browser: TestBrowser;
  let message: ParsedMail;
  let html: string;
  let text: string;
  let link: string;
  let page: Page;
  /** Every request the page made: an email must fetch nothing. */
  const requested: string[] = [];

  beforeAll(async () => {
    [smtp, browser] = await Promise.all([startSmtp(), launchBrowser()]);
    w = world({ PORTALCTL_SMTP_URL: smtp.url });
    const add = await w.run([
      'portals',
      'add',
      'grants',
      '--name',
      PORTAL_NAME,
      '--url',
      'https://grants.example.org',
      '--admin-email',
      'admin@example.org',
      '--register-url',
      'https://login.example.org/register',
    ]);
    expect(add.exitCode, add.stderr).toBe(0);
    const r = await w.run(['users', 'invite', '--email', 'eve@example.org', '--first-name', NAME_FIRST, '--last-name', 'Doe']);
    expect(r.exitCode, r.stderr).toBe(0);
    message = smtp.messages[0]!;
    text = message.text ?? '';
    html = typeof message.html === 'string' ? message.html : '';
    expect(html).not.toBe('');
    link = smtp.linkFor('eve@example.org');
    page = await browser.newPage(DESKTOP);
    await page.route('**/*', (route) => {
      requested.push(route.request().url());
      return route.abort();
    });
    await page.setContent(html, { waitUntil: 'load' });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await smtp?.close();
    w?.close();
  });

  const anchors = () =>
    page.$$eval('a', (as) =>
      as.map((a) => {
        const r = a.getBoundingClientRect();
        let bg = '';
        for (let el: Element | null = a; el && !bg; el = el.parentElement) {
          const c = getComputedStyle(el).backgroundColor;
          if (c && c !== 'rgba(0, 0, 0, 0)' && c !== 'transparent') bg = c;
        }
        return { href: a.getAttribute('href'), text: a.innerText.trim(), width: r.width, height: r.height, color: getComputedStyle(a).color, background: bg };
      }),
    ) as Promise<Anchor[]>;
  const pageText = () => page.evaluate(() => document.body.innerText);

  it('shows the Step 2 link as a button whose address is the one in the text part, and as a copyable address', async () => {
    const all = await anchors();
    const button = all.find((a) => a.href === link && a.text === 'Link my account');
    expect(button, JSON.stringify(all)).toBeDefined();
    // Big enough to hit, white on a dark background.
    expect(button!.height).toBeGreaterThanOrEqual(36);
    expect(button!.width).toBeGreaterThanOrEqual(120);
    expect(button!.color).toBe('rgb(255, 255, 255)');
    expect(button!.background).toBe('rgb(30, 58, 138)');
    const t = await pageText();
    expect(t).toContain('copy this entire address into your browser:\n');
    expect(t).toContain(link);
  });

  it('says Step 1 with the registration form, Step 2, the exact expiry with its zone, and the Site Administrator, in that order', async () => {
    const t = await pageText();
    const order = [
      'Dear ',
      'Step 1',
      'register for an IMS Login Service account',
      'https://login.example.org/register',
      'Step 2',
      'Link my account',
      link,
      `This link expires on ${EXPIRY}.`,
      'Site Administrator at admin@example.org',
    ].map((s) => t.indexOf(s));
    expect(
      order.every((i) => i >= 0),
      t,
    ).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    const all = await anchors();
    expect(all).toContainEqual(expect.objectContaining({ href: 'https://login.example.org/register', text: 'register for an IMS Login Service account' }));
    expect(all).toContainEqual(expect.objectContaining({ href: 'mailto:admin@example.org', text: 'admin@example.org' }));
  });

  it('has no images and fetches nothing; every link is https or mailto', async () => {
    const media = await page.$$eval('img,picture,svg,video,audio,iframe,object,embed,source,image,canvas,link,script', (els) => els.map((e) => e.tagName));
    expect(media).toEqual([]);
    expect(requested).toEqual([]);
    expect(html).not.toMatch(/<img\b|url\s*\(|@import/i);
    for (const a of await anchors()) expect(a.href).toMatch(/^(https:\/\/|mailto:)/);
  });

  it('shows names typed with HTML as text, not markup', async () => {
    expect(await pageText()).toContain('Dear <b>Eve</b> Doe,');
    expect(await page.$$eval('b,strong,i,em', (els) => els.map((e) => (e as HTMLElement).innerText))).not.toContain('Eve');
    expect(await pageText()).toContain(PORTAL_NAME);
    expect(await page.title()).toBe(`Your registration for ${PORTAL_NAME}`);
    expect(message.subject).toBe(`Your registration for ${PORTAL_NAME}`);
  });

  it('reads on a phone: nothing wider than the screen, the button still big enough to tap', async () => {
    const phone = await browser.newPage(PHONE);
    try {
      await phone.route('**/*', (route) => route.abort());
      await phone.setContent(html, { waitUntil: 'load' });
      expect(await phone.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);
      const box = await phone.locator('a', { hasText: 'Link my account' }).boundingBox();
      expect(box!.height).toBeGreaterThanOrEqual(36);
      console.info(`registration email screenshots: ${await screenshot(page, 'email-desktop')} and ${await screenshot(phone, 'email-phone')}`);
    } finally {
      await phone.close();
    }
  });

  it('has a plain-text part that reads on its own', () => {
    const lines = text.split(/\r?\n/);
    expect(lines[0]).toBe('Dear <b>Eve</b> Doe,');
    // Each address alone on its line, so it can be copied (or clicked) whole.
    expect(lines).toContain(link);
    expect(lines).toContain('https://login.example.org/register');
    const at = (s: string) => text.indexOf(s);
    expect(at('STEP 1')).toBeGreaterThan(0);
    expect(at('STEP 1')).toBeLessThan(at('https://login.example.org/register'));
    expect(at('https://login.example.org/register')).toBeLessThan(at('STEP 2'));
    expect(at('STEP 2')).toBeLessThan(at(link));
    expect(at(link)).toBeLessThan(at('This link expires on'));
    expect(text).toContain(`This link expires on ${EXPIRY}.`);
    expect(text).toContain('Site Administrator: admin@example.org');
    // No markup of our own, no HTML entities: only the name as it was typed.
    expect(text.replaceAll(NAME_FIRST, '').replaceAll(PORTAL_NAME, '')).not.toMatch(/<[a-z/!]|&[a-z]+;|&#\d+;/i);
    // Short lines, apart from URLs and the expiry sentence (which must stay whole).
    for (const l of lines) if (!/https?:\/\/|expires on|will be removed/.test(l)) expect(l.length, l).toBeLessThanOrEqual(78);
  });
});
