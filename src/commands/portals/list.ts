import type { Command } from 'commander';
import type { Context } from '../../context.js';
import type { PortalRow } from '../../store/store.js';
import { printJsonList, printTable, type Column } from '../../output/output.js';

export function portalView(p: PortalRow) {
  return {
    slug: p.slug,
    name: p.name,
    url: p.base_url,
    adminEmail: p.admin_email,
    registerUrl: p.register_url,
    linkDays: p.link_days,
    removalDays: p.removal_days,
    timeZone: p.time_zone,
    createdAt: p.created_at,
  };
}

const columns: Column<PortalRow>[] = [
  { header: 'Slug', text: (p) => p.slug },
  { header: 'Name', text: (p) => p.name },
  { header: 'URL', text: (p) => p.base_url },
  { header: 'Site Administrator', text: (p) => p.admin_email },
  { header: 'Link days', text: (p) => String(p.link_days) },
  { header: 'Removal days', text: (p) => String(p.removal_days) },
  { header: 'Time zone', text: (p) => p.time_zone ?? '' },
];

export async function printPortals(ctx: Context, rows: PortalRow[]): Promise<void> {
  if (ctx.options.json) await printJsonList(ctx, 'portals', rows.map(portalView));
  else await printTable(ctx, columns, rows);
}

export function register(parent: Command, ctx: Context): void {
  parent
    .command('list')
    .summary('list portals')
    .description('List the portals in the store with their settings.')
    .addHelpText('after', '\nExamples:\n  portalctl portals list\n  portalctl portals list --json')
    .action(() => printPortals(ctx, ctx.store().portals()));
}
