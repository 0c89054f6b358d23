// How portals are shown: `portals list`, and after `portals add` / `set`.

import type { Portal } from '../store/types.js';
import type { Column, TableResult } from './results.js';

export function portalJson(p: Portal) {
  return {
    slug: p.slug,
    name: p.name,
    url: p.baseUrl,
    adminEmail: p.adminEmail,
    registerUrl: p.registerUrl,
    linkDays: p.linkDays,
    removalDays: p.removalDays,
    remindDays: p.remindDays,
    warnDays: p.warnDays,
    timeZone: p.timeZone,
    createdAt: p.createdAt,
  };
}

const columns: Column<Portal>[] = [
  { header: 'Slug', value: (p) => p.slug },
  { header: 'Name', value: (p) => p.name },
  { header: 'URL', value: (p) => p.baseUrl },
  { header: 'Site Administrator', short: 'Administrator', value: (p) => p.adminEmail },
  { header: 'Link days', short: 'Link', value: (p) => p.linkDays, kind: 'number' },
  { header: 'Removal days', short: 'Removal', value: (p) => p.removalDays, kind: 'number' },
  { header: 'Reminders (days)', short: 'Remind', value: (p) => (p.remindDays.length ? p.remindDays.join(',') : 'off') },
  { header: 'Warning (days before)', short: 'Warn', value: (p) => (p.warnDays ? p.warnDays : 'off') },
  { header: 'Time zone', short: 'Zone', value: (p) => p.timeZone ?? '' },
];

/** `report`: the portals a command just created or changed (--quiet hides them). */
export function portalsResult(rows: Portal[], report: boolean): TableResult<Portal> {
  return {
    kind: 'table',
    jsonKey: 'portals',
    rows,
    columns,
    toJson: portalJson,
    report,
    empty: report ? undefined : 'There is no portal yet; create one with `portalctl portals add`.',
  };
}
