// A real SMTP server on 127.0.0.1 (the smtp-server package) that records what
// it receives and can be told to fail the way real relays do.

import { simpleParser, type ParsedMail } from 'mailparser';
import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';

export type Fault =
  | { kind: 'none' }
  | { kind: 'rcpt'; code: number; message: string; only?: string }
  | { kind: 'data'; code: number; message: string }
  | { kind: 'drop-after-data' }
  | { kind: 'greeting'; code: number }
  | { kind: 'slow'; gate: Promise<void> }
  /** From the `after`-th message in all on, take the message but never answer: the client waits (until it is killed). */
  | { kind: 'hang'; after: number; onHang?: () => void };

export interface TestSmtp {
  url: string;
  /** Resolves once `n` messages in all have been accepted. */
  waitFor(n: number): Promise<void>;
  port: number;
  messages: ParsedMail[];
  fault: Fault;
  close(): Promise<void>;
  /** The Step 2 URL from the text part of the newest message to `to`. */
  linkFor(to: string): string;
}

export async function startSmtp(opts: Partial<SMTPServerOptions> = {}): Promise<TestSmtp> {
  const messages: ParsedMail[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  const state: TestSmtp = {
    waitFor: (n) => (messages.length >= n ? Promise.resolve() : new Promise((resolve) => waiters.push({ n, resolve }))),
    url: '',
    port: 0,
    messages,
    fault: { kind: 'none' },
    close: async () => {},
    linkFor(to) {
      const m = [...messages].reverse().find((x) => (x.to && !Array.isArray(x.to) ? x.to.text : '') === to);
      if (!m) throw new Error(`no message to ${to}; got ${messages.length}`);
      const link = /https?:\/\/\S+\?token=[A-Za-z0-9_-]+/.exec(m.text ?? '')?.[0];
      if (!link) throw new Error(`no Step 2 link in message to ${to}`);
      return link;
    },
  };
  const err = (code: number, message: string) => Object.assign(new Error(message), { responseCode: code });
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onConnect(_session, cb) {
      if (state.fault.kind === 'greeting') return cb(err(state.fault.code, 'Service not available, closing transmission channel'));
      cb();
    },
    onRcptTo(address, _session, cb) {
      const f = state.fault;
      if (f.kind === 'rcpt' && (!f.only || f.only === address.address)) return cb(err(f.code, f.message));
      cb();
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', async () => {
        const f = state.fault;
        if (f.kind === 'drop-after-data') {
          // Hang up without answering, as a relay that crashes after DATA.
          for (const conn of (server as unknown as { connections: Set<{ session: { id: string }; _socket: { destroy(): void } }> }).connections) {
            if (conn.session.id === session.id) conn._socket.destroy();
          }
          return;
        }
        if (f.kind === 'data') return cb(err(f.code, f.message));
        if (f.kind === 'hang' && messages.length >= f.after) return f.onHang?.();
        if (f.kind === 'slow') await f.gate;
        messages.push(await simpleParser(Buffer.concat(chunks)));
        cb();
        for (const w of waiters.filter((x) => messages.length >= x.n)) w.resolve();
      });
    },
    ...opts,
  });
  // A client killed mid-session resets its connection; that is the test, not a failure.
  server.on('error', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  state.port = port;
  state.url = `smtp://127.0.0.1:${port}`;
  state.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return state;
}
