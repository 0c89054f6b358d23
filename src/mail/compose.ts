// The emails a person receives, as in the FAQ.
//
// - The registration email: Step 1 (register for an IMS Login Service account
//   if the person has none), Step 2 (the unique link), the exact expiry with
//   its time zone, and the Site Administrator's contact. Re-sent to someone
//   who is already linked, it says so and offers the link only for switching
//   login service.
// - The reminder: the same Step 2 link and expiry, for someone who has not
//   linked yet.
// - The removal warning: the date an unlinked profile will be removed, and
//   whom to ask for a new registration email. It carries no Step 2 link.
//
// The HTML parts use inline styles and no images, so they read the same in
// any mail client and with images blocked; each text part says the same thing.
// Every value that comes from a person or a login service is escaped in HTML;
// the subject never holds a person's name.

import { formatForEmail } from '../domain/time.js';
import { escapeHtml as h } from '../text.js';

export interface RegistrationEmailInput {
  portalName: string;
  portalUrl: string;
  registerUrl: string;
  adminEmail: string;
  firstName: string;
  lastName: string;
  to: string;
  linkUrl: string;
  expiresAt: string;
  timeZone: string;
  /** ISO UTC. When set (and the person is not linked), both parts say when an unlinked profile is removed. */
  removalAt?: string;
  /** Set when the person is already linked: the email then offers the link only for switching login service. */
  linkedAs?: { username: string; serviceName: string };
}

export interface ReminderEmailInput {
  portalName: string;
  portalUrl: string;
  registerUrl: string;
  adminEmail: string;
  firstName: string;
  lastName: string;
  to: string;
  /** A working Step 2 link of the person's active registration. */
  linkUrl: string;
  /** The expiry of that registration (the same as in the original email). */
  expiresAt: string;
  timeZone: string;
  /** ISO UTC; when set, the reminder also says when the profile will be removed. */
  removalAt?: string;
}

export interface RemovalWarningEmailInput {
  portalName: string;
  portalUrl: string;
  adminEmail: string;
  firstName: string;
  lastName: string;
  to: string;
  /** ISO UTC: when the unlinked profile will be removed. */
  removalAt: string;
  timeZone: string;
}

export interface ComposedEmail {
  from?: string;
  /** The Date header; follows PORTALCTL_NOW so reproducible runs produce the same email. */
  date?: Date;
  to: string;
  replyTo: string;
  subject: string;
  text: string;
  html: string;
}

// ---------------------------------------------------------------------------
// The house design, shared by every email.

const LINK = 'color:#1e3a8a;text-decoration:underline;';
const SECTION = 'padding:8px 28px;font-size:15px;line-height:1.5;';
const HEADING = 'font-size:17px;line-height:1.3;margin:0 0 6px 0;color:#1e3a8a;';
const MONO = 'font-family:Consolas,Menlo,Monaco,monospace;word-break:break-all;overflow-wrap:anywhere;';
const SMALL = 'font-size:13px;color:#4b5563;';

const a = (url: string, label: string) => `<a href="${h(url)}" style="${LINK}">${label}</a>`;

/** The page around the rows: grey background, white card, navy header with the portal name. */
function htmlDocument(subject: string, portalName: string, rows: string[]): string {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${h(subject)}</title></head>
<body style="margin:0;padding:0;background:#f3f4f6;font-family:Arial,Helvetica,sans-serif;color:#1f2937;overflow-wrap:anywhere;word-break:break-word;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="background:#f3f4f6;table-layout:fixed;">
<tr><td align="center" style="padding:24px 12px;">
<table role="presentation" width="600" cellpadding="0" cellspacing="0" style="max-width:600px;width:100%;background:#ffffff;border:1px solid #e5e7eb;border-radius:6px;">
<tr><td style="background:#1e3a8a;padding:20px 28px;border-radius:6px 6px 0 0;">
<h1 style="margin:0;font-size:20px;line-height:1.3;font-weight:bold;color:#ffffff;">${h(portalName)}</h1>
</td></tr>
${rows.join('\n')}
</table>
</td></tr>
</table>
</body></html>
`;
}

/** The greeting and the opening paragraphs (already HTML). */
function introRow(name: string, paragraphs: string[]): string {
  return `<tr><td style="padding:24px 28px 8px 28px;font-size:15px;line-height:1.5;">
<p style="margin:0 0 12px 0;">Dear ${h(name)},</p>
${paragraphs.map((p) => `<p style="margin:0 0 12px 0;">${p}</p>`).join('\n')}
</td></tr>`;
}

function sectionRow(headingHtml: string, body: string): string {
  return `<tr><td style="${SECTION}">
<h2 style="${HEADING}">${headingHtml}</h2>
${body}
</td></tr>`;
}

/** A big navy button, then the whole address to copy when the button does not work. */
function buttonWithAddress(url: string, label: string): string {
  return `<table role="presentation" cellpadding="0" cellspacing="0"><tr><td style="background:#1e3a8a;border-radius:4px;">
<a href="${h(url)}" style="display:inline-block;padding:12px 24px;color:#ffffff;font-weight:bold;text-decoration:none;font-size:16px;">${h(label)}</a>
</td></tr></table>
<p style="margin:16px 0 4px 0;${SMALL}">If the button does not work, copy this entire address into your browser:</p>
<p style="margin:0 0 16px 0;font-size:13px;${MONO}background:#f9fafb;border:1px solid #e5e7eb;padding:8px;">${h(url)}</p>`;
}

/** The amber box for what must not be missed (expiry, removal date). */
function notice(html: string): string {
  return `<p style="margin:0 0 12px 0;padding:10px 12px;background:#fef3c7;border-left:4px solid #d97706;">${html}</p>`;
}

function contactRow(adminEmail: string): string {
  return `<tr><td style="padding:12px 28px 8px 28px;font-size:14px;line-height:1.5;border-top:1px solid #e5e7eb;">
Questions? Contact the Site Administrator at ${a(`mailto:${adminEmail}`, h(adminEmail))}, or reply to this email.
</td></tr>`;
}

function footerRow(html: string): string {
  return `<tr><td style="padding:0 28px 20px 28px;font-size:12px;line-height:1.5;color:#6b7280;">
${html}
</td></tr>`;
}

/** Plain text: wraps a paragraph at 72 columns without breaking words, so URLs stay whole. */
function wrap(paragraph: string, width = 72): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of paragraph.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  return lines;
}

const textPart = (lines: string[]) => lines.join('\r\n');

const textContact = (adminEmail: string) => [`Questions? Contact the Site Administrator: ${adminEmail}`, '(or reply to this email)'];

const removalSentence = (date: string) => `If you do not link an account by ${date}, your portal profile will be removed.`;

// ---------------------------------------------------------------------------

export function composeRegistrationEmail(m: RegistrationEmailInput): ComposedEmail {
  if (m.linkedAs) return composeRelinkEmail(m, m.linkedAs);
  const expiry = formatForEmail(m.expiresAt, m.timeZone);
  const removal = m.removalAt ? removalSentence(formatForEmail(m.removalAt, m.timeZone)) : undefined;
  const name = `${m.firstName} ${m.lastName}`;
  const subject = `Your registration for ${m.portalName}`;

  // Plain text: short lines, each URL alone on its line so it can be copied
  // (or clicked) whole. The expiry and removal sentences stay whole.
  const text = textPart([
    `Dear ${name},`,
    '',
    `You have been registered as a user of ${m.portalName} (${m.portalUrl}).`,
    'Before you can sign in, link a login service account to your portal',
    'profile. It takes two steps.',
    '',
    'STEP 1 - Get a login service account (only if you have none)',
    'You can sign in with an NIH Network Login, an IMS Employee Login or an',
    'IMS Login Service account. If you have none of these, first',
    'register for an IMS Login Service account:',
    m.registerUrl,
    'If you already have one of these accounts, go straight to Step 2.',
    '',
    `STEP 2 - Link your account to ${m.portalName}`,
    'Open this link, choose your login service and sign in:',
    m.linkUrl,
    '',
    `This link expires on ${expiry}.`,
    ...(removal ? [removal] : []),
    'It is unique to you and works only once: do not forward this email.',
    'If the link has expired, ask the Site Administrator for a new',
    'registration email.',
    '',
    ...textContact(m.adminEmail),
    '',
    '--',
    `This email was sent to ${m.to}`,
    `because you were registered as a user of ${m.portalName}.`,
    '',
  ]);

  const html = htmlDocument(subject, m.portalName, [
    introRow(name, [
      `You have been registered as a user of ${a(m.portalUrl, h(m.portalName))}. Before you can sign in, link a login service account to your portal profile. It takes two steps.`,
    ]),
    sectionRow(
      'Step 1 &mdash; Get a login service account (only if you have none)',
      `<p style="margin:0 0 8px 0;">You can sign in with an NIH Network Login, an IMS Employee Login or an IMS Login Service account. If you have none of these, first ${a(m.registerUrl, 'register for an IMS Login Service account')}.</p>
<p style="margin:0 0 8px 0;${SMALL}">Registration form: <span style="overflow-wrap:anywhere;">${h(m.registerUrl)}</span></p>
<p style="margin:0 0 12px 0;">If you already have one of these accounts, go straight to Step 2.</p>`,
    ),
    sectionRow(
      `Step 2 &mdash; Link your account to ${h(m.portalName)}`,
      `<p style="margin:0 0 16px 0;">Click the button, choose your login service and sign in:</p>
${buttonWithAddress(m.linkUrl, 'Link my account')}
${notice(`<strong>This link expires on ${h(expiry)}.</strong>${removal ? `<br>${h(removal)}` : ''}<br>It is unique to you and works only once: do not forward this email. If the link has expired, ask the Site Administrator for a new registration email.`)}`,
    ),
    contactRow(m.adminEmail),
    footerRow(`This email was sent to ${h(m.to)} because you were registered as a user of ${h(m.portalName)}.`),
  ]);
  return { to: m.to, replyTo: m.adminEmail, subject, text, html };
}

/**
 * A registration re-sent to someone who is already linked ("Send New
 * Registration" to switch login service): it must not tell them to link
 * before signing in. Linked profiles are never removed, so no removal date.
 */
function composeRelinkEmail(m: RegistrationEmailInput, linked: { username: string; serviceName: string }): ComposedEmail {
  const expiry = formatForEmail(m.expiresAt, m.timeZone);
  const name = `${m.firstName} ${m.lastName}`;
  const subject = `Your registration for ${m.portalName}`;
  const linkedSentence = `You are linked as ${linked.username} (${linked.serviceName}).`;
  const onlyIf =
    'Use this link only if you want to switch to a different login service (or if you were told to); otherwise keep signing in as you do now: you do not need to do anything.';

  const text = textPart([
    `Dear ${name},`,
    '',
    ...wrap(`This is a new registration email for ${m.portalName} (${m.portalUrl}).`),
    linkedSentence,
    ...wrap(onlyIf),
    '',
    'STEP 1 - Get an IMS Login Service account (only to switch to it)',
    'If you want to switch to the IMS Login Service and have no account',
    'there yet, first register for an IMS Login Service account:',
    m.registerUrl,
    '',
    `STEP 2 - Switch your login service for ${m.portalName}`,
    'Open this link, choose the login service you want to use and sign in:',
    m.linkUrl,
    'Your portal profile stays the same; only the login service account',
    'linked to it changes.',
    '',
    `This link expires on ${expiry}.`,
    'It is unique to you and works only once: do not forward this email.',
    '',
    ...textContact(m.adminEmail),
    '',
    '--',
    `This email was sent to ${m.to}`,
    `because you are a user of ${m.portalName}.`,
    '',
  ]);

  const html = htmlDocument(subject, m.portalName, [
    introRow(name, [
      `This is a new registration email for ${a(m.portalUrl, h(m.portalName))}.`,
      `<strong>You are linked as ${h(linked.username)} (${h(linked.serviceName)}).</strong> ${h(onlyIf)}`,
    ]),
    sectionRow(
      'Step 1 &mdash; Get an IMS Login Service account (only to switch to it)',
      `<p style="margin:0 0 12px 0;">If you want to switch to the IMS Login Service and have no account there yet, first ${a(m.registerUrl, 'register for an IMS Login Service account')}.</p>`,
    ),
    sectionRow(
      `Step 2 &mdash; Switch your login service for ${h(m.portalName)}`,
      `<p style="margin:0 0 16px 0;">Click the button, choose the login service you want to use and sign in. Your portal profile stays the same; only the login service account linked to it changes.</p>
${buttonWithAddress(m.linkUrl, 'Switch my login service')}
${notice(`<strong>This link expires on ${h(expiry)}.</strong><br>It is unique to you and works only once: do not forward this email.`)}`,
    ),
    contactRow(m.adminEmail),
    footerRow(`This email was sent to ${h(m.to)} because you are a user of ${h(m.portalName)}.`),
  ]);
  return { to: m.to, replyTo: m.adminEmail, subject, text, html };
}

export function composeReminderEmail(m: ReminderEmailInput): ComposedEmail {
  const expiry = formatForEmail(m.expiresAt, m.timeZone);
  const removal = m.removalAt ? removalSentence(formatForEmail(m.removalAt, m.timeZone)) : undefined;
  const name = `${m.firstName} ${m.lastName}`;
  const subject = `Reminder: link your account to ${m.portalName}`;
  const intro = `This is a friendly reminder: you have been registered as a user of ${m.portalName} (${m.portalUrl}), but you have not linked a login service account yet. You need to do that before you can sign in.`;

  const text = textPart([
    `Dear ${name},`,
    '',
    ...wrap(intro),
    '',
    'LINK YOUR ACCOUNT',
    'Open this link, choose your login service and sign in:',
    m.linkUrl,
    '',
    `Your link expires on ${expiry}.`,
    ...(removal ? [removal] : []),
    'It is unique to you and works only once: do not forward this email.',
    '',
    'NO LOGIN SERVICE ACCOUNT YET?',
    'You can sign in with an NIH Network Login, an IMS Employee Login or an',
    'IMS Login Service account. If you have none of these, first',
    'register for an IMS Login Service account:',
    m.registerUrl,
    'then come back to the link above.',
    '',
    ...textContact(m.adminEmail),
    '',
    '--',
    `This email was sent to ${m.to}`,
    `because you were registered as a user of ${m.portalName}`,
    'and have not linked an account yet.',
    '',
  ]);

  const html = htmlDocument(subject, m.portalName, [
    introRow(name, [
      `This is a friendly reminder: you have been registered as a user of ${a(m.portalUrl, h(m.portalName))}, but you have not linked a login service account yet. You need to do that before you can sign in.`,
    ]),
    sectionRow(
      `Link your account to ${h(m.portalName)}`,
      `<p style="margin:0 0 16px 0;">Click the button, choose your login service and sign in:</p>
${buttonWithAddress(m.linkUrl, 'Link my account')}
${notice(`<strong>Your link expires on ${h(expiry)}.</strong>${removal ? `<br>${h(removal)}` : ''}<br>It is unique to you and works only once: do not forward this email.`)}`,
    ),
    sectionRow(
      'No login service account yet?',
      `<p style="margin:0 0 12px 0;">You can sign in with an NIH Network Login, an IMS Employee Login or an IMS Login Service account. If you have none of these, first ${a(m.registerUrl, 'register for an IMS Login Service account')}, then come back to the button above.</p>`,
    ),
    contactRow(m.adminEmail),
    footerRow(`This email was sent to ${h(m.to)} because you were registered as a user of ${h(m.portalName)} and have not linked an account yet.`),
  ]);
  return { to: m.to, replyTo: m.adminEmail, subject, text, html };
}

/** "December 28", in the portal's zone: short enough for a subject line. */
function monthDay(isoTime: string, timeZone: string): string {
  return new Intl.DateTimeFormat('en-US', { timeZone, month: 'long', day: 'numeric' }).format(new Date(isoTime));
}

export function composeRemovalWarningEmail(m: RemovalWarningEmailInput): ComposedEmail {
  const when = formatForEmail(m.removalAt, m.timeZone);
  const name = `${m.firstName} ${m.lastName}`;
  const subject = `Your ${m.portalName} profile will be removed on ${monthDay(m.removalAt, m.timeZone)}`;
  const intro = `You were registered as a user of ${m.portalName} (${m.portalUrl}), but no login service account has been linked to your portal profile. Profiles that are not linked are removed.`;
  const removed = `Your portal profile will be removed on ${when}.`;
  const mailto = `mailto:${m.adminEmail}?subject=${encodeURIComponent(`New registration email for ${m.portalName}`)}`;

  const text = textPart([
    `Dear ${name},`,
    '',
    ...wrap(intro),
    '',
    removed,
    '',
    'STILL NEED ACCESS?',
    ...wrap(`Ask the Site Administrator for a new registration email, with a new link, before that date: ${m.adminEmail}`),
    '',
    'NO LONGER NEED ACCESS?',
    'You do not need to do anything.',
    '',
    ...textContact(m.adminEmail),
    '',
    '--',
    `This email was sent to ${m.to}`,
    `because you were registered as a user of ${m.portalName}`,
    'and have not linked an account.',
    '',
  ]);

  const html = htmlDocument(subject, m.portalName, [
    introRow(name, [
      `You were registered as a user of ${a(m.portalUrl, h(m.portalName))}, but no login service account has been linked to your portal profile. Profiles that are not linked are removed.`,
    ]),
    `<tr><td style="${SECTION}">
${notice(`<strong>${h(removed)}</strong>`)}
</td></tr>`,
    sectionRow(
      'Still need access?',
      `<p style="margin:0 0 12px 0;">Ask the Site Administrator at ${a(mailto, h(m.adminEmail))} for a new registration email, with a new link, before that date.</p>`,
    ),
    sectionRow('No longer need access?', `<p style="margin:0 0 12px 0;">You do not need to do anything.</p>`),
    contactRow(m.adminEmail),
    footerRow(`This email was sent to ${h(m.to)} because you were registered as a user of ${h(m.portalName)} and have not linked an account.`),
  ]);
  return { to: m.to, replyTo: m.adminEmail, subject, text, html };
}
