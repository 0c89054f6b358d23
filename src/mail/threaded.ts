// A bulk send over SMTP talks to the relay from a worker thread of its own
// (smtp-thread.ts runs there). nodemailer's building of each message and its
// SMTP conversation are most of the CPU a message costs; on their own thread
// they run beside this thread's claiming, composing and recording instead of
// after them. deliver() sees an ordinary mailer: a message's outcome comes
// back as its reply does, and the next message for that connection is handed
// over only once the outcome is recorded, as before.
//
// The thread is a speed-up, not a requirement: one that cannot start (its file
// missing from an install, no thread allowed by the container's limits) sends
// nothing, so the same pool is opened on this thread and the messages go
// from here.

import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { INSTALL_ROOT } from '../install-root.js';
import type { ComposedEmail } from './compose.js';
import { DeliveryError, smtpSender, type MailSettings, type Sent, type SmtpSender, type SmtpSettings } from './transport.js';

/** The settings as they cross to the thread (a URL object does not). */
export type ThreadSettings = Omit<MailSettings, 'smtp'> & { smtp: Omit<SmtpSettings, 'url'> & { url: string } };
export type ThreadRequest = { id: number; op: 'send'; mail: ComposedEmail } | { id: number; op: 'verify' } | { id: number; op: 'close' };
/** The thread's first message: nodemailer is loaded and the pool made; every request after it is answered by the thread. */
export interface ThreadReady {
  ready: true;
}
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
  /** The pool on this thread, opened only if the mail thread cannot start. */
  const fallback = lazySender(() => smtpSender(settings, { pool: true }));
  let worker: Worker;
  try {
    worker = new Worker(THREAD_FILE, { workerData });
  } catch {
    return fallback; // ERR_WORKER_INIT_FAILED and the like: no thread at all
  }
  // The thread keeps the process alive only while an answer is awaited: a command that ends
  // without closing the mailer (an error on the way out) still ends.
  worker.unref();
  const waiting = new Map<number, { resolve: (r: ThreadReply) => void; reject: (e: Error) => void }>();
  let nextId = 0;
  let ready = false;
  let stopped: Error | undefined;
  const settle = (id: number) => {
    const w = waiting.get(id);
    waiting.delete(id);
    if (waiting.size === 0) worker.unref();
    return w;
  };
  worker.on('message', (r: ThreadReply | ThreadReady) => {
    if ('ready' in r) ready = true;
    else settle(r.id)?.resolve(r);
  });
  // A thread that fails or stops once running fails the messages it was sending like a lost
  // connection: deliver keeps them queued for a retry. One the relay took just before may go
  // again, as after a killed run: at most one a connection. A thread that fails before it is
  // ready has sent nothing: what it was given goes from this thread instead.
  const NOT_STARTED = new Error('the mail thread did not start');
  const stop = (err: Error) => {
    stopped ??= ready ? err : NOT_STARTED;
    for (const id of [...waiting.keys()]) settle(id)!.reject(stopped);
  };
  worker.on('error', stop);
  worker.on('exit', () => stop(new Error('the mail thread stopped')));
  type Request = { op: 'send'; mail: ComposedEmail } | { op: 'verify' };
  const viaThread = async (req: Request): Promise<string> => {
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
  const ask = async (req: Request): Promise<string> => {
    try {
      return await viaThread(req);
    } catch (err) {
      if (err !== NOT_STARTED) throw err;
      return req.op === 'send' ? (await fallback.send(req.mail)).where : (await fallback.verify(), '');
    }
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
      fallback.close();
    },
  };
}

/** A sender made on first use; close() closes it only if it was made. */
function lazySender(make: () => Promise<SmtpSender>): SmtpSender {
  let made: Promise<SmtpSender> | undefined;
  const get = () => (made ??= make());
  return {
    send: async (mail) => (await get()).send(mail),
    verify: async () => (await get()).verify(),
    close: () =>
      void made?.then(
        (s) => s.close(),
        () => {},
      ),
  };
}
