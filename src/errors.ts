// Typed errors with stable codes. Every layer throws these; src/cli/main.ts is
// the one place that turns them into text or JSON on stderr and an exit code.

export const EXIT = {
  ok: 0,
  failed: 1,
  usage: 2,
  mailQueued: 75,
  interrupted: 130,
} as const;

export class PortalctlError extends Error {
  readonly code: string;
  readonly exitCode: number;
  /** Machine-readable details for --json (e.g. the expiry of an expired link). */
  readonly details?: Record<string, unknown>;

  constructor(code: string, message: string, exitCode: number, details?: Record<string, unknown>) {
    super(message);
    this.code = code;
    this.exitCode = exitCode;
    this.details = details;
  }
}

/** Bad input or a bad invocation: exit 2, nothing changed. */
export class UsageError extends PortalctlError {
  constructor(message: string, code = 'usage', details?: Record<string, unknown>) {
    super(code, message, EXIT.usage, details);
  }
}

/** The operation was refused or failed: exit 1. */
export class RefusedError extends PortalctlError {
  constructor(code: string, message: string, details?: Record<string, unknown>) {
    super(code, message, EXIT.failed, details);
  }
}

export class NotFoundError extends RefusedError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('not_found', message, details);
  }
}

/** The store could not be used (busy, unavailable, corrupt, …): exit 1 unless the code says otherwise. */
export class StoreError extends PortalctlError {
  constructor(code: string, message: string, exitCode: number = EXIT.failed, details?: Record<string, unknown>) {
    super(code, message, exitCode, details);
  }
}

/**
 * A store error with a sentence added that says what the command had done
 * when it failed ("Nobody was invited."), so a failure is never mistaken for
 * a partial change or the other way round. Other errors pass unchanged.
 */
export function withOutcome(err: unknown, sentence: string): unknown {
  if (!(err instanceof StoreError)) return err;
  // "Try again" only where the error itself says so (busy, a conflict), not after "restore it from a backup".
  if (!/[Tt]ry again\.$/.test(err.message)) sentence = sentence.replace(/ Try again\.$/, '');
  const base = err.message.replace(/(?:;|\.)? ?[Tt]ry again\.$/, '').replace(/\.$/, '');
  // "… for more than 5 s; nothing was changed: …", or after a question "… is the disk full? Nothing was changed: …".
  const joined = base.endsWith('?') ? `${base} ${sentence[0]!.toUpperCase()}${sentence.slice(1)}` : `${base}; ${sentence}`;
  return new StoreError(err.code, joined, err.exitCode, err.details);
}

/** The work is recorded but an email could not be delivered now: exit 75. */
export class MailQueuedError extends PortalctlError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('mail_queued', message, EXIT.mailQueued, details);
  }
}

/** The user answered no at a confirmation (exit 1), or pressed Ctrl-C at a prompt (exit 130). */
export class CancelError extends PortalctlError {
  constructor(message = 'Cancelled; nothing was changed.', exitCode: number = EXIT.failed) {
    super('cancelled', message, exitCode);
  }
}

/** Ctrl-C (SIGINT) or SIGTERM during work: what was done is kept and reported; exit 130. */
export class InterruptedError extends PortalctlError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('interrupted', message, EXIT.interrupted, details);
  }
}

/** A usage error that wants the command's usage line shown (commander's own errors). */
export class FlagError extends UsageError {
  readonly command: string;
  constructor(message: string, command: string) {
    super(message, 'usage');
    this.command = command;
  }
}
