import type { Command } from 'commander';
import type { Context } from '../../context.js';
import { RefusedError, UsageError } from '../../errors.js';
import { isValidTimeZone, iso } from '../../domain/time.js';
import { parseEmail, parseHttpUrl, parseName, parseSlug, parseWholeNumber } from '../../domain/validate.js';
import { say } from '../../output/output.js';
import { valueOrPrompt } from '../../prompt.js';
import { printPortals, portalView } from './list.js';
import type { PortalRow } from '../../store/store.js';

export interface PortalAddOptions {
  slug: string;
  name?: string;
  url?: string;
  adminEmail?: string;
  registerUrl?: string;
  linkDays?: string;
  removalDays?: string;
  timeZone?: string;
}

export function parseTimeZone(raw: string): string {
  if (!isValidTimeZone(raw)) throw new UsageError(`Unknown time zone ${JSON.stringify(raw)}; use an IANA name such as America/New_York or UTC.`, 'invalid_time_zone');
  return raw;
}

export async function portalsAddRun(ctx: Context, o: PortalAddOptions): Promise<void> {
  const slug = parseSlug(o.slug);
  const name = parseName(await valueOrPrompt(ctx, o.name, '--name', 'Portal display name:', (v) => parseName(v, 'portal name')), 'portal name');
  const url = parseHttpUrl(await valueOrPrompt(ctx, o.url, '--url', 'Portal base URL:', (v) => parseHttpUrl(v, 'portal URL')), 'portal URL');
  const adminEmail = parseEmail(
    await valueOrPrompt(ctx, o.adminEmail, '--admin-email', 'Site Administrator email address:', (v) => parseEmail(v, 'Site Administrator address')),
    'Site Administrator address',
  );
  const registerUrl = o.registerUrl !== undefined ? parseHttpUrl(o.registerUrl, 'registration form URL') : `${url}/register`;
  const linkDays = o.linkDays !== undefined ? parseWholeNumber(o.linkDays, '--link-days', 1, 365) : 7;
  const removalDays = o.removalDays !== undefined ? parseWholeNumber(o.removalDays, '--removal-days', 0, 3650) : 30;
  const timeZone = o.timeZone !== undefined ? parseTimeZone(o.timeZone) : null;
  const store = ctx.store();
  const now = iso(ctx.now());
  const row = store.write(() => {
    if (store.portalBySlug(slug)) throw new RefusedError('portal_exists', `A portal named ${slug} already exists; change it with \`portalctl portals set ${slug}\`.`);
    const res = store.db
      .prepare(
        `INSERT INTO portals (slug, name, base_url, admin_email, register_url, link_days, removal_days, time_zone, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(slug, name, url, adminEmail, registerUrl, linkDays, removalDays, timeZone, now);
    const portal = store.portalById(Number(res.lastInsertRowid)) as PortalRow;
    store.audit({ at: now, actor: ctx.actorName(), action: 'portal-add', portal: slug, userId: null, userEmail: null, after: portalView(portal) });
    return portal;
  });
  say(ctx, `Created portal ${slug}.`);
  if (!ctx.options.quiet || ctx.options.json) await printPortals(ctx, [row]);
}

export function register(parent: Command, ctx: Context): void {
  parent
    .command('add')
    .summary('create a portal')
    .description('Create a portal: its slug, display name, base URL and Site Administrator contact.')
    .argument('<slug>', 'short name used with --portal, e.g. grants')
    .option('--name <name>', 'display name, e.g. "Grants Portal"')
    .option('--url <url>', 'base URL of the portal; Step 2 links point here')
    .option('--admin-email <address>', 'Site Administrator contact (Reply-To of registration emails)')
    .option('--register-url <url>', 'IMS Login Service registration form for Step 1 (default: URL/register)')
    .option('--link-days <days>', 'days a Step 2 link stays valid', '7')
    .option('--removal-days <days>', 'days until an unlinked profile is removed', '30')
    .option('--time-zone <zone>', 'IANA zone emails state expiry times in (default: this machine\'s)')
    .addHelpText('after', '\nExamples:\n  portalctl portals add grants --name "Grants Portal" --url https://grants.example.org --admin-email admin@example.org')
    .action((slug: string, o: Omit<PortalAddOptions, 'slug'>) => portalsAddRun(ctx, { slug, ...o }));
}
