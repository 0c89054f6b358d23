// A real HTTP receiver for webhooks on 127.0.0.1 that records every request
// (headers and exact body bytes) and answers as the test says: 200, any
// status, or never (a hung receiver, for the timeout).

import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface Received {
  headers: IncomingHttpHeaders;
  /** The exact bytes of the body, as signed. */
  body: Buffer;
  json: any;
  /** What the receiver answered: a status, or 'hang'. */
  answer: number | 'hang';
}

/** How to answer a request: a status (200 accepts), or 'hang' (never answer). */
export type Answer = number | 'hang';

export interface TestReceiver {
  url: string;
  /** Every request, in the order received. */
  requests: Received[];
  /** The requests answered 2xx: what the receiver has accepted. */
  accepted(): Received[];
  /** Decides each answer; default 200. */
  answer: (r: Omit<Received, 'answer'>, n: number) => Answer;
  close(): Promise<void>;
}

export async function startReceiver(path = '/hooks/portalctl'): Promise<TestReceiver> {
  const sockets = new Set<Socket>();
  const state: TestReceiver = {
    url: '',
    requests: [],
    accepted: () => state.requests.filter((r) => typeof r.answer === 'number' && r.answer >= 200 && r.answer < 300),
    answer: () => 200,
    close: async () => {},
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      let json: unknown = null;
      try {
        json = JSON.parse(body.toString('utf8'));
      } catch {
        // recorded as it came
      }
      const seen = { headers: req.headers, body, json };
      const answer = req.url === path ? state.answer(seen, state.requests.length) : 404;
      state.requests.push({ ...seen, answer });
      if (answer === 'hang') return;
      res.writeHead(answer, { 'content-type': 'text/plain' }).end(answer < 300 ? 'ok' : 'no');
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`;
  state.close = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
  return state;
}
