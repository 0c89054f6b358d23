// `config`: the effective settings and where each came from; secrets masked.

import { existsSync } from 'node:fs';
import type { Resolved } from '../runtime/settings.js';
import { info, warning, type Column, type Message, type Result } from '../output/results.js';
import type { Context } from '../runtime/context.js';
import { displayUrl } from '../webhooks/deliver.js';
import type { RawInput } from './command.js';
import { isPostgresUrl } from '../store/open.js';
import { postgresUrlText, readPostgresUrl } from '../store/postgres/connect.js';

interface Row {
  name: string;
  value: string | null;
  source: string;
  from: string | null;
}

/** A URL with its password replaced by ***, found by parsing the URL — never by a pattern over the text. */
export function maskUrl(raw: string | undefined): string | undefined {
  if (!raw) return raw;
  try {
    const postgres = isPostgresUrl(raw);
    // libpq's postgres://user@/db?host=/socket (a user, no host) is read as the store reads it.
    const url = postgres ? readPostgresUrl(raw) : new URL(raw);
    // "smtp:user:pw@relay" parses, as an opaque path with no host: the password would be shown in it.
    if (url.host === '' && /[@:]/.test(url.pathname)) return '(not a valid URL)';
    if (url.password) url.password = '***';
    // libpq, and so the PostgreSQL store, also takes the password as ?password=….
    if (url.searchParams.has('password')) url.searchParams.set('password', '***');
    return postgres ? postgresUrlText(url) : url.toString();
  } catch {
    // Not a URL (a path): nothing in it to mask — unless it looks like one, then show nothing of it.
    return /:\/\//.test(raw) ? '(not a valid URL)' : raw;
  }
}

export function parse(_raw: RawInput): Record<string, never> {
  return {};
}

export async function run(ctx: Context): Promise<Result> {
  const s = ctx.settings;
  const row = (name: string, r: Resolved<string | undefined>, mask?: (v: string | undefined) => string | undefined): Row => ({
    name,
    value: (mask ? mask(r.value) : r.value) ?? null,
    source: r.source,
    from: r.from || null,
  });
  const file = s.file;
  const fromFile = (name: string, value: string | undefined): Row => ({
    name,
    value: value ?? null,
    source: value === undefined ? 'default' : 'config',
    from: value === undefined ? null : s.configFile,
  });
  const settings: Row[] = [
    row('db', s.db, maskUrl),
    row('portal', s.portal),
    row('smtpUrl', s.smtpUrl, maskUrl),
    row('smtpPasswordFile', s.smtpPasswordFile),
    row('mailFrom', s.mailFrom),
    { name: 'mailDir', value: s.smtpUrl.value ? null : s.mailDir.value, source: s.mailDir.source, from: s.mailDir.from },
    fromFile('passwordFile', file.passwordFile),
    fromFile(
      'services',
      file.services
        ? Object.entries(file.services)
            .map(([k, v]) => `${k} (${v.type})`)
            .join(', ')
        : undefined,
    ),
    // As every other message shows a webhook: without its query, which may carry a key.
    fromFile('webhooks', file.webhooks ? file.webhooks.map((w) => displayUrl(w.url)).join(', ') : undefined),
    fromFile('serve.listen', file.serve?.listen),
    fromFile('serve.publicUrl', file.serve?.publicUrl),
    fromFile('serve.apiTokenFile', file.serve?.apiTokenFile),
    {
      name: 'now',
      value: ctx.env.PORTALCTL_NOW ? ctx.now.toISOString() : null,
      source: ctx.env.PORTALCTL_NOW ? 'env' : 'default',
      from: ctx.env.PORTALCTL_NOW ? 'PORTALCTL_NOW' : 'the system clock',
    },
  ];
  const exists = existsSync(s.configFile);
  const messages: Message[] = [
    info(`Config file: ${s.configFile}${exists ? '' : ' (not present)'}. Precedence: flags > environment > config file > defaults.`),
  ];
  if (ctx.env.PORTALCTL_NOW) messages.push(warning(`PORTALCTL_NOW overrides the clock: portalctl takes "now" to be ${ctx.now.toISOString()}.`));
  if (!s.smtpUrl.value)
    messages.push(warning(`no email is sent: without smtpUrl (PORTALCTL_SMTP_URL) emails are only written as .eml files to ${s.mailDir.value}.`));
  const columns: Column<Row>[] = [
    { header: 'Setting', value: (r) => r.name },
    { header: 'Value', value: (r) => r.value ?? '(unset)' },
    { header: 'Source', value: (r) => r.source },
    { header: 'From', value: (r) => r.from ?? '' },
  ];
  return {
    kind: 'document',
    json: { configFile: s.configFile, configFileExists: exists, settings },
    sections: [{ kind: 'table', columns, rows: settings }],
    messages,
  };
}
