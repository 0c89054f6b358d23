import type { Command } from 'commander';
import type { Context } from '../../context.js';
import { NotFoundError, UsageError } from '../../errors.js';
import { iso } from '../../domain/time.js';
import { parseEmail, parseHttpUrl, parseName, parseSlug, parseWholeNumber } from '../../domain/validate.js';
import { say } from '../../output/output.js';
import type { PortalRow } from '../../store/store.js';
import { parseTimeZone } from './add.js';
import { portalView, printPortals } from './list.js';

export interface PortalSetOptions {
  name?: string;
  url?: string;
  adminEmail?: string;
  registerUrl?: string;
  linkDays?: string;
  removalDays?: string;
  timeZone?: string;
}

/** Changes a portal's settings. New link and removal periods apply to registrations and invitations made from now on. */
export async function portalsSetRun(ctx: Context, slugRaw: string, o: PortalSetOptions): Promise<void> {
  const slug = parseSlug(slugRaw);
  const changes: Record<string, string | number | null> = {};
  if (o.name !== undefined) changes.name = parseName(o.name, 'portal name');
  if (o.url !== undefined) changes.base_url = parseHttpUrl(o.url, 'portal URL');
  if (o.adminEmail !== undefined) changes.admin_email = parseEmail(o.adminEmail, 'Site Administrator address');
  if (o.registerUrl !== undefined) changes.register_url = parseHttpUrl(o.registerUrl, 'registration form URL');
  if (o.linkDays !== undefined) changes.link_days = parseWholeNumber(o.linkDays, '--link-days', 1, 365);
  if (o.removalDays !== undefined) changes.removal_days = parseWholeNumber(o.removalDays, '--removal-days', 0, 3650);
  if (o.timeZone !== undefined) changes.time_zone = o.timeZone === '' ? null : parseTimeZone(o.timeZone);
  if (Object.keys(changes).length === 0) {
    throw new UsageError('Nothing to change; give at least one of --name, --url, --admin-email, --register-url, --link-days, --removal-days, --time-zone.', 'missing_value');
  }
  const store = ctx.store();
  const row = store.write(() => {
    const before = store.portalBySlug(slug);
    if (!before) throw new NotFoundError(`No portal ${slug}; see \`portalctl portals list\`.`);
    const sets = Object.keys(changes).map((k) => `${k} = @${k}`).join(', ');
    store.db.prepare(`UPDATE portals SET ${sets} WHERE id = @id`).run({ ...changes, id: before.id });
    const after = store.portalById(before.id) as PortalRow;
    store.audit({ at: iso(ctx.now()), actor: ctx.actorName(), action: 'portal-set', portal: slug, userId: null, userEmail: null, before: portalView(before), after: portalView(after) });
    return after;
  });
  say(ctx, `Updated portal ${slug}.`);
  if (!ctx.options.quiet || ctx.options.json) await printPortals(ctx, [row]);
}

export function register(parent: Command, ctx: Context): void {
  parent
    .command('set')
    .summary("change a portal's settings")
    .description("Change a portal's settings, such as its default link lifetime and removal period.\nNew periods apply to invitations and registrations made from now on; use `users set-removal-days` for one user.")
    .argument('<slug>', 'the portal')
    .option('--name <name>', 'display name')
    .option('--url <url>', 'base URL')
    .option('--admin-email <address>', 'Site Administrator contact')
    .option('--register-url <url>', 'IMS Login Service registration form for Step 1')
    .option('--link-days <days>', 'days a Step 2 link stays valid')
    .option('--removal-days <days>', 'days until an unlinked profile is removed')
    .option('--time-zone <zone>', 'IANA zone for expiry times in emails ("" for this machine\'s)')
    .addHelpText('after', '\nExamples:\n  portalctl portals set grants --removal-days 45\n  portalctl portals set grants --link-days 14 --time-zone America/New_York')
    .action((slug: string, o: PortalSetOptions) => portalsSetRun(ctx, slug, o));
}
