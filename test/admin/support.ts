// What the administrator tests share: a live pseudo-terminal to type into
// (Ctrl-C included), an SMTP server that holds messages until told, and a
// quick way to fill a store with people through the lifecycle itself.

import { execa } from 'execa';
import { readdirSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { SMTPServer } from 'smtp-server';
import { BIN } from '../helpers/cli.js';
import { inviteMany, type NewPerson } from '../../src/domain/lifecycle.js';
import { openStore } from '../../src/store/open.js';

const BRIDGE = resolve(import.meta.dirname, 'pty_bridge.py');

/** Escape sequences (colour, cursor, erase) out: the text a person reads. */
export const strip = (s: string) => s.replace(/\u001b\[[0-9;?]*[A-Za-z]|\u001b\][^\u0007]*\u0007|\r/g, '');

export interface LiveTerminal {
  /** Everything the command wrote so far, escape sequences removed. */
  text(): string;
  /** Everything the command wrote so far, as written. */
  raw(): string;
  /** Resolves once the output matches (rejects if the command exits first). */
  waitFor(pattern: RegExp): Promise<void>;
  /** Types into the terminal: "\u0003" is Ctrl-C. */
  type(keys: string): void;
  /** The command's exit code. */
  exit: Promise<number>;
}

/** bin/portalctl in a real pseudo-terminal of the given size, live. */
export function liveTerminal(args: string[], env: Record<string, string>, size = { cols: 120, rows: 40 }): LiveTerminal {
  const child = execa('python3', [BRIDGE, String(size.cols), String(size.rows), '--', 'node', BIN, ...args], {
    env: { TERM: 'xterm-256color', PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    extendEnv: false,
    reject: false,
    stdin: 'pipe',
    buffer: false,
  });
  let out = '';
  const waiters: { pattern: RegExp; resolve: () => void; reject: (e: Error) => void }[] = [];
  const check = () => {
    for (const w of [...waiters]) {
      if (w.pattern.test(strip(out))) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  };
  child.stdout!.on('data', (chunk: Buffer) => {
    out += chunk.toString('utf8');
    check();
  });
  const exit = child.then((r) => {
    for (const w of waiters.splice(0)) w.reject(new Error(`exited ${r.exitCode} before ${w.pattern}:\n${strip(out)}`));
    return r.exitCode ?? -1;
  });
  return {
    text: () => strip(out),
    raw: () => out,
    waitFor: (pattern) =>
      new Promise<void>((resolve, reject) => {
        waiters.push({ pattern, resolve, reject });
        check();
      }),
    type: (keys) => void child.stdin!.write(keys),
    exit,
  };
}

export interface GatedSmtp {
  url: string;
  /** Messages accepted so far: their recipients. */
  received: string[];
  /** Each accepted message: the envelope sender (MAIL FROM) and the message as sent. */
  messages: { mailFrom: string; raw: string }[];
  /** Resolves when message number n (from 1) has arrived, accepted or held. */
  arrived(n: number): Promise<void>;
  /** Lets the held messages (and every later one) through. */
  release(): void;
  close(): Promise<void>;
}

/**
 * A real SMTP server that accepts the first `pass` messages at once and holds
 * every later one at the end of DATA until release(): a relay that is slow
 * exactly when the test wants it to be.
 */
export async function gatedSmtp(pass: number): Promise<GatedSmtp> {
  let count = 0;
  let open: () => void = () => {};
  const gate = new Promise<void>((r) => (open = r));
  const arrivals: { n: number; resolve: () => void }[] = [];
  const received: string[] = [];
  const messages: { mailFrom: string; raw: string }[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', async () => {
        const n = ++count;
        for (const a of arrivals.filter((x) => x.n <= n)) a.resolve();
        if (n > pass) await gate;
        received.push(session.envelope.rcptTo.map((r) => r.address).join(','));
        const from = session.envelope.mailFrom;
        messages.push({ mailFrom: from ? from.address : '', raw: Buffer.concat(chunks).toString('utf8') });
        cb();
      });
    },
  });
  server.on('error', () => {});
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.server.address() as AddressInfo).port;
  return {
    url: `smtp://127.0.0.1:${port}?connections=1`,
    received,
    messages,
    arrived: (n) => (count >= n ? Promise.resolve() : new Promise((resolve) => arrivals.push({ n, resolve }))),
    release: () => open(),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** People p0@example.org … in the portal, invited at `at` through the lifecycle (their emails stay queued). */
export async function seedPeople(target: { env: Record<string, string | undefined> }, count: number, at: string, prefix = 'p'): Promise<void> {
  const store = await openStore({ value: target.env.PORTALCTL_DB!, explicit: true }, { create: false, env: target.env });
  try {
    const portal = (await store.read((tx) => tx.portals.all()))[0]!;
    const people: NewPerson[] = Array.from({ length: count }, (_, i) => ({ email: `${prefix}${i}@example.org`, firstName: 'Pat', lastName: `Person ${i}` }));
    await inviteMany(store, portal, people, { now: new Date(at), actor: 'seed', zone: 'UTC' });
  } finally {
    await store.close();
  }
}

/** The Step 2 token in the newest .eml written for a user (the default mailer). */
export function tokenFor(mailDir: string, userId: number): string {
  const files = readdirSync(mailDir)
    .filter((f) => f.includes(`-user${userId}-`))
    .sort();
  const raw = readFileSync(join(mailDir, files[files.length - 1]!), 'utf8')
    .replace(/=\r?\n/g, '')
    .replace(/=3D/g, '=');
  const m = /token=([A-Za-z0-9_-]{20,})/.exec(raw);
  if (!m) throw new Error(`no token in the email of user ${userId}`);
  return m[1]!;
}
