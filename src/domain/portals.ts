// Portals: their settings checked, created and changed with an audit record.

import { RefusedError, NotFoundError } from '../errors.js';
import type { Portal, PortalFields, Store } from '../store/types.js';
import type { Stamp } from './lifecycle.js';
import { iso, parseTimeZone } from './time.js';
import { parseDayList, parseEmail, parseHttpUrl, parseName, parseWholeNumber } from './validate.js';

/** The settings of `portals add` and `portals set`, as given (strings) — each optional. */
export interface RawPortalSettings {
  name?: string;
  url?: string;
  adminEmail?: string;
  registerUrl?: string;
  linkDays?: string;
  removalDays?: string;
  remindDays?: string;
  warnDays?: string;
  timeZone?: string;
}

/** The option names (commander's camel case) of the portal settings. */
export const PORTAL_SETTING_NAMES: (keyof RawPortalSettings)[] = [
  'name',
  'url',
  'adminEmail',
  'registerUrl',
  'linkDays',
  'removalDays',
  'remindDays',
  'warnDays',
  'timeZone',
];

/** Validates the given settings; a time zone of "" means "the machine's" (null). */
export function parsePortalSettings(raw: RawPortalSettings): Partial<PortalFields> {
  const out: Partial<PortalFields> = {};
  if (raw.name !== undefined) out.name = parseName(raw.name, 'portal name', "the portal's");
  if (raw.url !== undefined) out.baseUrl = parseHttpUrl(raw.url, 'portal URL', { base: true });
  if (raw.adminEmail !== undefined) out.adminEmail = parseEmail(raw.adminEmail, 'Site Administrator address');
  if (raw.registerUrl !== undefined) out.registerUrl = parseHttpUrl(raw.registerUrl, 'registration form URL');
  if (raw.linkDays !== undefined) out.linkDays = parseWholeNumber(raw.linkDays, '--link-days', 1, 365);
  if (raw.removalDays !== undefined) out.removalDays = parseWholeNumber(raw.removalDays, '--removal-days', 0, 3650);
  if (raw.remindDays !== undefined) out.remindDays = parseDayList(raw.remindDays, '--remind-days', 365);
  if (raw.warnDays !== undefined) out.warnDays = parseWholeNumber(raw.warnDays, '--warn-days', 0, 365);
  if (raw.timeZone !== undefined) out.timeZone = raw.timeZone === '' ? null : parseTimeZone(raw.timeZone);
  return out;
}

/**
 * Settings that are allowed but do not do what they seem to: a reminder on or after the day its link
 * expires is never sent (a reminder needs a working link), and a warning as many days or more before
 * removal than removal is after the invitation goes with the first `remind` after it.
 */
export function scheduleNotes(p: Pick<PortalFields, 'linkDays' | 'removalDays' | 'remindDays' | 'warnDays'>): string[] {
  const notes: string[] = [];
  const late = p.remindDays.filter((d) => d >= p.linkDays);
  if (late.length > 0) {
    const days = late.length === 1 ? `a reminder ${late[0]} days` : `reminders ${late.join(', ')} days`;
    notes.push(`${days} after the email will never be sent: a reminder needs a working link, and links expire after ${p.linkDays} days (--link-days).`);
  }
  if (p.warnDays > 0 && p.warnDays >= p.removalDays) {
    notes.push(
      `a removal warning ${p.warnDays} days before removal goes with the first \`portalctl remind\` after each invitation: removal is ${p.removalDays} days after it (--removal-days).`,
    );
  }
  return notes;
}

export function portalAudit(p: Portal) {
  return { ...p, id: undefined };
}

export function createPortal(store: Store, fields: PortalFields, stamp: Stamp): Promise<Portal> {
  return store.write(async (tx) => {
    if (await tx.portals.bySlug(fields.slug))
      throw new RefusedError('portal_exists', `A portal named ${fields.slug} already exists; change it with \`portalctl portals set ${fields.slug}\`.`);
    const at = iso(stamp.now);
    const portal = await tx.portals.insert(fields, at);
    await tx.audit.append({ at, actor: stamp.actor, action: 'portal-add', portal: portal.slug, userId: null, userEmail: null, after: portalAudit(portal) });
    return portal;
  });
}

export function updatePortal(store: Store, slug: string, changes: Partial<PortalFields>, stamp: Stamp): Promise<Portal> {
  return store.write(async (tx) => {
    const before = await tx.portals.bySlug(slug);
    if (!before) throw new NotFoundError(`No portal ${slug}; see \`portalctl portals list\`.`);
    const after = await tx.portals.update(before.id, changes);
    await tx.audit.append({
      at: iso(stamp.now),
      actor: stamp.actor,
      action: 'portal-set',
      portal: slug,
      userId: null,
      userEmail: null,
      before: portalAudit(before),
      after: portalAudit(after),
    });
    return after;
  });
}
