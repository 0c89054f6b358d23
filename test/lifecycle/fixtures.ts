// Shared by the lifecycle tests: a world with a portal and invited people,
// and reading what the SMTP server received.

import type { ParsedMail } from 'mailparser';
import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { at, GRANTS, world, type World } from '../helpers/run.js';
import type { TestSmtp } from '../helpers/smtp.js';
import { storeSql, type StoreTarget } from '../helpers/sql.js';

export { at, GRANTS, T0 } from '../helpers/run.js';

export const REMINDER_SUBJECT = 'Reminder: link your account to Grants Portal';

export const toOf = (m: ParsedMail) => (m.to && !Array.isArray(m.to) ? m.to.text : '');

/** Every message the server accepted for this address, oldest first. */
export const mailsTo = (smtp: TestSmtp, to: string) => smtp.messages.filter((m) => toOf(m) === to);

/** The Step 2 link in a message's text part. */
export function linkIn(m: ParsedMail): string {
  const link = /https?:\/\/\S+\?token=[A-Za-z0-9_-]+/.exec(m.text ?? '')?.[0];
  if (!link) throw new Error(`no Step 2 link in "${m.subject}"`);
  return link;
}

export const tokenOf = (link: string) => new URL(link).searchParams.get('token')!;

/** A fresh store with the grants portal (extra `portals add` flags appended) and `n` people invited at T0, their emails sent. */
export async function portalWith(
  smtp: TestSmtp,
  n: number,
  o: { prefix?: string; portal?: string[]; env?: Record<string, string> } = {},
): Promise<{ w: World; emails: string[] }> {
  const w = world({ PORTALCTL_SMTP_URL: smtp.url, ...o.env });
  const add = await w.run([...GRANTS, ...(o.portal ?? [])]);
  if (add.exitCode !== 0) throw new Error(add.stderr);
  const prefix = o.prefix ?? `p${Math.random().toString(36).slice(2, 8)}`;
  const emails = Array.from({ length: n }, (_, i) => `${prefix}-${i}@example.org`);
  if (n > 0) {
    const csv = join(w.dir, 'people.csv');
    writeFileSync(csv, `email,first_name,last_name\n${emails.map((e, i) => `${e},Pat,Person${i}`).join('\n')}\n`);
    const r = await w.run(['users', 'invite', '--from-csv', csv, '--yes']);
    if (r.exitCode !== 0) throw new Error(r.stderr);
  }
  return { w, emails };
}

/** A config file with webhooks, and their secret files (mode 0600). */
export function configureWebhooks(w: World, hooks: { url: string; secret: string; types?: string[] }[], mode = 0o600): string[] {
  const dir = join(w.env.XDG_CONFIG_HOME!, 'portalctl');
  mkdirSync(dir, { recursive: true });
  const files = hooks.map((h, i) => {
    const f = join(dir, `webhook-${i}.secret`);
    writeFileSync(f, `${h.secret}\n`, { mode });
    return f;
  });
  const config = { webhooks: hooks.map((h, i) => ({ url: h.url, secretFile: files[i], ...(h.types ? { types: h.types } : {}) })) };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  return files;
}

/** Rows of the store, read directly (what the tests check beyond the commands' own output), on either store. */
export function rows<T = Record<string, unknown>>(w: StoreTarget, sql: string, ...params: unknown[]): Promise<T[]> {
  return storeSql<T>(w, sql, ...params);
}

export { at as day };
export const ensureDir = (f: string) => mkdirSync(dirname(f), { recursive: true });
