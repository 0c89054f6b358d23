// `portals set`: change a portal's settings.

import { UsageError } from '../../errors.js';
import { parsePortalSettings, PORTAL_SETTING_NAMES, scheduleNotes, updatePortal, type RawPortalSettings } from '../../domain/portals.js';
import { parseSlug } from '../../domain/validate.js';
import type { PortalFields } from '../../store/types.js';
import { info, warning, type Result } from '../../output/results.js';
import { portalsResult } from '../../output/portals.js';
import type { Context } from '../../runtime/context.js';
import { str, type RawInput } from '../command.js';

export interface PortalSetOptions {
  slug: string;
  changes: Partial<PortalFields>;
}

export function parse(raw: RawInput): PortalSetOptions {
  const given: RawPortalSettings = {};
  for (const k of PORTAL_SETTING_NAMES) given[k] = str(raw, k);
  const changes = parsePortalSettings(given);
  if (Object.keys(changes).length === 0) {
    throw new UsageError(
      'Nothing to change; give at least one of --name, --url, --admin-email, --register-url, --link-days, --removal-days, --remind-days, --warn-days, --time-zone.',
      'missing_value',
    );
  }
  return { slug: parseSlug(String(raw.args[0])), changes };
}

export async function run(ctx: Context, o: PortalSetOptions): Promise<Result> {
  const portal = await updatePortal(await ctx.store(), o.slug, o.changes, ctx.stamp());
  return { ...portalsResult([portal], true), messages: [info(`Updated portal ${portal.slug}.`), ...scheduleNotes(portal).map(warning)] };
}
