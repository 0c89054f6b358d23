// A local SMTP sink for the invite benchmark: the smtp-server package on
// 127.0.0.1, no TLS, no auth, accepting every message and keeping nothing
// but a count. Run by bench/run.mjs as a child process (fork), so its work is
// not inside the benchmark's own timing loop; it reports its port and answers
// "count" over the IPC channel. Run alone, it prints the port and counts:
//   node bench/smtp-sink.mjs [PORT]

import { SMTPServer } from 'smtp-server';

let received = 0;
let bytes = 0;

const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS', 'AUTH'],
  logger: false,
  // Room for the pooled clients of portalctl and of the baseline.
  maxClients: 64,
  size: 10 * 1024 * 1024,
  onData(stream, _session, cb) {
    stream.on('data', (c) => {
      bytes += c.length;
    });
    stream.on('end', () => {
      received++;
      cb(null, 'Queued');
    });
  },
});
server.on('error', (err) => {
  process.stderr.write(`smtp-sink: ${err.message}\n`);
});

const port = Number(process.argv[2] ?? 0);
server.listen(port, '127.0.0.1', () => {
  const actual = server.server.address().port;
  if (process.send) process.send({ type: 'ready', port: actual });
  else process.stdout.write(`smtp-sink listening on smtp://127.0.0.1:${actual}\n`);
});

if (process.send) {
  process.on('message', (m) => {
    if (m?.type === 'count') process.send({ type: 'count', id: m.id, received, bytes });
    if (m?.type === 'stop') server.close(() => process.exit(0));
  });
  // The parent went away: do not linger.
  process.on('disconnect', () => server.close(() => process.exit(0)));
} else {
  setInterval(() => process.stdout.write(`received ${received} messages, ${bytes} bytes\n`), 5000).unref();
}
