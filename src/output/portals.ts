// How portals are shown: `portals list`, and after `portals add` / `set`.

import type { Portal } from '../store/types.js';
import { neutralize } from '../text.js';
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

const days = (p: Portal) =>
  [
    `link ${p.linkDays} days, removal ${p.removalDays} days`,
    `reminders ${p.remindDays.length ? `on days ${p.remindDays.join(', ')}` : 'off'}, warning ${p.warnDays ? `${p.warnDays} days before` : 'off'}`,
    ...(p.timeZone ? [`times in ${p.timeZone}`] : []),
  ].join('\n');

/** On a narrow terminal: the slug above the name, the URL above the contact, and the periods in words. */
const stacked: Column<Portal>[] = [
  { header: 'Slug\nName', value: (p) => `${p.slug}\n${p.name}`, tty: (p) => `${p.slug}\n${neutralize(p.name)}`, multiline: true },
  {
    header: 'URL\nSite Administrator',
    value: (p) => `${p.baseUrl}\n${p.adminEmail}`,
    tty: (p) => `${neutralize(p.baseUrl)}\n${neutralize(p.adminEmail)}`,
    multiline: true,
  },
  { header: 'Settings', value: days, multiline: true },
];

/** `report`: the portals a command just created or changed (--quiet hides them). */
export function portalsResult(rows: Portal[], report: boolean): TableResult<Portal> {
  return {
    kind: 'table',
    jsonKey: 'portals',
    rows,
    columns,
    stacked,
    toJson: portalJson,
    report,
    empty: report ? undefined : 'There is no portal yet; create one with `portalctl portals add`.',
  };
}
