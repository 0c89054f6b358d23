// What became of a run's emails, in words: where they went, what is queued
// and why, and the error that still stands (exit 75 for queued mail, exit 1
// for refused mail, 130 for an interrupted run).

import { InterruptedError, MailQueuedError, RefusedError, type PortalctlError } from '../errors.js';
import { neutralize, plural } from '../text.js';
import type { DeliveryResult } from '../mail/deliver.js';
import { info, warning, type Message } from './results.js';

export interface DeliveryContext {
  /** The mailer writes .eml files instead of sending. */
  toFiles: boolean;
  /** Where: the mail folder or the SMTP URL (password masked). */
  description: string;
  /** The setting that holds the SMTP URL (PORTALCTL_SMTP_URL, or smtpUrl in the config file). */
  smtpSetting?: string;
  /** Ctrl-C stopped the run. */
  interrupted?: boolean;
  /** What the emails are, for the messages ("registration email"). */
  noun?: string;
  /** What the command recorded before sending ("Invited 50 people to grants"): said again when sending fails half-way, so nobody thinks nothing happened. */
  recorded?: string;
}

/** The emails a relay refused for good are not retried by the cron line's `outbox send`: say so wherever the queue is shown. */
export function parkedWarning(failed: number): Message {
  return warning(
    `${plural(failed, 'email')} ${failed === 1 ? 'was' : 'were'} refused by the mail server and ${failed === 1 ? 'is' : 'are'} not retried by \`portalctl outbox send\`; fix the cause (see \`portalctl outbox list\`), then run \`portalctl outbox send --include-failed\`.`,
  );
}

/**
 * What to run for the emails left queued. `outbox send` alone sends only through a
 * mail server (it refuses to turn queued emails into .eml files unasked), so with
 * the .eml default the advice names `--eml`, or it leads to a refusal.
 */
function runOutboxSend(d: DeliveryContext, waiting: number): string {
  const them = waiting === 1 ? 'it' : 'them';
  return d.toFiles
    ? `run \`portalctl outbox send --eml\` to write ${them} as .eml files (or set PORTALCTL_SMTP_URL and run \`portalctl outbox send\` to send ${them})`
    : `run \`portalctl outbox send\` to send ${them}`;
}

export function describeDeliveries(results: DeliveryResult[], d: DeliveryContext): { messages: Message[]; error?: PortalctlError } {
  const noun = d.noun ?? 'registration email';
  const messages: Message[] = [];
  const by = (s: DeliveryResult['state']) => results.filter((r) => r.state === s);
  const sent = by('sent');
  const queued = by('queued');
  const failed = by('failed');
  const skipped = by('skipped');
  const busy = by('busy').length;
  const elsewhere = by('sent_elsewhere').length;
  const dropped = by('dropped').length;
  if (busy) messages.push(info(`${plural(busy, 'email')} ${busy === 1 ? 'is' : 'are'} being sent by another portalctl process right now; left to it.`));
  if (elsewhere) messages.push(info(`${plural(elsewhere, 'email')} ${elsewhere === 1 ? 'was' : 'were'} sent meanwhile by another portalctl process.`));
  if (dropped)
    messages.push(
      info(
        `${plural(dropped, 'queued email')} ${dropped === 1 ? 'was' : 'were'} dropped: a newer registration replaced ${dropped === 1 ? 'it' : 'them'}, or the person linked meanwhile.`,
      ),
    );
  if (sent.length === 1 && results.length === 1) {
    messages.push(
      info(
        `${noun[0]!.toUpperCase()}${noun.slice(1)} to ${neutralize(sent[0]!.to ?? '')} ${d.toFiles ? 'written to' : 'sent via'} ${neutralize(sent[0]!.where ?? '')}`,
      ),
    );
  } else if (sent.length > 0) {
    messages.push(
      info(
        `${plural(sent.length, noun)} ${d.toFiles ? `written to ${neutralize(d.description.replace(/^\.eml files in /, ''))}` : `sent via ${neutralize(d.description)}`}`,
      ),
    );
  }
  if (d.toFiles && sent.length > 0)
    messages.push(warning('no email was sent: PORTALCTL_SMTP_URL is not set, so emails are written as .eml files. Set it to deliver them.'));
  const shown = 5;
  for (const f of failed.slice(0, shown))
    messages.push(warning(`the mail server refused the email to ${neutralize(f.to ?? '')} (user ${f.userId}): ${neutralize(f.error ?? '')}`));
  for (const q of queued.slice(0, shown))
    messages.push(warning(`the email to ${neutralize(q.to ?? '')} (user ${q.userId}) could not be delivered now: ${neutralize(q.error ?? '')}`));
  if (failed.length + queued.length > 2 * shown) messages.push(warning(`… and more; see \`portalctl outbox list\`.`));
  const unrecorded = by('unrecorded');
  for (const u of unrecorded.slice(0, shown))
    messages.push(
      warning(
        `the email to ${neutralize(u.to ?? '')} (user ${u.userId}) reached the mail server, but the store could not record that; \`portalctl outbox send\` will send it again with a new link that replaces this one.`,
      ),
    );
  const waiting = queued.length + skipped.length + unrecorded.length;
  const storeError = results.find((r) => r.storeError)?.storeError;
  if (storeError) {
    const what = d.recorded ? `${d.recorded}, and that is kept. ` : '';
    const reached = unrecorded.length
      ? ` (${unrecorded.length} of them reached the mail server but could not be recorded as sent, so ${unrecorded.length === 1 ? 'it' : 'they'} will be sent again)`
      : '';
    const why = neutralize(storeError.message.replace(/;? ?[Tt]ry again\.$/, '.'));
    return {
      messages,
      error: new MailQueuedError(
        `${what}Then the store could not be written: ${why[0]!.toLowerCase()}${why.slice(1)} ${sent.length} of ${results.length} ${noun}s went out; ${waiting} ${waiting === 1 ? 'is' : 'are'} queued${reached}. Once the store can be written again, ${runOutboxSend(d, waiting)}.`,
        { storeError: storeError.code, sent: sent.length, queued: [...queued, ...skipped, ...unrecorded].map((q) => q.outboxId) },
      ),
    };
  }
  if (d.interrupted) {
    return {
      messages,
      error: new InterruptedError(
        `Interrupted: ${sent.length} of ${results.length} emails went out; ${waiting} ${waiting === 1 ? 'is' : 'are'} recorded and queued — ${runOutboxSend(d, waiting)}.`,
        { sent: sent.length, queued: waiting },
      ),
    };
  }
  if (waiting > 0) {
    const server = queued.some((q) => q.serverProblem) || skipped.length > 0;
    const why = queued[0]?.error ? ` (${neutralize(queued[0].error)})` : '';
    return {
      messages,
      error: new MailQueuedError(
        `${waiting === 1 ? `The ${noun} is recorded but` : `${waiting} ${noun}s are recorded but`} queued: delivery failed${why}.${server ? ` The mail server could not be used; check ${d.smtpSetting ?? 'PORTALCTL_SMTP_URL'} and the relay.` : ''} ${d.toFiles ? `To deliver ${waiting === 1 ? 'it' : 'them'}, ${runOutboxSend(d, waiting)}.` : 'Run `portalctl outbox send` to retry.'}`,
        { queued: [...queued, ...skipped].map((q) => q.outboxId) },
      ),
    };
  }
  if (failed.length > 0) {
    return {
      messages,
      error: new RefusedError(
        'mail_failed',
        `The mail server refused ${failed.length === 1 ? `the ${noun}` : `${failed.length} ${noun}s`} (${neutralize(failed[0]!.error ?? '')}). Check the address and use \`portalctl users resend-registration USER --email ADDRESS\`.`,
        { failed: failed.map((f) => f.outboxId) },
      ),
    };
  }
  return { messages };
}
