// The registration email, as in the FAQ: Step 1 (register for an IMS Login
// Service account if the person has none), Step 2 (the unique link), the exact
// expiry with its time zone, and the Site Administrator's contact.
//
// The HTML part uses inline styles and no images, so it reads the same in any
// mail client and with images blocked; the text part says the same thing.

import { formatForEmail } from '../domain/time.js';

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
  timeZone?: string;
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

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

export function composeRegistrationEmail(m: RegistrationEmailInput): ComposedEmail {
  const expiry = formatForEmail(m.expiresAt, m.timeZone ?? 'UTC');
  const name = `${m.firstName} ${m.lastName}`;
  const subject = `Your registration for ${m.portalName}`;

  // Plain text: short lines, each URL alone on its line so it can be copied
  // (or clicked) whole.
  const text = [
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
    'It is unique to you and works only once: do not forward this email.',
    'If the link has expired, ask the Site Administrator for a new',
    'registration email.',
    '',
    `Questions? Contact the Site Administrator: ${m.adminEmail}`,
    '(or reply to this email)',
    '',
    '--',
    `This email was sent to ${m.to}`,
    `because you were registered as a user of ${m.portalName}.`,
    '',
  ].join('\r\n');

  const h = escapeHtml;
  const link = 'color:#1e3a8a;text-decoration:underline;';
  const section = 'padding:8px 28px;font-size:15px;line-height:1.5;';
  const heading = 'font-size:17px;line-height:1.3;margin:0 0 6px 0;color:#1e3a8a;';
  const mono = 'font-family:Consolas,Menlo,Monaco,monospace;word-break:break-all;overflow-wrap:anywhere;';
  const html = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${h(subject)}</title></head>
<body style="margin:0;padding:0;background:#f3f4f6;font-family:Arial,Helvetica,sans-serif;color:#1f2937;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="background:#f3f4f6;">
<tr><td align="center" style="padding:24px 12px;">
<table role="presentation" width="600" cellpadding="0" cellspacing="0" style="max-width:600px;width:100%;background:#ffffff;border:1px solid #e5e7eb;border-radius:6px;">
<tr><td style="background:#1e3a8a;padding:20px 28px;border-radius:6px 6px 0 0;">
<h1 style="margin:0;font-size:20px;line-height:1.3;font-weight:bold;color:#ffffff;">${h(m.portalName)}</h1>
</td></tr>
<tr><td style="padding:24px 28px 8px 28px;font-size:15px;line-height:1.5;">
<p style="margin:0 0 12px 0;">Dear ${h(name)},</p>
<p style="margin:0 0 12px 0;">You have been registered as a user of <a href="${h(m.portalUrl)}" style="${link}">${h(m.portalName)}</a>. Before you can sign in, link a login service account to your portal profile. It takes two steps.</p>
</td></tr>
<tr><td style="${section}">
<h2 style="${heading}">Step 1 &mdash; Get a login service account (only if you have none)</h2>
<p style="margin:0 0 8px 0;">You can sign in with an NIH Network Login, an IMS Employee Login or an IMS Login Service account. If you have none of these, first <a href="${h(m.registerUrl)}" style="${link}">register for an IMS Login Service account</a>.</p>
<p style="margin:0 0 8px 0;font-size:13px;color:#4b5563;">Registration form: <span style="overflow-wrap:anywhere;">${h(m.registerUrl)}</span></p>
<p style="margin:0 0 12px 0;">If you already have one of these accounts, go straight to Step 2.</p>
</td></tr>
<tr><td style="${section}">
<h2 style="${heading}">Step 2 &mdash; Link your account to ${h(m.portalName)}</h2>
<p style="margin:0 0 16px 0;">Click the button, choose your login service and sign in:</p>
<table role="presentation" cellpadding="0" cellspacing="0"><tr><td style="background:#1e3a8a;border-radius:4px;">
<a href="${h(m.linkUrl)}" style="display:inline-block;padding:12px 24px;color:#ffffff;font-weight:bold;text-decoration:none;font-size:16px;">Link my account</a>
</td></tr></table>
<p style="margin:16px 0 4px 0;font-size:13px;color:#4b5563;">If the button does not work, copy this entire address into your browser:</p>
<p style="margin:0 0 16px 0;font-size:13px;${mono}background:#f9fafb;border:1px solid #e5e7eb;padding:8px;">${h(m.linkUrl)}</p>
<p style="margin:0 0 12px 0;padding:10px 12px;background:#fef3c7;border-left:4px solid #d97706;"><strong>This link expires on ${h(expiry)}.</strong><br>It is unique to you and works only once: do not forward this email. If the link has expired, ask the Site Administrator for a new registration email.</p>
</td></tr>
<tr><td style="padding:12px 28px 8px 28px;font-size:14px;line-height:1.5;border-top:1px solid #e5e7eb;">
Questions? Contact the Site Administrator at <a href="mailto:${h(m.adminEmail)}" style="${link}">${h(m.adminEmail)}</a>, or reply to this email.
</td></tr>
<tr><td style="padding:0 28px 20px 28px;font-size:12px;line-height:1.5;color:#6b7280;">
This email was sent to ${h(m.to)} because you were registered as a user of ${h(m.portalName)}.
</td></tr>
</table>
</td></tr>
</table>
</body></html>
`;
  return { to: m.to, replyTo: m.adminEmail, subject, text, html };
}
