// Where registration emails go: an SMTP server (PORTALCTL_SMTP_URL) or, by
// default, .eml files in a mail folder beside the store. nodemailer is loaded
// only when a message is actually sent, so other commands start fast.

import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import type { ComposedEmail } from './compose.js';

export interface MailSettings {
  smtpUrl?: string;
  /** A file holding the SMTP password, so it never has to be on a command line. */
  smtpPasswordFile?: string;
  /** PORTALCTL_MAIL_FROM; unset, each message comes from no-reply@ the portal's host. */
  from?: string;
  mailDir: string;
}

export interface SendOutcome {
  /** Where it went, for the command's message: "smtp://host:port" or the .eml path. */
  where: string;
  response?: string;
}

/** A delivery failure: temporary ones keep the message queued, permanent ones mark it failed. */
export class DeliveryError extends Error {
  readonly permanent: boolean;
  constructor(message: string, permanent: boolean) {
    super(message);
    this.permanent = permanent;
  }
}

export interface Mailer {
  readonly description: string;
  send(mail: ComposedEmail, name: string): Promise<SendOutcome>;
  verify(): Promise<void>;
  close(): void;
}

/** Replaces every occurrence of the secret with ***. */
export function maskSecret(text: string, secret: string | undefined): string {
  if (!secret) return text;
  let out = text.split(secret).join('***');
  const encoded = encodeURIComponent(secret);
  if (encoded !== secret) out = out.split(encoded).join('***');
  return out;
}

export interface ParsedSmtp {
  url: URL;
  password?: string;
  /** The URL as it may be shown: password masked. */
  display: string;
}

export function parseSmtpUrl(raw: string, passwordFile?: string): ParsedSmtp {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError('PORTALCTL_SMTP_URL is not a valid URL; use smtp://user:pass@host:port or smtps://user:pass@host:port.', 'invalid_smtp_url');
  }
  if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') {
    throw new UsageError(`PORTALCTL_SMTP_URL must start with smtp:// or smtps://, not ${url.protocol}//.`, 'invalid_smtp_url');
  }
  let password = url.password ? decodeURIComponent(url.password) : undefined;
  if (!password && passwordFile) {
    let mode: number;
    try {
      mode = statSync(passwordFile).mode;
    } catch {
      throw new UsageError(`PORTALCTL_SMTP_PASSWORD_FILE ${passwordFile} cannot be read; check the path.`, 'invalid_smtp_password_file');
    }
    if ((mode & 0o077) !== 0) {
      throw new UsageError(
        `PORTALCTL_SMTP_PASSWORD_FILE ${passwordFile} is readable by others (mode ${(mode & 0o777).toString(8)}); run \`chmod 600 ${passwordFile}\`.`,
        'invalid_smtp_password_file',
      );
    }
    password = readFileSync(passwordFile, 'utf8').replace(/\r?\n$/, '');
  }
  const shown = new URL(url.toString());
  if (shown.password) shown.password = '***';
  return { url, password, display: shown.toString().replace(/\/$/, '') };
}

/** Temporary failures: no connection, a dropped socket, 4xx. Permanent: 5xx for the message or recipient. */
function classify(err: unknown, secret: string | undefined): DeliveryError {
  const e = err as { responseCode?: number; code?: string; response?: string; message?: string };
  const text = maskSecret((e.response ?? e.message ?? String(err)).replace(/\s+/g, ' ').trim(), secret);
  const permanent = typeof e.responseCode === 'number' && e.responseCode >= 500 && e.code !== 'EAUTH';
  return new DeliveryError(text, permanent);
}

export async function createMailer(settings: MailSettings, opts: { pool?: boolean } = {}): Promise<Mailer> {
  const nodemailer = (await import('nodemailer')).default;
  if (!settings.smtpUrl) {
    const transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
    return {
      description: `.eml files in ${settings.mailDir}`,
      async send(mail, name) {
        const info = await transport.sendMail({ ...mail, from: settings.from ?? mail.from });
        mkdirSync(settings.mailDir, { recursive: true, mode: 0o700 });
        const file = join(settings.mailDir, `${name}.eml`);
        // The file holds a live Step 2 link: readable by its owner only.
        writeFileSync(file, info.message as Buffer, { mode: 0o600 });
        return { where: file };
      },
      async verify() {
        mkdirSync(settings.mailDir, { recursive: true, mode: 0o700 });
      },
      close() {},
    };
  }
  const smtp = parseSmtpUrl(settings.smtpUrl, settings.smtpPasswordFile);
  const secure = smtp.url.protocol === 'smtps:';
  const transport = nodemailer.createTransport({
    host: smtp.url.hostname.replace(/^\[|\]$/g, ''),
    port: Number(smtp.url.port) || (secure ? 465 : 587),
    secure,
    auth: smtp.url.username ? { user: decodeURIComponent(smtp.url.username), pass: smtp.password ?? '' } : undefined,
    pool: opts.pool ?? false,
    maxConnections: 4,
    maxMessages: Infinity,
    connectionTimeout: 15_000,
    greetingTimeout: 15_000,
    socketTimeout: 60_000,
    // SNI takes a host name, never an IP address.
    tls: isIP(smtp.url.hostname.replace(/^\[|\]$/g, '')) ? {} : { servername: smtp.url.hostname },
  });
  return {
    description: smtp.display,
    async send(mail) {
      let info;
      try {
        info = await transport.sendMail({ ...mail, from: settings.from ?? mail.from });
      } catch (err) {
        throw classify(err, smtp.password);
      }
      // nodemailer resolves even when some recipients were refused.
      if (Array.isArray(info.rejected) && info.rejected.length > 0) {
        const reason = (info as { rejectedErrors?: { response?: string }[] }).rejectedErrors?.[0]?.response ?? 'recipient rejected';
        throw new DeliveryError(maskSecret(reason, smtp.password), true);
      }
      return { where: smtp.display, response: info.response };
    },
    async verify() {
      try {
        await transport.verify();
      } catch (err) {
        throw classify(err, smtp.password);
      }
    },
    close() {
      transport.close();
    },
  };
}
