// The pages `portalctl serve` shows a person who opens the link in Step 2 of
// a registration email: the Step 2 page (choose a login service), the FAQ's
// "Error linking your account" page, and the page after a successful link.
//
// Pure functions from values to a complete HTML document. No JavaScript, no
// style attributes and no <style> blocks: the server's Content-Security-Policy
// allows styles from 'self' only, so the look lives in STYLESHEET, linked from
// every page. Every value is escaped; names and usernames come from people and
// login services.

import { createHash } from 'node:crypto';
import { escapeHtml as h } from '../text.js';
import { STYLESHEET, STYLESHEET_NAME } from './stylesheet.js';

export { STYLESHEET, STYLESHEET_NAME } from './stylesheet.js';

/** Changes whenever the stylesheet does, so a cached old copy is never used with a new page. */
const STYLESHEET_VERSION = createHash('sha256').update(STYLESHEET).digest('hex').slice(0, 12);

export interface LoginServiceChoice {
  key: string;
  name: string;
  /** false: shown disabled, "(not available)" (the service is not configured). */
  available: boolean;
}

export interface Step2PageInput {
  portalName: string;
  portalUrl: string;
  firstName: string;
  /** The expiry, already formatted with its zone (formatForEmail). */
  expiresAtText: string;
  services: LoginServiceChoice[];
  /** The IMS Login Service registration form (Step 1). */
  registerUrl: string;
  token: string;
  csrfToken: string;
  /** Where the stylesheet is served, e.g. "/register/assets". */
  assetBase: string;
  /** Where the form posts, e.g. "/register/link". */
  formAction: string;
  /** The Site Administrator's address, shown at the foot of the page when given. */
  adminEmail?: string;
  /** Set when the person is already linked: the page then says the link is for switching login service. */
  linkedAs?: { username: string; serviceName: string };
}

export interface ErrorPageInput {
  portalName?: string;
  portalUrl?: string;
  adminEmail?: string;
  code: ErrorCode;
  detail?: {
    /** link_expired: when it expired; link_superseded: when the newer email was sent. Formatted with the zone. */
    whenText?: string;
    /** account_in_use: the login service and account the person signed in with. */
    serviceName?: string;
    username?: string;
  };
  assetBase: string;
}

export interface SuccessPageInput {
  portalName: string;
  portalUrl: string;
  serviceName: string;
  username: string;
  assetBase: string;
}

/** The HTTP status of each error page. */
export const ERROR_STATUS = {
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
} as const satisfies Record<string, number>;

export type ErrorCode = keyof typeof ERROR_STATUS;

export const ERROR_CODES = Object.keys(ERROR_STATUS) as ErrorCode[];

export function errorStatus(code: ErrorCode): number {
  return ERROR_STATUS[code];
}

// ---------------------------------------------------------------------------

/**
 * Only web and mail addresses, and plain relative references ("link",
 * "../assets" — so that a portal served below a path prefix works), become
 * links; anything else is inert.
 */
function href(url: string): string {
  if (/^(https?:\/\/|mailto:|\/(?!\/))/i.test(url)) return h(url);
  // No colon, no space, no control character: nothing a browser could read as a scheme.
  if (/^[\w.~-][\w.~/?=&%-]*$/.test(url)) return h(url);
  return '#';
}

const link = (url: string, labelHtml: string, cls?: string) => `<a href="${href(url)}"${cls ? ` class="${cls}"` : ''}>${labelHtml}</a>`;

function stylesheetHref(assetBase: string): string {
  return `${assetBase.replace(/\/+$/, '')}/${STYLESHEET_NAME}?v=${STYLESHEET_VERSION}`;
}

interface Layout {
  title: string;
  brand?: string;
  assetBase: string;
  main: string;
  footer?: string;
}

function htmlPage({ title, brand, assetBase, main, footer }: Layout): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<meta name="robots" content="noindex, nofollow">
<title>${h(title)}</title>
<link rel="stylesheet" href="${h(stylesheetHref(assetBase))}">
</head>
<body>
<header class="site-header"><div class="wrap"><p class="brand">${h(brand ?? 'Portal registration')}</p></div></header>
<main class="wrap"><div class="card">
${main}
</div></main>
${footer ? `<footer class="site-footer wrap">\n${footer}\n</footer>\n` : ''}</body>
</html>
`;
}

const mailto = (adminEmail: string) => link(`mailto:${adminEmail}`, h(adminEmail));

/** "Contact the Site Administrator at admin@… " or, without an address, where to find it. */
function contactAdmin(adminEmail: string | undefined): string {
  return adminEmail
    ? `contact the Site Administrator at ${mailto(adminEmail)}`
    : 'contact the Site Administrator (their address is in your registration email)';
}

const capitalise = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

function adminFooter(adminEmail: string | undefined): string | undefined {
  return adminEmail ? `<p>Questions? Contact the Site Administrator at ${mailto(adminEmail)}.</p>` : undefined;
}

// ---------------------------------------------------------------------------
// The Step 2 page.

/** Who each built-in login service is for (the FAQ: NIH and IMS employees use their network login). */
const SERVICE_HINTS: Record<string, string> = {
  nih: 'For NIH staff: your NIH network login.',
  'ims-employee': 'For IMS employees: your IMS network login.',
  ims: 'For everyone else, such as outside researchers.',
};

export function step2Page(p: Step2PageInput): string {
  const portal = h(p.portalName);
  const items = p.services
    .map((s, i) => {
      const id = `service-hint-${i}`;
      const who = SERVICE_HINTS[s.key];
      const hint = s.available ? who : [who, 'Not available at the moment.'].filter(Boolean).join(' ');
      const described = hint ? ` aria-describedby="${id}"` : '';
      const button = s.available
        ? `<button type="submit" name="service" value="${h(s.key)}"${described}>Link with ${h(s.name)}</button>`
        : `<button type="button" disabled${described}>Link with ${h(s.name)} (not available)</button>`;
      return `<li>${button}${hint ? `\n<p class="hint" id="${id}">${h(hint)}</p>` : ''}</li>`;
    })
    .join('\n');

  // The buttons come first, so that on a phone they are on the first screen
  // even with a long portal name; the expiry follows, where someone who
  // first has to register for an account (Step 1) reads it.
  const intro = p.linkedAs
    ? `<p>Hello ${h(p.firstName)}, this is the Step 2 page of your registration for <strong>${portal}</strong>.</p>
<p class="notice"><strong>You are linked as ${h(p.linkedAs.username)} (${h(p.linkedAs.serviceName)}).</strong> Use this page only if you want to switch to a different login service (or if you were told to). Your portal profile stays the same; only the login service account linked to it changes.</p>`
    : `<p>Hello ${h(p.firstName)}, you have been registered as a user of <strong>${portal}</strong>. Choose the login service you will sign in with; after signing in there, you come back here.</p>`;

  const main = `<h1>Link your account</h1>
${intro}
<h2>Choose your login service</h2>
<p>NIH and IMS employees are encouraged to use their network login accounts. Everyone else uses an IMS Login Service account.</p>
<form method="post" action="${href(p.formAction)}">
<input type="hidden" name="token" value="${h(p.token)}">
<input type="hidden" name="csrf" value="${h(p.csrfToken)}">
<ul class="services">
${items}
</ul>
</form>
<p class="notice">This link expires on <strong>${h(p.expiresAtText)}</strong>.</p>
<h2>No login service account yet?</h2>
<p>If you have no NIH Network Login, IMS Employee Login or IMS Login Service account, first ${link(p.registerUrl, 'Register for an IMS Login Service account')}. Then open the link in Step 2 of your registration email again and choose IMS Login Service.</p>
<p class="muted small">This link is personal: it is unique to you and works once, to link one account. Please do not share it.</p>`;

  return htmlPage({
    title: `Link your account – ${p.portalName}`,
    brand: p.portalName,
    assetBase: p.assetBase,
    main,
    footer: adminFooter(p.adminEmail),
  });
}

// ---------------------------------------------------------------------------
// The "Error linking your account" page.

interface ErrorText {
  heading: string;
  /** What happened (HTML). */
  reason: string;
  /** What to do next, as list items (HTML). */
  steps: string[];
}

function errorText(p: ErrorPageInput): ErrorText {
  const when = p.detail?.whenText ? h(p.detail.whenText) : undefined;
  const portal = p.portalName ? h(p.portalName) : 'the portal';
  const portalLink = p.portalUrl ? link(p.portalUrl, p.portalName ? h(p.portalName) : 'the portal') : portal;
  const contact = contactAdmin(p.adminEmail);
  const linking = 'Error linking your account';
  const clickStep2 = 'Click the link in Step 2 of the registration email: this is the safest option.';
  const copyWhole = 'If you cannot click it, copy and paste the entire URL into your browser, and check that it matches the one in the email.';
  const unused = 'Your link has not been used.';

  switch (p.code) {
    case 'link_expired':
      return {
        heading: linking,
        reason: when ? `The link expired on ${when}.` : 'The link has expired. The registration email gives its expiration date.',
        steps: [`${capitalise(contact)} to reissue you a new registration email with a new link.`],
      };
    case 'link_malformed':
      return {
        heading: linking,
        reason: 'The link is incomplete or has been changed. This usually means it was incorrectly copied and pasted from the email to the browser.',
        steps: [clickStep2, copyWhole],
      };
    case 'link_unknown':
      return {
        heading: linking,
        reason: 'There is no such registration link. It may have been incorrectly copied and pasted from the email to the browser.',
        steps: [clickStep2, copyWhole, `If it still does not work, ${contact} for a new registration email.`],
      };
    case 'link_superseded':
      return {
        heading: linking,
        reason: when
          ? `A newer registration email replaced this link on ${when}. Only the link in the newest registration email works.`
          : 'A newer registration email replaced this link. Only the link in the newest registration email works.',
        steps: [
          `Use the link in Step 2 of the newest registration email you received for ${portal}.`,
          `If you cannot find it, ${contact} for a new registration email.`,
        ],
      };
    case 'link_used':
      return {
        heading: linking,
        reason: 'This link has already been used to link a different account.',
        steps: [
          `Each registration email is unique to the person receiving it. If someone shared their registration email with you, ${contact} to create a new portal account.`,
          `If you used this link yourself, your account is already linked: go to ${portalLink} and sign in.`,
        ],
      };
    case 'account_in_use': {
      const svc = p.detail?.serviceName;
      const user = p.detail?.username;
      const which =
        svc && user ? `The ${h(svc)} account ${h(user)}` : svc ? `The ${h(svc)} account you signed in with` : 'The login service account you signed in with';
      return {
        heading: linking,
        reason: `${which} is already linked to another user of ${portal}. One login service account can be linked to only one user of a portal.`,
        steps: ['Open the link in Step 2 of your registration email again and sign in with your own account.', `If this is your own account, ${contact}.`],
      };
    }
    case 'signin_failed':
      return {
        heading: linking,
        reason: `The sign-in with the login service did not complete: it may have been cancelled, or it took too long and the session expired. ${unused}`,
        steps: ['Open the link in Step 2 of your registration email again, choose your login service and sign in.', `If it keeps failing, ${contact}.`],
      };
    case 'service_unavailable':
      return {
        heading: linking,
        reason: `The login service or the registration service is not available right now. ${unused}`,
        steps: ['Try again in a few minutes with the link in Step 2 of your registration email.', `If it keeps failing, ${contact}.`],
      };
    case 'form_expired':
      return {
        heading: linking,
        reason: `This page could not start the sign-in: it was opened in another browser, or long ago, or your browser blocks cookies for this site. ${unused}`,
        steps: [
          'Open the link in Step 2 of your registration email again, in the browser you want to use, and choose your login service.',
          'If your browser blocks cookies, allow them for this site: they are needed only while you sign in.',
          `If it keeps failing, ${contact}.`,
        ],
      };
    case 'rate_limited':
      return {
        heading: 'Too many attempts',
        reason: `There have been too many requests from your network in a short time. ${unused}`,
        steps: ['Wait a few minutes, then open the link in Step 2 of your registration email again.'],
      };
    case 'not_found':
      return {
        heading: 'Page not found',
        reason: 'There is no page at this address.',
        steps: ['To link your account, click the link in Step 2 of your registration email.', ...(p.portalUrl ? [`To sign in, go to ${portalLink}.`] : [])],
      };
  }
}

export function errorPage(p: ErrorPageInput): string {
  const t = errorText(p);
  const main = `<h1>${h(t.heading)}</h1>
<p class="problem">${t.reason}</p>
<h2>What to do</h2>
<ul class="steps">
${t.steps.map((s) => `<li>${s}</li>`).join('\n')}
</ul>
<p class="muted small">Error code for the Site Administrator: ${h(p.code)}</p>`;
  return htmlPage({
    title: p.portalName ? `${t.heading} – ${p.portalName}` : t.heading,
    brand: p.portalName,
    assetBase: p.assetBase,
    main,
    // The steps already name the Site Administrator on most error pages.
    footer: t.steps.some((s) => s.includes('Site Administrator')) ? undefined : adminFooter(p.adminEmail),
  });
}

// ---------------------------------------------------------------------------
// After a successful link.

export function successPage(p: SuccessPageInput): string {
  const portal = h(p.portalName);
  const main = `<h1>Your ${h(p.serviceName)} account ${h(p.username)} is now linked to ${portal}</h1>
<p class="done">From now on, sign in to ${portal} with your ${h(p.serviceName)} account.</p>
<p>${link(p.portalUrl, `Go to ${portal}`, 'button')}</p>
<p>This is the address of the portal’s Home page:</p>
<p class="url">${h(p.portalUrl)}</p>
<p>If you bookmarked an older address of the portal, please update your bookmark to this one.</p>
<p class="muted small">You can close this page. You do not need the registration email any more.</p>`;
  return htmlPage({ title: `Account linked – ${p.portalName}`, brand: p.portalName, assetBase: p.assetBase, main });
}
