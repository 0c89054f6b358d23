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
  to: string;
  replyTo: string;
  subject: string;
  text: string;
  html: string;
}

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

export function composeRegistrationEmail(m: RegistrationEmailInput): ComposedEmail {
  const expiry = formatForEmail(m.expiresAt, m.timeZone);
  const name = `${m.firstName} ${m.lastName}`;
  const subject = `Your registration for ${m.portalName}`;

  const text = [
    `Dear ${name},`,
    '',
    `You have been registered as a user of ${m.portalName} (${m.portalUrl}).`,
    'To sign in you link a login service account to the portal, in two steps.',
    '',
    'STEP 1 - Only if you have no login service account yet',
    'If you do not have an NIH Network Login, an IMS Employee Login or an IMS',
    'Login Service account, register for an IMS Login Service account first:',
    m.registerUrl,
    '',
    'STEP 2 - Link your account to the portal',
    'Open this link, choose your login service and sign in:',
    m.linkUrl,
    '',
    `This link expires on ${expiry}.`,
    'It is unique to you and works once. Do not share it.',
    'If the link has expired, ask the Site Administrator for a new registration email.',
    '',
    `Site Administrator: ${m.adminEmail} (you can reply to this email)`,
    '',
  ].join('\r\n');

  const h = escapeHtml;
  const html = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${h(subject)}</title></head>
<body style="margin:0;padding:0;background:#f3f4f6;font-family:Arial,Helvetica,sans-serif;color:#1f2937;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="background:#f3f4f6;padding:24px 0;">
<tr><td align="center">
<table role="presentation" width="600" cellpadding="0" cellspacing="0" style="max-width:600px;width:100%;background:#ffffff;border:1px solid #e5e7eb;border-radius:6px;">
<tr><td style="background:#1e3a8a;color:#ffffff;padding:20px 28px;font-size:20px;font-weight:bold;border-radius:6px 6px 0 0;">${h(m.portalName)}</td></tr>
<tr><td style="padding:24px 28px 8px 28px;font-size:15px;line-height:1.5;">
<p style="margin:0 0 12px 0;">Dear ${h(name)},</p>
<p style="margin:0 0 12px 0;">You have been registered as a user of <a href="${h(m.portalUrl)}" style="color:#1e3a8a;">${h(m.portalName)}</a>. To sign in you link a login service account to the portal, in two steps.</p>
</td></tr>
<tr><td style="padding:8px 28px;font-size:15px;line-height:1.5;">
<h2 style="font-size:16px;margin:0 0 6px 0;color:#1e3a8a;">Step 1 &mdash; only if you have no login service account yet</h2>
<p style="margin:0 0 12px 0;">If you do not have an NIH Network Login, an IMS Employee Login or an IMS Login Service account, first <a href="${h(m.registerUrl)}" style="color:#1e3a8a;">register for an IMS Login Service account</a>.</p>
</td></tr>
<tr><td style="padding:8px 28px;font-size:15px;line-height:1.5;">
<h2 style="font-size:16px;margin:0 0 6px 0;color:#1e3a8a;">Step 2 &mdash; link your account to the portal</h2>
<p style="margin:0 0 16px 0;">Choose your login service and sign in:</p>
<table role="presentation" cellpadding="0" cellspacing="0"><tr><td style="background:#1e3a8a;border-radius:4px;">
<a href="${h(m.linkUrl)}" style="display:inline-block;padding:12px 22px;color:#ffffff;font-weight:bold;text-decoration:none;font-size:15px;">Link my account</a>
</td></tr></table>
<p style="margin:16px 0 4px 0;font-size:13px;color:#4b5563;">If the button does not work, copy this entire address into your browser:</p>
<p style="margin:0 0 16px 0;font-size:13px;font-family:Consolas,Menlo,monospace;word-break:break-all;background:#f9fafb;border:1px solid #e5e7eb;padding:8px;">${h(m.linkUrl)}</p>
<p style="margin:0 0 12px 0;padding:10px 12px;background:#fef3c7;border-left:4px solid #d97706;"><strong>This link expires on ${h(expiry)}.</strong><br>It is unique to you and works once. If it has expired, ask the Site Administrator for a new registration email.</p>
</td></tr>
<tr><td style="padding:8px 28px 24px 28px;font-size:13px;line-height:1.5;color:#4b5563;border-top:1px solid #e5e7eb;">
Site Administrator: <a href="mailto:${h(m.adminEmail)}" style="color:#1e3a8a;">${h(m.adminEmail)}</a> &mdash; you can reply to this email.
</td></tr>
</table>
</td></tr>
</table>
</body></html>
`;
  return { to: m.to, replyTo: m.adminEmail, subject, text, html };
}
