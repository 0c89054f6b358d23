// A TCP port on 127.0.0.1 that nothing listens on (taken from the kernel,
// then released): a server that is down, or a free port to start one on.

import { createServer } from 'node:net';

export async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}
