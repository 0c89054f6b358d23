// A near-zero-cost SMTP server for the invite benchmark: node:net only, on
// 127.0.0.1, no TLS, no AUTH. It answers 250 to everything (354 to DATA, 221
// to QUIT), takes pipelined commands, and finds the end of each message with
// one Buffer.indexOf per chunk — so what a run measures is the client's work,
// not the server's. It keeps a count of messages and bytes and nothing else.
//
// Run by bench/run.mjs as a child process (fork), like bench/smtp-sink.mjs:
// it reports {type: 'ready', port} and answers {type: 'count'} over IPC. Alone:
//   node bench/smtp-pipelining-sink.mjs [PORT]

import { createServer } from 'node:net';

let received = 0;
let bytes = 0;

const GREETING = Buffer.from('220 sink ESMTP\r\n');
const EHLO = Buffer.from('250-sink\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 SIZE 52428800\r\n');
const OK = '250 OK\r\n';
const DATA_GO = '354 go ahead\r\n';
const BYE = '221 bye\r\n';
const END = Buffer.from('\r\n.\r\n');

const server = createServer((socket) => {
  socket.setNoDelay(true);
  let inData = false;
  let line = Buffer.alloc(0); // an incomplete command line
  let tail = Buffer.alloc(0); // the last bytes of message data, for a terminator split across chunks
  let quit = false;
  socket.write(GREETING);
  socket.on('data', (chunk) => {
    let out = '';
    let pos = 0;
    while (pos < chunk.length) {
      if (inData) {
        // The terminator may straddle the previous chunk: look in the last 4 bytes of it too.
        const joined = tail.length ? Buffer.concat([tail, chunk.subarray(pos)]) : chunk.subarray(pos);
        const at = joined.indexOf(END);
        if (at < 0) {
          bytes += chunk.length - pos;
          tail = Buffer.from(joined.subarray(Math.max(0, joined.length - 4)));
          break;
        }
        const consumed = at + END.length - tail.length;
        bytes += consumed;
        pos += consumed;
        tail = Buffer.alloc(0);
        inData = false;
        received++;
        out += OK;
        continue;
      }
      const nl = chunk.indexOf(10, pos);
      if (nl < 0) {
        line = Buffer.concat([line, chunk.subarray(pos)]);
        break;
      }
      const cmd = (line.length ? Buffer.concat([line, chunk.subarray(pos, nl)]) : chunk.subarray(pos, nl)).toString('latin1', 0, 4).toUpperCase();
      line = Buffer.alloc(0);
      pos = nl + 1;
      if (cmd === 'EHLO') {
        if (out) socket.write(out);
        out = '';
        socket.write(EHLO);
      } else if (cmd === 'DATA') {
        out += DATA_GO;
        inData = true;
        // The CRLF that ends DATA starts the message: a message may end right away.
        tail = Buffer.from('\r\n');
      } else if (cmd === 'QUIT') {
        out += BYE;
        quit = true;
        break;
      } else out += OK; // HELO, MAIL, RCPT, RSET, NOOP, anything
    }
    if (out) socket.write(out);
    if (quit) socket.end();
  });
  socket.on('error', () => {});
});

const port = Number(process.argv[2] ?? 0);
server.listen(port, '127.0.0.1', () => {
  const actual = server.address().port;
  if (process.send) process.send({ type: 'ready', port: actual });
  else process.stdout.write(`smtp-pipelining-sink listening on smtp://127.0.0.1:${actual}\n`);
});

if (process.send) {
  process.on('message', (m) => {
    if (m?.type === 'count') process.send({ type: 'count', id: m.id, received, bytes });
    if (m?.type === 'stop') server.close(() => process.exit(0));
  });
  process.on('disconnect', () => process.exit(0));
} else {
  setInterval(() => process.stdout.write(`received ${received} messages, ${bytes} bytes\n`), 5000).unref();
}
