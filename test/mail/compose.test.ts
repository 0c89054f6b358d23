import { describe, expect, it } from 'vitest';
import { composeRegistrationEmail, composeReminderEmail, composeRemovalWarningEmail, type ComposedEmail } from '../../src/mail/compose.js';
import { email, REMOVAL_AT } from '../server/fixtures.js';

const EXPIRY = 'Saturday, December 5, 2026 at 09:00 Eastern Standard Time (December 5, 14:00 UTC)';
const REMOVAL = 'Monday, December 28, 2026 at 09:00 Eastern Standard Time (December 28, 14:00 UTC)';
const REMOVAL_SENTENCE = `If you do not link an account by ${REMOVAL}, your portal profile will be removed.`;
const LINKED = { username: 'jdoe', serviceName: 'NIH Network Login' };

/** The text a reader sees in the HTML part: tags dropped, entities decoded, spaces collapsed. */
function seen(html: string): string {
  return html
    .replace(/<title>[\s\S]*?<\/title>/, '')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&mdash;/g, '—')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ')
    .replace(/ ([.,;:)])/g, '$1');
}

const lines = (m: ComposedEmail) => m.text.split('\r\n');

function expectSelfContained(m: ComposedEmail) {
  // No images, stylesheets, scripts or anything else fetched: only links.
  expect(m.html).not.toMatch(/<(img|link|script|iframe|object|embed|svg|video|audio)\b/i);
  expect(m.html).not.toMatch(/\bsrc=|url\(|@import/i);
  expect(m.html).toMatch(/^<!DOCTYPE html>\n<html lang="en">/);
  // Lines of the text part are short, except URLs and the sentences holding a date.
  for (const l of lines(m)) if (!/https?:\/\/|expires on|removed on|will be removed/.test(l)) expect(l.length, l).toBeLessThanOrEqual(78);
  expect(m.text).not.toMatch(/<[a-z/!]|&[a-z]+;|&#\d+;/i);
}

describe('the registration email', () => {
  it('says nothing about removal unless a removal date is given', () => {
    const m = composeRegistrationEmail(email);
    expect(m.text).not.toContain('will be removed');
    expect(m.html).not.toContain('will be removed');
    expectSelfContained(m);
  });

  it('with removalAt, says in both parts when the unlinked profile will be removed', () => {
    const m = composeRegistrationEmail({ ...email, removalAt: REMOVAL_AT });
    expect(lines(m)).toContain(REMOVAL_SENTENCE);
    expect(seen(m.html)).toContain(REMOVAL_SENTENCE);
    // Next to the expiry, which it does not replace.
    expect(m.text.indexOf(`This link expires on ${EXPIRY}.`)).toBeLessThan(m.text.indexOf(REMOVAL_SENTENCE));
    expectSelfContained(m);
  });

  it('keeps Step 1, Step 2, the expiry and the Site Administrator', () => {
    const m = composeRegistrationEmail(email);
    expect(m.subject).toBe('Your registration for Grants Portal');
    expect(m.replyTo).toBe('admin@example.org');
    expect(lines(m)).toContain(email.linkUrl);
    expect(lines(m)).toContain(email.registerUrl);
    expect(m.text).toContain(`This link expires on ${EXPIRY}.`);
    const t = seen(m.html);
    for (const s of [
      'Step 1',
      'register for an IMS Login Service account',
      'Step 2',
      'Link my account',
      `This link expires on ${EXPIRY}.`,
      'Site Administrator at admin@example.org',
    ]) {
      expect(t).toContain(s);
    }
  });

  describe('re-sent to someone already linked', () => {
    const m = composeRegistrationEmail({ ...email, linkedAs: LINKED, removalAt: REMOVAL_AT });

    it('says whom they are linked as, and that the link is only for switching login service', () => {
      for (const part of [m.text.replace(/\r\n/g, ' '), seen(m.html)]) {
        expect(part).toContain('You are linked as jdoe (NIH Network Login).');
        expect(part).toContain('Use this link only if you want to switch to a different login service (or if you were told to)');
        expect(part).toContain('you do not need to do anything');
      }
      expect(lines(m)).toContain('You are linked as jdoe (NIH Network Login).');
    });

    it('does not tell them to link before signing in, nor that their profile will be removed', () => {
      for (const part of [m.text, m.html]) {
        expect(part).not.toContain('Before you can sign in');
        expect(part).not.toContain('will be removed');
        expect(part).not.toContain('Link my account');
      }
    });

    it('still carries the link, its expiry and the registration form for switching to the IMS Login Service', () => {
      expect(lines(m)).toContain(email.linkUrl);
      expect(m.text).toContain(`This link expires on ${EXPIRY}.`);
      expect(m.html).toContain(`href="${email.linkUrl}"`);
      expect(seen(m.html)).toContain('Switch my login service');
      expect(seen(m.html)).toContain('Step 2 — Switch your login service for Grants Portal');
      expect(lines(m)).toContain(email.registerUrl);
      expectSelfContained(m);
    });
  });
});

describe('the reminder', () => {
  const m = composeReminderEmail({ ...email, removalAt: REMOVAL_AT });

  it('has a short subject without the person’s name', () => {
    expect(m.subject).toBe('Reminder: link your account to Grants Portal');
    expect(m.to).toBe('eve@example.org');
    expect(m.replyTo).toBe('admin@example.org');
  });

  it('carries the working Step 2 link and the original expiry', () => {
    expect(lines(m)).toContain(email.linkUrl);
    expect(lines(m)).toContain(`Your link expires on ${EXPIRY}.`);
    expect(m.html).toContain(`href="${email.linkUrl}"`);
    expect(seen(m.html)).toContain(`Your link expires on ${EXPIRY}.`);
    expect(seen(m.html)).toContain('Link my account');
  });

  it('repeats Step 1 for people without an account, and names the Site Administrator', () => {
    expect(lines(m)).toContain(email.registerUrl);
    expect(m.html).toContain(`href="${email.registerUrl}"`);
    expect(seen(m.html)).toContain('register for an IMS Login Service account');
    expect(m.text).toContain('Site Administrator: admin@example.org');
    expect(m.html).toContain('href="mailto:admin@example.org"');
  });

  it('states the removal date when given, and not otherwise', () => {
    expect(lines(m)).toContain(REMOVAL_SENTENCE);
    expect(seen(m.html)).toContain(REMOVAL_SENTENCE);
    const plain = composeReminderEmail(email);
    expect(plain.text + plain.html).not.toContain('will be removed');
    expectSelfContained(m);
    expectSelfContained(plain);
  });
});

describe('the removal warning', () => {
  const m = composeRemovalWarningEmail({ ...email, removalAt: REMOVAL_AT });

  it('names the removal date in the subject (in the portal’s zone) and in full in the body', () => {
    expect(m.subject).toBe('Your Grants Portal profile will be removed on December 28');
    expect(lines(m)).toContain(`Your portal profile will be removed on ${REMOVAL}.`);
    expect(seen(m.html)).toContain(`Your portal profile will be removed on ${REMOVAL}.`);
    // 03:00 UTC on the 28th is still the 27th in New York.
    const early = composeRemovalWarningEmail({ ...email, removalAt: '2026-12-28T03:00:00.000Z' });
    expect(early.subject).toBe('Your Grants Portal profile will be removed on December 27');
  });

  it('tells them to ask the Site Administrator for a new registration email, or to do nothing', () => {
    expect(m.text.replace(/\r\n/g, ' ')).toContain(
      'Ask the Site Administrator for a new registration email, with a new link, before that date: admin@example.org',
    );
    expect(seen(m.html)).toContain('Ask the Site Administrator at admin@example.org for a new registration email');
    expect(m.html).toMatch(/href="mailto:admin@example\.org\?subject=New%20registration%20email%20for%20Grants%20Portal"/);
    for (const part of [m.text, seen(m.html)]) expect(part).toContain('You do not need to do anything.');
  });

  it('carries no Step 2 link', () => {
    for (const part of [m.text, m.html]) {
      expect(part).not.toContain('token=');
      expect(part).not.toContain('/register/link');
      expect(part).not.toContain('Link my account');
    }
    expectSelfContained(m);
  });
});

describe('untrusted values', () => {
  const evil = {
    ...email,
    portalName: 'A & <B> "Portal"',
    firstName: '<script>alert(1)</script>',
    lastName: `"O'Brien" & <b>Co</b>`,
    to: 'eve+<x>@example.org',
    adminEmail: 'admin+"&<>@example.org',
    linkUrl: 'https://grants.example.org/register/link?token=a&b="><script>x</script>',
    registerUrl: 'https://login.example.org/register?a=1&b="<i>',
    portalUrl: 'https://grants.example.org/?q="<u>&',
  };
  const all: [string, ComposedEmail][] = [
    ['registration', composeRegistrationEmail({ ...evil, removalAt: REMOVAL_AT })],
    ['registration (linked)', composeRegistrationEmail({ ...evil, linkedAs: { username: '<img src=x onerror=alert(1)>', serviceName: 'NIH & "Co" <Login>' } })],
    ['reminder', composeReminderEmail({ ...evil, removalAt: REMOVAL_AT })],
    ['removal warning', composeRemovalWarningEmail({ ...evil, removalAt: REMOVAL_AT })],
  ];

  it.each(all)('are escaped in the HTML part of the %s', (_, m) => {
    expect(m.html).not.toContain('<script');
    expect(m.html).not.toContain('<img');
    expect(m.html).not.toMatch(/<[biu]>/);
    expect(m.html).not.toContain('"Portal"');
    expect(m.html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(m.html).toContain('A &amp; &lt;B&gt; &quot;Portal&quot;');
    expect(m.html).toContain('&quot;O&#39;Brien&quot; &amp; &lt;b&gt;Co&lt;/b&gt;');
    // Every attribute value stays one attribute: no raw quote or angle bracket inside.
    for (const [, value] of m.html.matchAll(/\b(?:href|style|content|class|role|width|align|cellpadding|cellspacing|lang|charset|name)="([^"]*)"/g)) {
      expect(value).not.toMatch(/[<>]/);
    }
    // The text part holds the values as typed, nothing more.
    expect(m.text).toContain('Dear <script>alert(1)</script>');
  });

  it.each(all)('stay out of the subject of the %s, which never holds the person’s name', (_, m) => {
    expect(m.subject).not.toContain('script');
    expect(m.subject).not.toContain('Brien');
    expect(m.subject).not.toMatch(/[\r\n]/);
    expect(m.to).toBe(evil.to);
  });

  it('escape the linked username and service name', () => {
    const m = all[1]![1];
    expect(m.html).toContain('You are linked as &lt;img src=x onerror=alert(1)&gt; (NIH &amp; &quot;Co&quot; &lt;Login&gt;).');
  });

  it('escape URLs inside href attributes', () => {
    const m = all[0]![1];
    expect(m.html).toContain('href="https://grants.example.org/register/link?token=a&amp;b=&quot;&gt;&lt;script&gt;x&lt;/script&gt;"');
    expect(m.html).toContain('href="mailto:admin+&quot;&amp;&lt;&gt;@example.org"');
  });
});
