// `portals add`: create a portal.

import { RefusedError } from '../../errors.js';
import { createPortal, parsePortalSettings, PORTAL_SETTING_NAMES, scheduleNotes, type RawPortalSettings } from '../../domain/portals.js';
import { parseEmail, parseHttpUrl, parseName, parseSlug } from '../../domain/validate.js';
import type { PortalFields } from '../../store/types.js';
import { info, warning, type Result } from '../../output/results.js';
import { portalsResult } from '../../output/portals.js';
import { valueOrPrompt } from '../../runtime/ask.js';
import type { Context } from '../../runtime/context.js';
import { str, type RawInput } from '../command.js';

export interface PortalAddOptions {
  slug: string;
  settings: Partial<PortalFields>;
}

export function parse(raw: RawInput): PortalAddOptions {
  const given: RawPortalSettings = {};
  for (const k of PORTAL_SETTING_NAMES) given[k] = str(raw, k);
  return { slug: parseSlug(String(raw.args[0])), settings: parsePortalSettings(given) };
}

export async function run(ctx: Context, o: PortalAddOptions): Promise<Result> {
  // The store and the slug are checked before anything is asked.
  const store = await ctx.store({ create: true });
  if (await store.read((tx) => tx.portals.bySlug(o.slug))) {
    throw new RefusedError('portal_exists', `A portal named ${o.slug} already exists; change it with \`portalctl portals set ${o.slug}\`.`);
  }
  const s = o.settings;
  const name =
    s.name ??
    parseName(
      await valueOrPrompt(ctx, undefined, '--name', 'Portal display name:', (v) => parseName(v, 'portal name', "the portal's")),
      'portal name',
      "the portal's",
    );
  const baseUrl =
    s.baseUrl ??
    parseHttpUrl(await valueOrPrompt(ctx, undefined, '--url', 'Portal base URL:', (v) => parseHttpUrl(v, 'portal URL', { base: true })), 'portal URL', {
      base: true,
    });
  const adminEmail =
    s.adminEmail ??
    parseEmail(
      await valueOrPrompt(ctx, undefined, '--admin-email', 'Site Administrator email address:', (v) => parseEmail(v, 'Site Administrator address')),
      'Site Administrator address',
    );
  const fields: PortalFields = {
    slug: o.slug,
    name,
    baseUrl,
    adminEmail,
    registerUrl: s.registerUrl ?? `${baseUrl}/register`,
    linkDays: s.linkDays ?? 7,
    removalDays: s.removalDays ?? 30,
    remindDays: s.remindDays ?? [2, 5],
    warnDays: s.warnDays ?? 7,
    timeZone: s.timeZone ?? null,
  };
  const portal = await createPortal(store, fields, ctx.stamp());
  return { ...portalsResult([portal], true), messages: [info(`Created portal ${portal.slug}.`), ...scheduleNotes(portal).map(warning)] };
}
