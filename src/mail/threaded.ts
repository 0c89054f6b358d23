// A bulk send over SMTP talks to the relay from a worker thread of its own
// (smtp-thread.ts runs there). nodemailer's building of each message and its
// SMTP conversation are most of the CPU a message costs; on their own thread
// they run beside this thread's claiming, composing and recording instead of
// after them. deliver() sees an ordinary mailer: a message's outcome comes
// back as its reply does, and the next message for that connection is handed
// over only once the outcome is recorded, as before.

import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { INSTALL_ROOT } from '../install-root.js';
import type { ComposedEmail } from './compose.js';
import { DeliveryError, type MailSettings, type Sent, type SmtpSender, type SmtpSettings } from './transport.js';

/** The settings as they cross to the thread (a URL object does not). */
export type ThreadSettings = Omit<MailSettings, 'smtp'> & { smtp: Omit<SmtpSettings, 'url'> & { url: string } };
export type ThreadRequest = { id: number; op: 'send'; mail: ComposedEmail } | { id: number; op: 'verify' } | { id: number; op: 'close' };
export interface ThreadReply {
  id: number;
  where?: string;
  /** A DeliveryError's parts, or (`unexpected`) a fault of ours in the thread. */
  error?: { message: string; permanent?: boolean; server?: boolean; unexpected?: boolean; stack?: string };
}

/** The compiled thread, beside this module as tsc writes it (the bundle that bin/portalctl runs does not hold it). */
const THREAD_FILE = join(INSTALL_ROOT, 'dist', 'mail', 'smtp-thread.js');

export function threadedSender(settings: MailSettings & { smtp: SmtpSettings }): SmtpSender {
  const workerData: ThreadSettings = { ...settings, smtp: { ...settings.smtp, url: settings.smtp.url.href } };
  const worker = new Worker(THREAD_FILE, { workerData });
  // The thread keeps the process alive only while an answer is awaited: a command that ends
  // without closing the mailer (an error on the way out) still ends.
  worker.unref();
  const waiting = new Map<number, { resolve: (r: ThreadReply) => void; reject: (e: Error) => void }>();
  let nextId = 0;
  let stopped: Error | undefined;
  const settle = (id: number) => {
    const w = waiting.get(id);
    waiting.delete(id);
    if (waiting.size === 0) worker.unref();
    return w;
  };
  worker.on('message', (r: ThreadReply) => settle(r.id)?.resolve(r));
  // A thread that fails or stops fails the messages it was sending like a lost connection: deliver
  // keeps them queued for a retry (a broken install: "Cannot find module …", exit 75). One the relay
  // took just before may go again, as after a killed run: at most one a connection.
  const stop = (err: Error) => {
    stopped ??= err;
    for (const id of [...waiting.keys()]) settle(id)!.reject(stopped);
  };
  worker.on('error', stop);
  worker.on('exit', () => stop(new Error('the mail thread stopped')));
  const ask = async (req: { op: 'send'; mail: ComposedEmail } | { op: 'verify' }): Promise<string> => {
    if (stopped) throw stopped;
    const id = nextId++;
    const r = await new Promise<ThreadReply>((resolve, reject) => {
      if (waiting.size === 0) worker.ref();
      waiting.set(id, { resolve, reject });
      worker.postMessage({ id, ...req } satisfies ThreadRequest);
    });
    const e = r.error;
    if (e?.unexpected) throw Object.assign(new Error(e.message), { stack: e.stack });
    if (e) throw new DeliveryError(e.message, e.permanent ?? false, e.server ?? false);
    return r.where ?? '';
  };
  return {
    async send(mail): Promise<Sent> {
      return { where: await ask({ op: 'send', mail }) };
    },
    async verify() {
      await ask({ op: 'verify' });
    },
    close() {
      if (!stopped) worker.postMessage({ id: nextId++, op: 'close' } satisfies ThreadRequest);
    },
  };
}
