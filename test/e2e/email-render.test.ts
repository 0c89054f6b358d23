// The registration email as a person sees it: invite someone against a real
// SMTP server, take the HTML part of the delivered message and render it in
// headless Chromium. Assertions are about what a reader notices: the Step 2
// button and copyable address, the expiry, the Site Administrator, no images
// or remote resources, and a name typed with HTML shown as text.
//
// Needs Chromium (Debian: apt-get install -y chromium). Skipped when it is
// missing, unless CI is set. Screenshots are kept in a temporary folder
// outside the repository; the test prints where.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { accessSync, constants, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, isAbsolute, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ParsedMail } from 'mailparser';
import { sandbox, type Sandbox } from '../helpers/cli.js';
import { startSmtp, type TestSmtp } from '../helpers/smtp.js';

const REPO = resolve(import.meta.dirname, '../..');

function findChromium(): string | undefined {
  const candidates = [process.env.CHROMIUM_BIN, 'chromium', 'chromium-browser', 'google-chrome-stable', 'google-chrome'].filter((c): c is string => !!c);
  for (const c of candidates) {
    const paths = isAbsolute(c)
      ? [c]
      : (process.env.PATH ?? '')
          .split(delimiter)
          .filter(Boolean)
          .map((d) => join(d, c));
    for (const p of paths) {
      try {
        accessSync(p, constants.X_OK);
        return p;
      } catch {
        // not here
      }
    }
  }
  return undefined;
}

const CHROMIUM = findChromium();

/** Runs headless Chromium with a throw-away profile and no network at all; returns stdout. */
async function chromium(args: string[]): Promise<string> {
  if (!CHROMIUM) throw new Error('Chromium is not installed; on Debian: apt-get install -y chromium (or set CHROMIUM_BIN)');
  const profile = mkdtempSync(join(tmpdir(), 'portalctl-chromium-'));
  try {
    const r = await execa(
      CHROMIUM,
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--disable-dev-shm-usage',
        '--hide-scrollbars',
        // Any host name fails to resolve: a remote resource could not load even if there were one.
        '--host-resolver-rules=MAP * ~NOTFOUND',
        `--user-data-dir=${profile}`,
        ...args,
      ],
      { timeout: 90_000, reject: true, stdin: 'ignore' },
    );
    return String(r.stdout);
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}

interface Facts {
  title: string;
  text: string;
  anchors: { href: string | null; text: string; width: number; height: number; color: string; background: string }[];
  /** Elements that show or fetch media. */
  media: string[];
  /** Attributes, <link>s and styles that would fetch something from the network. */
  remote: string[];
  /** Resources the page actually requested. */
  requested: string[];
  boldTexts: string[];
}

// Runs inside the rendered page, at the end of <body>, after layout.
const PROBE = `<script>(() => {
  const all = [...document.querySelectorAll('*')].filter((el) => el.id !== 'facts-probe');
  const remoteUrl = /(?:https?:)?\\/\\//i;
  const remote = [];
  for (const el of all) {
    for (const at of el.attributes) {
      const tag = el.tagName.toLowerCase();
      if (tag === 'a' && at.name === 'href') continue;
      if (['src', 'srcset', 'background', 'poster', 'data', 'href', 'action', 'xlink:href', 'lowsrc', 'dynsrc'].includes(at.name) && remoteUrl.test(at.value)) remote.push(tag + ' ' + at.name + '=' + at.value);
      if (at.name === 'style' && /url\\s*\\(|@import/i.test(at.value)) remote.push(tag + ' style=' + at.value);
    }
    if (el.tagName === 'LINK') remote.push('link ' + el.outerHTML);
    if (el.tagName === 'STYLE' && /url\\s*\\(|@import/i.test(el.textContent)) remote.push('style ' + el.textContent);
    if (el.tagName === 'SCRIPT' && el.id !== 'facts-probe') remote.push('script ' + el.outerHTML.slice(0, 200));
  }
  const anchors = [...document.querySelectorAll('a')].map((a) => {
    const r = a.getBoundingClientRect();
    const bg = (el) => { for (; el; el = el.parentElement) { const c = getComputedStyle(el).backgroundColor; if (c && c !== 'rgba(0, 0, 0, 0)' && c !== 'transparent') return c; } return ''; };
    return { href: a.getAttribute('href'), text: a.innerText.trim(), width: r.width, height: r.height, color: getComputedStyle(a).color, background: bg(a) };
  });
  const facts = {
    title: document.title,
    text: document.body.innerText,
    anchors,
    media: [...document.querySelectorAll('img,picture,svg,video,audio,iframe,object,embed,source,image,canvas')].map((e) => e.tagName.toLowerCase()),
    remote,
    requested: performance.getEntriesByType('resource').map((e) => e.name),
    boldTexts: [...document.querySelectorAll('b,strong,i,em')].map((e) => e.innerText),
  };
  const out = document.createElement('script');
  out.type = 'application/json';
  out.id = 'facts-out';
  out.textContent = JSON.stringify(facts).replace(/</g, '\\\\u003c');
  document.body.appendChild(out);
})();</script>`.replace('<script>', '<script id="facts-probe">');

async function renderFacts(html: string, dir: string): Promise<Facts> {
  const file = join(dir, 'email-probe.html');
  writeFileSync(file, html.replace(/<\/body>/i, `${PROBE}</body>`));
  const dom = await chromium(['--window-size=800,1100', '--dump-dom', pathToFileURL(file).href]);
  const json = /<script type="application\/json" id="facts-out">([\s\S]*?)<\/script>/.exec(dom)?.[1];
  if (!json) throw new Error(`the rendered page has no facts; Chromium printed:\n${dom.slice(0, 2000)}`);
  return JSON.parse(json) as Facts;
}

async function screenshot(htmlFile: string, out: string, width: number): Promise<void> {
  await chromium([`--window-size=${width},1100`, `--screenshot=${out}`, pathToFileURL(htmlFile).href]);
  expect(statSync(out).size).toBeGreaterThan(10_000);
}

const NAME_FIRST = '<b>Eve</b>';
const PORTAL_NAME = 'Grants & Awards <Portal>';
const EXPIRY = 'Saturday, December 5, 2026 at 09:00 Eastern Standard Time (December 5, 14:00 UTC)';

describe.skipIf(!CHROMIUM && !process.env.CI)('the registration email, rendered in Chromium', () => {
  let sb: Sandbox;
  let smtp: TestSmtp;
  let message: ParsedMail;
  let text: string;
  let html: string;
  let link: string;
  let shots: string;
  let facts: Facts;

  beforeAll(async () => {
    smtp = await startSmtp();
    sb = sandbox({ PORTALCTL_SMTP_URL: smtp.url });
    const add = await sb.run([
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
    const r = await sb.run(['users', 'invite', '--email', 'eve@example.org', '--first-name', NAME_FIRST, '--last-name', 'Doe']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(smtp.messages).toHaveLength(1);
    message = smtp.messages[0]!;
    text = message.text ?? '';
    html = typeof message.html === 'string' ? message.html : '';
    expect(html).not.toBe('');
    link = smtp.linkFor('eve@example.org');

    shots = mkdtempSync(join(tmpdir(), 'portalctl-email-render-'));
    expect(relative(REPO, shots).startsWith('..')).toBe(true);
    const file = join(shots, 'email.html');
    writeFileSync(file, html);
    [facts] = await Promise.all([renderFacts(html, shots), screenshot(file, join(shots, 'email-800.png'), 800)]);
    await screenshot(file, join(shots, 'email-390.png'), 390);
    console.info(`registration email screenshots: ${join(shots, 'email-800.png')} and ${join(shots, 'email-390.png')}`);
  }, 240_000);

  afterAll(async () => {
    await smtp?.close();
    sb?.cleanup();
  });

  it('shows the Step 2 link as a button whose address is the one in the text part, and as a copyable address', () => {
    const toLink = facts.anchors.filter((a) => a.href === link);
    expect(toLink.length).toBeGreaterThanOrEqual(1);
    const button = toLink.find((a) => a.text === 'Link my account');
    expect(button, JSON.stringify(facts.anchors)).toBeDefined();
    // Big enough to hit, white on a dark background.
    expect(button!.height).toBeGreaterThanOrEqual(36);
    expect(button!.width).toBeGreaterThanOrEqual(120);
    expect(button!.color).toBe('rgb(255, 255, 255)');
    expect(button!.background).toBe('rgb(30, 58, 138)');
    // The whole address is on the page, to copy when the button does not work.
    expect(facts.text).toContain(`copy this entire address into your browser:\n`);
    expect(facts.text).toContain(link);
  });

  it('says Step 1 with the registration form, Step 2, the exact expiry with its zone, and the Site Administrator, in that order', () => {
    const t = facts.text;
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
    expect(text).toContain(`This link expires on ${EXPIRY}.`);
    expect(facts.anchors).toContainEqual(
      expect.objectContaining({ href: 'https://login.example.org/register', text: 'register for an IMS Login Service account' }),
    );
    expect(facts.anchors).toContainEqual(expect.objectContaining({ href: 'mailto:admin@example.org', text: 'admin@example.org' }));
  });

  it('has no images and fetches nothing; every link is https or mailto', () => {
    expect(facts.media).toEqual([]);
    expect(facts.remote).toEqual([]);
    expect(facts.requested).toEqual([]);
    expect(html).not.toMatch(/<img\b/i);
    for (const a of facts.anchors) expect(a.href).toMatch(/^(https:\/\/|mailto:)/);
  });

  it('shows names typed with HTML as text, not markup', () => {
    expect(facts.text).toContain('Dear <b>Eve</b> Doe,');
    expect(facts.boldTexts).not.toContain('Eve');
    expect(facts.text).toContain(PORTAL_NAME);
    expect(facts.title).toBe(`Your registration for ${PORTAL_NAME}`);
    expect(message.subject).toBe(`Your registration for ${PORTAL_NAME}`);
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
    expect(text).toContain('Site Administrator: admin@example.org');
    // No markup of our own, no HTML entities: only the name as it was typed.
    expect(text.replaceAll(NAME_FIRST, '').replaceAll(PORTAL_NAME, '')).not.toMatch(/<[a-z/!]|&[a-z]+;|&#\d+;/i);
    // Short lines, apart from URLs and the expiry sentence (which must stay whole).
    for (const l of lines) if (!/https?:\/\/|expires on/.test(l)) expect(l.length, l).toBeLessThanOrEqual(78);
  });
});
