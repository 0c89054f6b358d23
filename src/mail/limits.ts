// Kept apart from outbox.ts so that command definitions can name it without
// loading the delivery code.

/** After this many failed attempts a message is marked failed rather than retried forever. */
export const MAX_ATTEMPTS = 8;
