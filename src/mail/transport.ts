// Where emails go: an SMTP server (PORTALCTL_SMTP_URL) or, by default, .eml
// files in a mail folder. Settings arrive parsed and validated (settings.ts
// does that before a command's first write); nodemailer is loaded only when
// a message is actually sent, so other commands start fast.

import { closeSync, constants, fchmodSync, lstatSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import { quote } from '../text.js';
import type { Sender } from '../domain/validate.js';
import { randomHex } from '../domain/tokens.js';
import type { ComposedEmail } from './compose.js';

export interface SmtpSettings {
  url: URL;
  password?: string;
  /** The URL as it may be shown: password masked. */
  display: string;
  /** The setting that holds the URL, for "check …" advice: PORTALCTL_SMTP_URL, or smtpUrl in the config file. */
  setting: string;
  /** AUTH only after STARTTLS (the default when a user name is given), unless ?tls=off. */
  requireTls: boolean;
  /** Connections a bulk send opens at once. */
  connections: number;
  /** Waits for the relay (connect, greeting, each reply); default 15 s to connect and greet, 60 s per reply. */
  timeoutMs?: number;
}

export interface MailSettings {
  smtp?: SmtpSettings;
  /** PORTALCTL_MAIL_FROM; unset: each message comes from no-reply@ the portal's host. */
  sender?: Sender;
  /** Where .eml files go when there is no SMTP server. */
  mailDir: string;
}

/** Where a message went, for the command's report: "smtp://host:port" or the .eml path. */
export interface Sent {
  where: string;
}

/** A delivery failure. Temporary ones keep the message queued; permanent ones mark it failed. `server`: the relay itself refused or is unreachable. */
export class DeliveryError extends Error {
  readonly permanent: boolean;
  readonly server: boolean;
  constructor(message: string, permanent: boolean, server = false) {
    super(message);
    this.permanent = permanent;
    this.server = server;
  }
}

export interface Mailer {
  readonly description: string;
  /** True when messages are written to files instead of being sent. */
  readonly toFiles: boolean;
  send(mail: ComposedEmail, name: string): Promise<Sent>;
  verify(): Promise<void>;
  close(): void;
}

/** Every form a password can take in a server's reply or an error: plain, URL-encoded, and inside AUTH PLAIN/LOGIN base64. */
export function secretForms(user: string | undefined, password: string | undefined): string[] {
  if (!password) return [];
  const forms = new Set([password, encodeURIComponent(password), Buffer.from(password).toString('base64')]);
  if (user !== undefined) {
    forms.add(Buffer.from(`\0${user}\0${password}`).toString('base64'));
    forms.add(Buffer.from(`${user}\0${user}\0${password}`).toString('base64'));
  }
  // Longest first, so a form that contains another is masked whole.
  return [...forms].filter((f) => f.length > 0).sort((a, b) => b.length - a.length);
}

/** Masks every form of the secret (see secretForms) with ***. */
export function maskSecrets(text: string, forms: string[]): string {
  let out = text;
  for (const f of forms) out = out.split(f).join('***');
  return out;
}

/** Parses PORTALCTL_SMTP_URL (or smtpUrl) into settings; the password may come from a file instead. */
export function parseSmtpUrl(raw: string, what: string, password?: string): SmtpSettings {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new UsageError(`${what} is not a valid URL; use smtp://user:pass@host:port or smtps://user:pass@host:port.`, 'invalid_smtp_url');
  }
  const protocol = url.protocol.toLowerCase();
  if (protocol !== 'smtp:' && protocol !== 'smtps:') {
    throw new UsageError(`${what} must start with smtp:// or smtps://, not ${quote(`${url.protocol}//`)}.`, 'invalid_smtp_url');
  }
  if (!url.hostname) throw new UsageError(`${what} has no host; use smtp://host:port.`, 'invalid_smtp_url');
  const params = url.searchParams;
  for (const key of params.keys()) {
    if (key !== 'tls' && key !== 'connections')
      throw new UsageError(`${what} has an unknown parameter ${quote(key)}; known: tls=off, connections=N.`, 'invalid_smtp_url');
  }
  const tls = params.get('tls');
  if (tls !== null && tls !== 'off' && tls !== 'required')
    throw new UsageError(`${what}: tls must be "off" or "required", not ${quote(tls)}.`, 'invalid_smtp_url');
  const connectionsText = params.get('connections');
  const connections = connectionsText === null ? 5 : Number(connectionsText);
  if (!Number.isInteger(connections) || connections < 1 || connections > 50) {
    throw new UsageError(`${what}: connections must be a whole number from 1 to 50, not ${quote(connectionsText ?? '')}.`, 'invalid_smtp_url');
  }
  const pass = url.password ? decodeURIComponent(url.password) : password;
  const shown = new URL(url.toString());
  if (shown.password) shown.password = '***';
  shown.search = '';
  return {
    url,
    password: pass,
    display: shown.toString().replace(/\/$/, ''),
    setting: what,
    requireTls: protocol === 'smtp:' && (tls === 'required' || (tls !== 'off' && url.username !== '')),
    connections,
  };
}

/**
 * The mail folder must be ours: a folder owned by this user that nobody else
 * can write to, or one we create with mode 0700. A planted folder, or one in
 * a shared temporary directory, would let others swap files under us.
 */
export function checkMailDir(dir: string, create: boolean): void {
  let st;
  try {
    st = lstatSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
      throw new UsageError(`The mail folder ${quote(dir, 200)} cannot be used: ${(err as NodeJS.ErrnoException).code}.`, 'invalid_mail_dir');
    if (!create) return;
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
    } catch (e) {
      throw new UsageError(
        `Cannot create the mail folder ${quote(dir, 200)}: ${(e as NodeJS.ErrnoException).code}; set mailDir in the config file or PORTALCTL_SMTP_URL.`,
        'invalid_mail_dir',
      );
    }
    return checkMailDir(dir, false);
  }
  if (!st.isDirectory())
    throw new UsageError(`The mail folder ${quote(dir, 200)} is not a folder (a link or a file); remove it or set mailDir.`, 'invalid_mail_dir');
  if (typeof process.getuid === 'function' && st.uid !== process.getuid()) {
    throw new UsageError(
      `The mail folder ${quote(dir, 200)} belongs to another user; emails hold live links, so portalctl writes only to a folder of its own.`,
      'invalid_mail_dir',
    );
  }
  if ((st.mode & 0o022) !== 0) {
    throw new UsageError(
      `The mail folder ${quote(dir, 200)} can be written by others (mode ${(st.mode & 0o777).toString(8)}); run \`chmod 700 ${dir}\`.`,
      'invalid_mail_dir',
    );
  }
}

/** Temporary: no connection, a dropped socket, 4xx. Permanent: 5xx for the message or recipient. A 5xx at the greeting or for the login is the relay's problem, not the address's. */
function classify(err: unknown, forms: string[]): DeliveryError {
  const e = err as { responseCode?: number; code?: string; command?: string; response?: string; message?: string };
  const text = maskSecrets((e.response ?? e.message ?? String(err)).replace(/\s+/g, ' ').trim(), forms);
  const serverLevel =
    e.code === 'EAUTH' ||
    e.code === 'ECONNECTION' ||
    e.code === 'ETIMEDOUT' ||
    e.code === 'ESOCKET' ||
    e.code === 'EDNS' ||
    e.command === 'CONN' ||
    e.command === 'EHLO' ||
    e.command === 'HELO' ||
    e.code === 'ETLS';
  const permanent = !serverLevel && typeof e.responseCode === 'number' && e.responseCode >= 500;
  if (e.code === 'ETLS') {
    // A relay without STARTTLS (or a man in the middle that strips it): say why portalctl stopped before the login.
    return new DeliveryError(`STARTTLS failed (${text}); the login is sent only over TLS — add ?tls=off only for a local relay you trust`, false, true);
  }
  return new DeliveryError(text, permanent, serverLevel);
}

let nodemailerModule: typeof import('nodemailer') | undefined;
async function nodemailer() {
  nodemailerModule ??= (await import('nodemailer')).default as unknown as typeof import('nodemailer');
  return nodemailerModule;
}

function fromHeader(settings: MailSettings, mail: ComposedEmail): string | { name: string; address: string } | undefined {
  const s = settings.sender;
  if (!s) return mail.from;
  return s.name ? { name: s.name, address: s.address } : s.address;
}

/** The fields nodemailer gets for a message: the From header of the settings, a Message-ID and MIME boundaries from portalctl's pool of random bytes (nodemailer asks the system for each, fourteen times a message). */
function mailFields(settings: MailSettings, mail: ComposedEmail) {
  const from = fromHeader(settings, mail);
  const domain = (typeof from === 'string' ? from : (from?.address ?? '')).split('@').pop() || 'localhost';
  const id = randomHex(16);
  const messageId = `<${id.slice(0, 8)}-${id.slice(8, 12)}-${id.slice(12, 16)}-${id.slice(16, 20)}-${id.slice(20)}@${domain}>`;
  return { ...mail, from, messageId, baseBoundary: randomHex(8) };
}

/** The relay's side of SMTP: sends messages, verifies the connection; what it throws is a DeliveryError, secrets masked. */
export interface SmtpSender {
  send(mail: ComposedEmail): Promise<Sent>;
  verify(): Promise<void>;
  close(): void;
}

/**
 * Talks to the relay from this thread. nodemailer builds each message as it writes it (streamed: ten
 * writes a message; built whole first and handed over raw, it went out in four, but the second pass
 * through nodemailer cost more CPU than the writes saved — 5.2-5.5 s against 6.0-6.4 s of the mail
 * thread's time for 5k messages).
 */
export async function smtpSender(settings: MailSettings & { smtp: SmtpSettings }, opts: { pool?: boolean } = {}): Promise<SmtpSender> {
  const smtp = settings.smtp;
  const nm = await nodemailer();
  const host = smtp.url.hostname.replace(/^\[|\]$/g, '');
  const secure = smtp.url.protocol.toLowerCase() === 'smtps:';
  const user = smtp.url.username ? decodeURIComponent(smtp.url.username) : undefined;
  const forms = secretForms(user, smtp.password);
  const transport = nm.createTransport({
    host,
    port: Number(smtp.url.port) || (secure ? 465 : 587),
    secure,
    requireTLS: smtp.requireTls,
    auth: user !== undefined ? { user, pass: smtp.password ?? '' } : undefined,
    pool: opts.pool ?? false,
    maxConnections: smtp.connections,
    maxMessages: Infinity,
    connectionTimeout: smtp.timeoutMs ?? 15_000,
    greetingTimeout: smtp.timeoutMs ?? 15_000,
    socketTimeout: smtp.timeoutMs ?? 60_000,
    // SNI takes a host name, never an IP address.
    tls: isIP(host) ? {} : { servername: host },
  });
  return {
    async send(mail) {
      let info;
      try {
        info = await transport.sendMail(mailFields(settings, mail));
      } catch (err) {
        throw classify(err, forms);
      }
      // nodemailer resolves even when some recipients were refused.
      if (Array.isArray(info.rejected) && info.rejected.length > 0) {
        const reason = (info as { rejectedErrors?: { response?: string }[] }).rejectedErrors?.[0]?.response ?? 'recipient rejected';
        throw new DeliveryError(maskSecrets(reason, forms), true);
      }
      return { where: smtp.display };
    },
    async verify() {
      try {
        await transport.verify();
      } catch (err) {
        throw classify(err, forms);
      }
    },
    close() {
      transport.close();
    },
  };
}

/**
 * The mailer of the settings. Over SMTP, a bulk send (`pool`) talks to the relay from a thread of its
 * own (threaded.ts): nodemailer's building of each message and its SMTP conversation, most of the CPU
 * a message costs, run there beside this thread's composing and recording instead of after them.
 */
export async function createMailer(settings: MailSettings, opts: { pool?: boolean } = {}): Promise<Mailer> {
  if (!settings.smtp) {
    const transport = (await nodemailer()).createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
    return {
      description: `.eml files in ${settings.mailDir}`,
      toFiles: true,
      async send(mail, name) {
        const info = await transport.sendMail({ ...mail, from: fromHeader(settings, mail) });
        checkMailDir(settings.mailDir, true);
        // The file holds a live Step 2 link: owner-only, a name nobody can
        // guess, never through a planted file or link.
        const file = join(settings.mailDir, `${name}-${randomBytes(6).toString('hex')}.eml`);
        const fd = openSync(file, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY | constants.O_NOFOLLOW, 0o600);
        try {
          fchmodSync(fd, 0o600);
          writeSync(fd, info.message as Buffer);
        } finally {
          closeSync(fd);
        }
        return { where: file };
      },
      async verify() {
        checkMailDir(settings.mailDir, false);
      },
      close() {},
    };
  }
  const smtp = { ...settings, smtp: settings.smtp };
  const sender = opts.pool ? (await import('./threaded.js')).threadedSender(smtp) : await smtpSender(smtp);
  return {
    description: settings.smtp.display,
    toFiles: false,
    send: (mail) => sender.send(mail),
    verify: () => sender.verify(),
    close: () => sender.close(),
  };
}
