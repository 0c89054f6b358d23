// The baseline for the Step 2 page benchmark: a bare fastify server with a
// route answering a fixed string — what a request costs on this machine
// before any page is built — at the two paths the benchmark loads, so that it
// gets the very requests portalctl serve gets. Run by bench/run.mjs as a child process (fork):
// it reports {type: 'ready', port} over IPC. Alone:
//   node bench/bare-fastify.mjs [PORT]

import Fastify from 'fastify';

const app = Fastify({ logger: false });
const fixed = async () => 'Register your login account';
app.get('/register/link', fixed);
app.get('/api/v1/access', fixed);
await app.listen({ host: '127.0.0.1', port: Number(process.argv[2] ?? 0) });
const { port } = app.server.address();
if (process.send) {
  process.send({ type: 'ready', port });
  process.on('disconnect', () => process.exit(0));
} else process.stdout.write(`bare fastify on http://127.0.0.1:${port}/register/link\n`);
