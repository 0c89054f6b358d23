import { describe, expect, it } from 'vitest';
import {
  ERROR_CODES,
  ERROR_STATUS,
  errorPage,
  errorStatus,
  STYLESHEET,
  STYLESHEET_NAME,
  step2Page,
  successPage,
  type ErrorCode,
} from '../../src/server/pages.js';
import { allPages, ASSET_BASE, errorOf, services, step2, WHEN } from './fixtures.js';

/** The text a reader sees: tags dropped, entities decoded, spaces collapsed. */
function seen(html: string): string {
  return html
    .replace(/<head>[\s\S]*?<\/head>/, '')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ')
    .replace(/ ([.,;:)])/g, '$1');
}

describe('every page', () => {
  it.each(Object.entries(allPages()))('%s is a whole, accessible document with no inline style or script', (_, html) => {
    expect(html).toMatch(/^<!DOCTYPE html>\n<html lang="en">/);
    expect(html.match(/<title>[^<]+<\/title>/g)).toHaveLength(1);
    expect(html.match(/<h1[\s>]/g)).toHaveLength(1);
    expect(html).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">');
    // The server's CSP allows styles from 'self' only, and no script at all.
    expect(html).not.toMatch(/\sstyle=/i);
    expect(html).not.toMatch(/<style/i);
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/\son[a-z]+=/i);
    expect(html).toMatch(new RegExp(`<link rel="stylesheet" href="${ASSET_BASE}/${STYLESHEET_NAME}\\?v=[0-9a-f]{12}">`));
    // Headings in order: no level skipped.
    const levels = [...html.matchAll(/<h([1-6])[\s>]/g)].map((m) => Number(m[1]));
    expect(levels[0]).toBe(1);
    for (let i = 1; i < levels.length; i++) expect(levels[i]! - levels[i - 1]!).toBeLessThanOrEqual(1);
  });

  it('links the stylesheet under the asset base, with or without a trailing slash', () => {
    expect(successPage({ portalName: 'P', portalUrl: 'https://p.example', serviceName: 'S', username: 'u', assetBase: '/x/assets/' })).toMatch(
      /href="\/x\/assets\/portalctl\.css\?v=/,
    );
  });
});

describe('the stylesheet', () => {
  it('fetches nothing and shows keyboard focus', () => {
    expect(STYLESHEET).not.toMatch(/url\(|@import/);
    expect(STYLESHEET).toContain(':focus-visible');
    expect(STYLESHEET).toContain('#1e3a8a');
    expect(STYLESHEET_NAME).toBe('portalctl.css');
  });
});

describe('the Step 2 page', () => {
  const html = step2Page(step2);
  const text = seen(html);

  it('greets the person, names the portal and states the expiry', () => {
    expect(text).toContain('Hello Eve,');
    expect(text).toContain('registered as a user of Grants Portal');
    expect(text).toContain(`This link expires on ${WHEN}.`);
    expect(html).toContain('<title>Link your account – Grants Portal</title>');
  });

  it('posts token, csrf and the chosen service from one real button per login service', () => {
    const form = /<form method="post" action="\/register\/link">([\s\S]*?)<\/form>/.exec(html)?.[1];
    expect(form).toBeDefined();
    expect(form).toContain(`<input type="hidden" name="token" value="${step2.token}">`);
    expect(form).toContain(`<input type="hidden" name="csrf" value="${step2.csrfToken}">`);
    expect(form).toMatch(/<button type="submit" name="service" value="nih"[^>]*>Link with NIH Network Login<\/button>/);
    expect(form).toMatch(/<button type="submit" name="service" value="ims-employee"[^>]*>Link with IMS Employee Login<\/button>/);
    expect(form).toMatch(/<button type="submit" name="service" value="ims"[^>]*>Link with IMS Login Service<\/button>/);
    expect(form!.match(/<button/g)).toHaveLength(3);
  });

  it('says which service to choose (the FAQ: NIH and IMS employees use their network login)', () => {
    expect(text).toContain('NIH and IMS employees are encouraged to use their network login accounts.');
    expect(text).toContain('For NIH staff');
    expect(text).toContain('For IMS employees');
    expect(text).toContain('For everyone else');
  });

  it('shows a service that is not configured as a disabled button that submits nothing', () => {
    const h = step2Page({ ...step2, services: services(['nih']) });
    expect(h).toMatch(/<button type="button" disabled[^>]*>Link with NIH Network Login \(not available\)<\/button>/);
    expect(h).not.toContain('value="nih"');
    expect(h).toMatch(/<button type="submit" name="service" value="ims"/);
  });

  it('repeats Step 1 and says the link is personal and works once', () => {
    expect(html).toContain(`<a href="${step2.registerUrl}">Register for an IMS Login Service account</a>`);
    expect(text).toContain('This link is personal: it is unique to you and works once');
  });

  it('tells someone already linked that the page is only for switching login service', () => {
    const h = seen(step2Page({ ...step2, linkedAs: { username: 'jdoe', serviceName: 'NIH Network Login' } }));
    expect(h).toContain('You are linked as jdoe (NIH Network Login).');
    expect(h).toContain('Use this page only if you want to switch to a different login service (or if you were told to).');
    expect(text).not.toContain('You are linked as');
  });

  it('escapes every value', () => {
    const h = step2Page({
      ...step2,
      portalName: 'A & <B>',
      firstName: '<script>alert(1)</script>',
      expiresAtText: '"soon" & <never>',
      services: [
        { key: 'x"><script>', name: '<b>Evil</b> & "Co"', available: true },
        { key: 'y', name: '<i>Off</i>', available: false },
      ],
      registerUrl: 'https://login.example.org/register?a=1&b="<x>',
      token: 'tok"><script>',
      csrfToken: 'c&"<>',
      formAction: '/register/link?a="<x>',
      adminEmail: 'admin+"<x>@example.org',
      linkedAs: { username: '<img src=x>', serviceName: '"&"' },
      assetBase: '/assets"<x>',
    });
    expect(h).not.toMatch(/<(script|b|i|img|x)[\s>]/);
    expect(h).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(h).toContain('A &amp; &lt;B&gt;');
    expect(h).toContain('&quot;soon&quot; &amp; &lt;never&gt;');
    expect(h).toContain('value="x&quot;&gt;&lt;script&gt;"');
    expect(h).toContain('Link with &lt;b&gt;Evil&lt;/b&gt; &amp; &quot;Co&quot;');
    expect(h).toContain('value="tok&quot;&gt;&lt;script&gt;"');
    expect(h).toContain('value="c&amp;&quot;&lt;&gt;"');
    expect(h).toContain('href="https://login.example.org/register?a=1&amp;b=&quot;&lt;x&gt;"');
    expect(h).toContain('action="/register/link?a=&quot;&lt;x&gt;"');
    expect(h).toContain('href="mailto:admin+&quot;&lt;x&gt;@example.org"');
    expect(h).toContain('You are linked as &lt;img src=x&gt; (&quot;&amp;&quot;).');
    expect(h).toContain('href="/assets&quot;&lt;x&gt;/portalctl.css');
    for (const [, value] of h.matchAll(/\s[a-z-]+="([^"]*)"/g)) expect(value).not.toMatch(/[<>"]/);
  });

  it('makes a link only of web addresses', () => {
    const h = step2Page({ ...step2, registerUrl: 'javascript:alert(1)', formAction: '//evil.example/steal' });
    expect(h).not.toContain('javascript:');
    expect(h).not.toContain('evil.example');
    expect(h).toContain('<a href="#">Register for an IMS Login Service account</a>');
  });

  it('takes plain relative references, so a portal below a path prefix works; nothing a browser could read as a scheme', () => {
    expect(step2Page({ ...step2, formAction: 'link' })).toContain('<form method="post" action="link">');
    for (const bad of ['java\tscript:alert(1)', 'javascript:alert(1)', 'a b', 'data:text/html,x', ' link']) {
      expect(step2Page({ ...step2, formAction: bad }), bad).toContain('<form method="post" action="#">');
    }
  });
});

describe('the "Error linking your account" page', () => {
  it('has the HTTP status of each code', () => {
    expect(ERROR_STATUS).toEqual({
      link_expired: 410,
      link_superseded: 410,
      link_used: 410,
      link_malformed: 400,
      link_unknown: 404,
      account_in_use: 409,
      signin_failed: 400,
      service_unavailable: 503,
      form_expired: 403,
      rate_limited: 429,
      not_found: 404,
    });
    for (const code of ERROR_CODES) expect(errorStatus(code)).toBe(ERROR_STATUS[code]);
  });

  // The FAQ's words, and what to do next, per reason.
  const words: Record<ErrorCode, string[]> = {
    link_expired: [
      `The link expired on ${WHEN}.`,
      'Contact the Site Administrator at admin@example.org to reissue you a new registration email with a new link.',
    ],
    link_malformed: [
      'incorrectly copied and pasted from the email to the browser',
      'Click the link in Step 2 of the registration email: this is the safest option.',
      'copy and paste the entire URL into your browser, and check that it matches the one in the email',
    ],
    link_unknown: [
      'There is no such registration link.',
      'incorrectly copied and pasted',
      'Click the link in Step 2',
      'contact the Site Administrator at admin@example.org for a new registration email',
    ],
    link_superseded: [
      `A newer registration email replaced this link on ${WHEN}.`,
      'Use the link in Step 2 of the newest registration email you received for Grants Portal.',
    ],
    link_used: [
      'This link has already been used to link a different account.',
      'Each registration email is unique to the person receiving it.',
      'contact the Site Administrator at admin@example.org to create a new portal account',
    ],
    account_in_use: [
      'The NIH Network Login account jdoe is already linked to another user of Grants Portal.',
      'sign in with your own account',
      'contact the Site Administrator',
    ],
    signin_failed: [
      'The sign-in with the login service did not complete',
      'cancelled',
      'the session expired',
      'Your link has not been used.',
      'Open the link in Step 2 of your registration email again',
    ],
    service_unavailable: ['not available right now', 'Try again in a few minutes'],
    form_expired: ['opened in another browser', 'blocks cookies', 'Your link has not been used.', 'Open the link in Step 2 of your registration email again'],
    rate_limited: ['Too many attempts', 'too many requests', 'Wait a few minutes'],
    not_found: ['Page not found', 'There is no page at this address.', 'click the link in Step 2 of your registration email'],
  };

  it.each(ERROR_CODES)('%s says what happened and what to do, in the FAQ’s words', (code) => {
    const html = errorOf(code);
    const text = seen(html);
    for (const w of words[code]) expect(text, text).toContain(w);
    expect(text).toContain(`Error code for the Site Administrator: ${code}`);
    if (code.startsWith('link_') || ['account_in_use', 'signin_failed', 'service_unavailable', 'form_expired'].includes(code)) {
      expect(html).toContain('<h1>Error linking your account</h1>');
      expect(html).toContain('<title>Error linking your account – Grants Portal</title>');
    }
    // The Site Administrator's address, as a mailto link, once.
    if (code !== 'not_found' && code !== 'rate_limited') expect(html.match(/href="mailto:admin@example\.org"/g)).toHaveLength(1);
  });

  it('without an address for the Site Administrator, says where to find it', () => {
    const html = errorPage({ code: 'link_expired', assetBase: ASSET_BASE });
    expect(html).not.toContain('mailto:');
    expect(seen(html)).toContain(
      'Contact the Site Administrator (their address is in your registration email) to reissue you a new registration email with a new link.',
    );
    expect(seen(html)).toContain('The link has expired. The registration email gives its expiration date.');
  });

  it('escapes every value', () => {
    const html = errorPage({
      portalName: '<script>x</script>',
      portalUrl: 'https://p.example/?a="<b>',
      adminEmail: 'a+"<i>@example.org',
      code: 'account_in_use',
      detail: { whenText: '<u>then</u>', serviceName: '<s>svc</s>', username: '"&<em>' },
      assetBase: ASSET_BASE,
    });
    expect(html).not.toMatch(/<(script|b|i|u|s|em)[\s>]/);
    expect(html).toContain('&lt;script&gt;x&lt;/script&gt;');
    expect(html).toContain('The &lt;s&gt;svc&lt;/s&gt; account &quot;&amp;&lt;em&gt; is already linked');
    expect(html).toContain('href="mailto:a+&quot;&lt;i&gt;@example.org"');
    const used = errorPage({ portalName: 'P', portalUrl: 'https://p.example/?a="<b>', code: 'link_used', assetBase: ASSET_BASE });
    expect(used).toContain('href="https://p.example/?a=&quot;&lt;b&gt;"');
    const expired = errorPage({ code: 'link_expired', detail: { whenText: '<u>then</u>' }, assetBase: ASSET_BASE });
    expect(expired).toContain('The link expired on &lt;u&gt;then&lt;/u&gt;.');
  });
});

describe('the page after linking', () => {
  const html = successPage({
    portalName: 'Grants Portal',
    portalUrl: 'https://grants.example.org',
    serviceName: 'NIH Network Login',
    username: 'jdoe',
    assetBase: ASSET_BASE,
  });

  it('says which account is now linked to which portal, and links to the portal’s Home page', () => {
    expect(html).toContain('<h1>Your NIH Network Login account jdoe is now linked to Grants Portal</h1>');
    expect(html).toContain('<a href="https://grants.example.org" class="button">Go to Grants Portal</a>');
    expect(seen(html)).toContain('please update your bookmark');
  });

  it('escapes every value', () => {
    const h = successPage({ portalName: '<b>P</b>', portalUrl: 'https://p.example/?"<x>', serviceName: '&<i>', username: '<script>', assetBase: ASSET_BASE });
    expect(h).not.toMatch(/<(script|b|i|x)[\s>]/);
    expect(h).toContain('<h1>Your &amp;&lt;i&gt; account &lt;script&gt; is now linked to &lt;b&gt;P&lt;/b&gt;</h1>');
    expect(h).toContain('href="https://p.example/?&quot;&lt;x&gt;"');
  });
});
