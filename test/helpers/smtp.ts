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
  /** Messages whose DATA has begun (accepted or not, held at a 'slow' gate or not). */
  dataStarted: number;
  /** Resolves once `n` messages in all have begun their DATA: a 'slow' gate now holds them. */
  waitForData(n: number): Promise<void>;
}

export async function startSmtp(opts: Partial<SMTPServerOptions> = {}): Promise<TestSmtp> {
  const messages: ParsedMail[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  const dataWaiters: { n: number; resolve: () => void }[] = [];
  const state: TestSmtp = {
    dataStarted: 0,
    waitForData: (n) => (state.dataStarted >= n ? Promise.resolve() : new Promise((resolve) => dataWaiters.push({ n, resolve }))),
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
      state.dataStarted++;
      for (const w of dataWaiters.filter((x) => state.dataStarted >= x.n)) w.resolve();
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

// ---------------------------------------------------------------- lying servers
//
// A hand-written SMTP server for the attack tests: it says exactly what the
// test tells it to, where smtp-server would clean it up (smtp-server strips
// control characters from replies and will not echo a credential). Each
// option is one way real relays misbehave.

import { createServer as createTcpServer, type Socket } from 'node:net';

export interface LyingSmtpOptions {
  /** The greeting line ("554 go away"); `null`: accept the connection and never say a word (a hanging relay). Default "220 lying.example ESMTP". */
  greeting?: string | null;
  /** EHLO extensions, e.g. ['AUTH PLAIN LOGIN'] (no STARTTLS unless listed). */
  extensions?: string[];
  /**
   * The reply to AUTH and to each line of an AUTH exchange (AUTH LOGIN sends
   * the user and the password as lines of their own after "334"): gets the
   * line, base64 and all, so a reply can echo it. Default "235 ok".
   */
  auth?: (line: string) => string;
  /** The reply to RCPT TO. Default "250 ok". */
  rcpt?: (command: string) => string;
  /** The reply after the message body. Default "250 queued". */
  data?: () => string;
}

export interface LyingSmtp {
  url: string;
  port: number;
  /** Every command line received (message bodies left out), in order, over all connections. */
  commands: string[];
  /** Messages accepted. */
  accepted: number;
  /** Connections made. */
  connections: number;
  close(): Promise<void>;
}

export async function startLyingSmtp(o: LyingSmtpOptions = {}): Promise<LyingSmtp> {
  const sockets = new Set<Socket>();
  const state: LyingSmtp = { url: '', port: 0, commands: [], accepted: 0, connections: 0, close: async () => {} };
  const server = createTcpServer((socket) => {
    sockets.add(socket);
    state.connections++;
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    const say = (line: string) => socket.write(`${line}\r\n`);
    if (o.greeting === null) return; // hang
    say(o.greeting ?? '220 lying.example ESMTP');
    let inData = false;
    let inAuth = false;
    let buffered = '';
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('latin1');
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl).replace(/\r$/, '');
        buffered = buffered.slice(nl + 1);
        if (inData) {
          if (line === '.') {
            inData = false;
            const reply = o.data?.() ?? '250 queued';
            if (reply.startsWith('2')) state.accepted++;
            say(reply);
          }
          continue;
        }
        state.commands.push(line);
        if (inAuth) {
          const reply = o.auth?.(line) ?? '235 ok';
          inAuth = reply.startsWith('334');
          say(reply);
          continue;
        }
        const verb = line.split(' ')[0]!.toUpperCase();
        if (verb === 'EHLO') {
          const ext = o.extensions ?? [];
          say(ext.length ? ['250-lying.example', ...ext.slice(0, -1).map((e) => `250-${e}`), `250 ${ext[ext.length - 1]}`].join('\r\n') : '250 lying.example');
        } else if (verb === 'HELO') say('250 lying.example');
        else if (verb === 'AUTH') {
          const reply = o.auth?.(line) ?? '235 ok';
          inAuth = reply.startsWith('334');
          say(reply);
        } else if (verb === 'MAIL') say('250 ok');
        else if (verb === 'RCPT') say(o.rcpt?.(line) ?? '250 ok');
        else if (verb === 'DATA') {
          inData = true;
          say('354 go ahead');
        } else if (verb === 'QUIT') {
          say('221 bye');
          socket.end();
        } else if (verb === 'RSET' || verb === 'NOOP') say('250 ok');
        else if (verb === 'STARTTLS') say('502 not here');
        else say('500 what');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.port = (server.address() as AddressInfo).port;
  state.url = `smtp://127.0.0.1:${state.port}`;
  state.close = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
  return state;
}
