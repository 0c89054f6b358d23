// The mail thread of a bulk send (threaded.ts starts it): nodemailer's SMTP
// pool sends the messages the main thread composed, and each outcome goes
// back as soon as the relay answers.

import { parentPort, workerData } from 'node:worker_threads';
import { DeliveryError, smtpSender, type SmtpSettings } from './transport.js';
import type { ThreadReady, ThreadReply, ThreadRequest, ThreadSettings } from './threaded.js';

const data = workerData as ThreadSettings;
const settings = { ...data, smtp: { ...data.smtp, url: new URL(data.smtp.url) } satisfies SmtpSettings };
const port = parentPort!;
// Requests that arrive while nodemailer loads wait in the port.
const sender = await smtpSender(settings, { pool: true });

const reply = (r: ThreadReply) => port.postMessage(r);
port.postMessage({ ready: true } satisfies ThreadReady);
const failure = (err: unknown): ThreadReply['error'] =>
  err instanceof DeliveryError
    ? { message: err.message, permanent: err.permanent, server: err.server }
    : { message: String((err as Error)?.message ?? err), unexpected: true, stack: (err as Error)?.stack };

port.on('message', (req: ThreadRequest) => {
  if (req.op === 'close') {
    sender.close();
    port.close();
    return;
  }
  const work = req.op === 'verify' ? sender.verify().then(() => '') : sender.send(req.mail).then((sent) => sent.where);
  work.then(
    (where) => reply({ id: req.id, where }),
    (err: unknown) => reply({ id: req.id, error: failure(err) }),
  );
});
