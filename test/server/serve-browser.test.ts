// The whole journey in a real browser: `portalctl users invite` sends the
// registration email to a real SMTP server; the Step 2 link is taken from the
// email that arrived and opened in headless Chromium (Debian's, through
// playwright-core); the person chooses NIH Network Login, signs in on the
// provider's own login page (a real oidc-provider), and lands on the success
// page — after which `portalctl users whoami-login` knows the account and
// `users show` lists the page views. Then every "Error linking your account"
// page as a person meets it, and two browsers racing for one registration.
//
// Screenshots at phone and desktop width go to test/.screenshots/ (serve-*).

import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintToken } from '../../src/domain/tokens.js';
import { DEFAULT_PASSWORD } from '../helpers/oidc.js';
import { DESKTOP, launchBrowser, PHONE, screenshot, type TestBrowser } from '../helpers/browser.js';
import { startServe, type ServeHarness } from './harness.js';

let h: ServeHarness;
let browser: TestBrowser;

beforeAll(async () => {
  [h, browser] = await Promise.all([startServe(), launchBrowser()]);
});

afterAll(async () => {
  await browser?.close();
  expect(await h?.stop()).toBe(0);
});

/** Facts about the page as shown: nothing scrolls sideways, the stylesheet applied, no CSP complaint. */
async function layout(page: Page) {
  return page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
    styled: getComputedStyle(document.body).backgroundColor === 'rgb(243, 244, 246)',
    lang: document.documentElement.lang,
    h1: document.querySelector('h1')?.textContent ?? '',
  }));
}

/**
 * What the browser complains about on serve's pages (a style or a form the
 * CSP refused, a script error); the provider's pages are not ours, and the
 * error pages' own 4xx status is meant (the stylesheet is checked by `styled`).
 */
function watchConsole(page: Page): string[] {
  const messages: string[] = [];
  const ours = () => page.url().startsWith(h.url);
  page.on('console', (m) => {
    if (ours() && !/^Failed to load resource: the server responded with a status of 4\d\d/.test(m.text())) messages.push(`${page.url()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => messages.push(`${page.url()}: ${e.message}`));
  return messages;
}

async function signInAtProvider(page: Page, username: string) {
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(DEFAULT_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

describe('from the email to a linked account in Chromium', () => {
  it('the Step 2 link from the received email → NIH Network Login → the provider’s login page → linked', async () => {
    const link = await h.invite('jane.doe@example.org', 'Jane');
    const email = h.smtp.messages.at(-1)!;
    expect(email.subject).toContain('Grants Portal');
    expect(email.html).toContain(link.replace(/&/g, '&amp;'));

    // The Step 2 page on a phone: read, not used.
    const phone = await browser.newPage(PHONE);
    const phoneConsole = watchConsole(phone);
    const shown = await phone.goto(link);
    expect(shown!.status()).toBe(200);
    expect(await layout(phone)).toMatchObject({ scrollWidth: 390, innerWidth: 390, styled: true, lang: 'en', h1: 'Link your account' });
    expect(await phone.textContent('main')).toContain('Hello Jane, you have been registered as a user of Grants Portal.');
    await screenshot(phone, 'serve-step2-phone');
    expect(phoneConsole).toEqual([]);
    await phone.close();

    // On a desktop: choose the service, sign in at the provider, come back linked.
    const page = await browser.newPage(DESKTOP);
    const desktopConsole = watchConsole(page);
    await page.goto(link);
    expect((await layout(page)).styled).toBe(true);
    await screenshot(page, 'serve-step2-desktop');
    // The buttons are reachable with the keyboard.
    await page.getByRole('button', { name: 'Link with NIH Network Login' }).focus();
    await page.keyboard.press('Enter');
    await page.waitForURL((u) => u.origin === h.oidc.issuer);
    expect(await page.textContent('h1')).toBe('Sign in');
    expect(await page.textContent('main')).toContain('Grants Portal registration');
    await signInAtProvider(page, 'jdoe');
    await page.waitForURL(`${h.url}/register/callback/nih?**`);
    expect(await page.textContent('h1')).toBe('Your NIH Network Login account jdoe is now linked to Grants Portal');
    expect(await page.getByRole('link', { name: 'Go to Grants Portal' }).getAttribute('href')).toBe(h.url);
    expect((await layout(page)).styled).toBe(true);
    await screenshot(page, 'serve-journey-success-desktop');
    expect(desktopConsole).toEqual([]);
    // No cookie of the sign-in is left behind.
    expect((await page.context().cookies(h.url)).map((c) => c.name).filter((n) => n.startsWith('portalctl'))).toEqual(['portalctl-browser']);
    await page.close();

    const who = await h.world.run(['users', 'whoami-login', 'jane.doe@example.org']);
    expect(who.exitCode).toBe(0);
    expect(who.stdout).toContain('jdoe (NIH Network Login)');
    const shownUser = (await h.world.json(['users', 'show', 'jane.doe@example.org'])).users[0];
    expect(shownUser.linkViews).toHaveLength(2);
    for (const v of shownUser.linkViews) expect(v).toMatchObject({ clientAddress: '127.0.0.1', userAgent: expect.stringContaining('HeadlessChrome') });
    expect(shownUser.linkAttempts).toEqual([expect.objectContaining({ loginService: 'nih', username: 'jdoe', outcome: 'linked' })]);
    // The terminal table the helpdesk reads.
    const table = await h.world.run(['users', 'show', 'jane.doe@example.org']);
    expect(table.stdout).toContain('# Step 2 link opened');
    expect(table.stdout).toMatch(/127\.0\.0\.1\t.*HeadlessChrome/);
  });
});

describe('every "Error linking your account" page, at phone and desktop width', () => {
  it('used, superseded, incorrectly copied, unknown, and (moving the clock) expired', async () => {
    const jane = h.smtp.linkFor('jane.doe@example.org'); // used by the journey above
    const old = await h.invite('sam@example.org', 'Sam');
    expect((await h.world.run(['users', 'resend-registration', 'sam@example.org'])).exitCode).toBe(0);
    await h.smtp.waitFor(h.smtp.messages.length);
    const late = await h.invite('lee@example.org', 'Lee');
    const cases: [string, string, number, string][] = [
      ['used', jane, 410, 'This link has already been used to link a different account.'],
      ['superseded', old, 410, 'A newer registration email replaced this link on'],
      ['malformed', jane.slice(0, -3), 400, 'incorrectly copied and pasted'],
      ['unknown', `${h.url}/register/link?token=${mintToken()}`, 404, 'There is no such registration link.'],
      ['expired', late, 410, 'The link expired on Saturday, December 5, 2026 at 09:00 Eastern Standard Time'],
    ];
    for (const viewport of [PHONE, DESKTOP]) {
      const page = await browser.newPage(viewport);
      const messages = watchConsole(page);
      for (const [name, url, status, words] of cases) {
        if (name === 'expired') h.clock.advanceDays(8);
        try {
          const r = await page.goto(url);
          expect(r!.status(), name).toBe(status);
        } finally {
          if (name === 'expired') h.clock.advanceDays(-8);
        }
        const l = await layout(page);
        expect(l, name).toMatchObject({ h1: 'Error linking your account', styled: true, scrollWidth: viewport.width });
        expect(await page.textContent('main'), name).toContain(words);
        await screenshot(page, `serve-error-${name}-${viewport === PHONE ? 'phone' : 'desktop'}`);
      }
      expect(messages).toEqual([]);
      await page.close();
    }
  });
});

describe('two browsers racing for one registration', () => {
  it('both sign in; both come back at the same moment; exactly one is linked, the other is told the link was used', async () => {
    const link = await h.invite('shared@example.org', 'Pat');
    const [a, b] = await Promise.all([browser.newPage(PHONE), browser.newPage(DESKTOP)]);
    for (const page of [a, b]) {
      await page.goto(link);
      await page.getByRole('button', { name: 'Link with NIH Network Login' }).click();
      await page.waitForURL((u) => u.origin === h.oidc.issuer);
    }
    await a.getByLabel('Username').fill('asmith');
    await b.getByLabel('Username').fill('mallory');
    for (const page of [a, b]) await page.getByLabel('Password').fill(DEFAULT_PASSWORD);
    const back = (page: Page) => page.waitForResponse((r) => r.url().startsWith(`${h.url}/register/callback/nih`));
    const [ra, rb] = await Promise.all([
      back(a),
      back(b),
      a.getByRole('button', { name: 'Sign in' }).click(),
      b.getByRole('button', { name: 'Sign in' }).click(),
    ]);
    const statuses = [ra.status(), rb.status()];
    expect([...statuses].sort()).toEqual([200, 410]);
    const [winner, loser] = statuses[0] === 200 ? [a, b] : [b, a];
    expect(await winner.textContent('h1')).toMatch(/^Your NIH Network Login account (asmith|mallory) is now linked to Grants Portal$/);
    expect(await loser.textContent('h1')).toBe('Error linking your account');
    expect(await loser.textContent('main')).toContain('This link has already been used to link a different account.');
    // Both outcomes at both widths, whichever browser won.
    for (const [page, name] of [
      [winner, 'serve-success'],
      [loser, 'serve-error-race-used'],
    ] as const) {
      for (const [viewport, width] of [
        [PHONE, 'phone'],
        [DESKTOP, 'desktop'],
      ] as const) {
        await page.setViewportSize({ width: viewport.width, height: viewport.height });
        expect((await layout(page)).scrollWidth).toBe(viewport.width);
        await screenshot(page, `${name}-${width}`);
      }
    }
    const u = (await h.world.json(['users', 'show', 'shared@example.org'])).users[0];
    expect(u.status).toBe('linked');
    expect(u.linkAttempts.map((x: { outcome: string }) => x.outcome).sort()).toEqual(['link_used', 'linked']);
    await Promise.all([a.close(), b.close()]);
  });
});
