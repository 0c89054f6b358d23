// Every page and email in the forms a person can meet, for the unit tests and
// the screenshots. Realistic values, plus a set with HTML in every field.

import { composeRegistrationEmail, composeReminderEmail, composeRemovalWarningEmail } from '../../src/mail/compose.js';
import { ERROR_CODES, errorPage, step2Page, successPage, type ErrorCode } from '../../src/server/pages.js';
import { LOGIN_SERVICES } from '../../src/domain/services.js';

export const ASSET_BASE = '/register/assets';
export const WHEN = 'Saturday, December 5, 2026 at 09:00 Eastern Standard Time (December 5, 14:00 UTC)';

export const email = {
  portalName: 'Grants Portal',
  portalUrl: 'https://grants.example.org',
  registerUrl: 'https://login.example.org/register',
  adminEmail: 'admin@example.org',
  firstName: 'Eve',
  lastName: 'Doe',
  to: 'eve@example.org',
  linkUrl: 'https://grants.example.org/register/link?token=Q2hhbmdlTWVQbGVhc2VOb3RBUmVhbFRva2Vu',
  expiresAt: '2026-12-05T14:00:00.000Z',
  timeZone: 'America/New_York',
};

export const REMOVAL_AT = '2026-12-28T14:00:00.000Z';

export const services = (unavailable: string[] = []) => LOGIN_SERVICES.map((s) => ({ key: s.key, name: s.name, available: !unavailable.includes(s.key) }));

export const step2 = {
  portalName: 'Grants Portal',
  portalUrl: 'https://grants.example.org',
  firstName: 'Eve',
  expiresAtText: WHEN,
  services: services(),
  registerUrl: 'https://login.example.org/register',
  token: 'Q2hhbmdlTWVQbGVhc2VOb3RBUmVhbFRva2Vu',
  csrfToken: 'csrf-0123456789abcdef',
  assetBase: ASSET_BASE,
  formAction: '/register/link',
  adminEmail: 'admin@example.org',
};

export function errorOf(code: ErrorCode): string {
  return errorPage({
    portalName: 'Grants Portal',
    portalUrl: 'https://grants.example.org',
    adminEmail: 'admin@example.org',
    code,
    detail: { whenText: WHEN, serviceName: 'NIH Network Login', username: 'jdoe' },
    assetBase: ASSET_BASE,
  });
}

/** Names and addresses that are one long run of letters. */
const UNBROKEN = {
  portalName: 'InternationalCollaborativeBiomedicalResearchInfrastructurePortal',
  firstName: 'Maximilianaalexandrinakonstantinopoulouvonundzuhohenstaufenberg',
  adminEmail: 'clinicalresearch.administrator@nationalinstitutesofbiomedicalresearch.example.org',
};

/** Name → full HTML document: every page variant. */
export function allPages(): Record<string, string> {
  const pages: Record<string, string> = {
    step2: step2Page(step2),
    'step2-unavailable': step2Page({ ...step2, services: services(['nih', 'ims-employee']) }),
    'step2-linked': step2Page({ ...step2, linkedAs: { username: 'jdoe', serviceName: 'NIH Network Login' } }),
    'step2-long-name': step2Page({
      ...step2,
      portalName: 'National Institute of Something Extraordinarily Long Grants and Cooperative Agreements Portal',
      firstName: 'Maximiliana-Alexandrina-Konstantinopolis',
    }),
    // Long runs without a space or hyphen (a one-word portal name, a long first name, long addresses): wrapped, not wider than a phone.
    'step2-unbroken': step2Page({ ...step2, ...UNBROKEN }),
    'error-unbroken': errorPage({
      ...UNBROKEN,
      portalUrl: 'https://grants.example.org',
      code: 'link_expired',
      detail: { whenText: WHEN },
      assetBase: ASSET_BASE,
    }),
    success: successPage({
      portalName: 'Grants Portal',
      portalUrl: 'https://grants.example.org',
      serviceName: 'NIH Network Login',
      username: 'jdoe',
      assetBase: ASSET_BASE,
    }),
    'error-unknown-portal': errorPage({ code: 'link_unknown', assetBase: ASSET_BASE }),
  };
  for (const code of ERROR_CODES) pages[`error-${code}`] = errorOf(code);
  return pages;
}

/** Name → the HTML part of each email variant. */
export function allEmails(): Record<string, string> {
  return {
    'email-registration': composeRegistrationEmail(email).html,
    'email-registration-removal': composeRegistrationEmail({ ...email, removalAt: REMOVAL_AT }).html,
    'email-registration-linked': composeRegistrationEmail({ ...email, linkedAs: { username: 'jdoe', serviceName: 'NIH Network Login' } }).html,
    'email-reminder': composeReminderEmail({ ...email, removalAt: REMOVAL_AT }).html,
    'email-removal-warning': composeRemovalWarningEmail({ ...email, removalAt: REMOVAL_AT }).html,
    'email-unbroken': composeRegistrationEmail({
      ...email,
      ...UNBROKEN,
      to: 'maximiliana.konstantinopoulou@researchinstituteofadvancedbiomedicalstudies.example.org',
      removalAt: REMOVAL_AT,
    }).html,
  };
}
