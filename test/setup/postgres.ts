// vitest globalSetup: one PostgreSQL cluster per test run, started lazily.
//
// Setup only opens a tiny HTTP broker on 127.0.0.1 and provides its URL; the
// cluster starts on the first request (sharedPostgres() in a test file), so a
// run without PostgreSQL tests, or on a machine without PostgreSQL, pays
// nothing. Teardown stops the cluster and removes its folder.

import { createServer } from 'node:http';
import type { TestProject } from 'vitest/node';
import { startPostgres, type PgCluster } from '../helpers/postgres.js';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let cluster: Promise<PgCluster> | undefined;
  const broker = createServer((_req, res) => {
    cluster ??= startPostgres();
    cluster.then(
      (c) => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify(c.info()));
      },
      (e: Error) => {
        res.statusCode = 500;
        res.end(e.stack ?? String(e));
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    broker.once('error', reject);
    broker.listen(0, '127.0.0.1', resolve);
  });
  broker.unref();
  const { port } = broker.address() as { port: number };
  project.provide('postgresBroker', `http://127.0.0.1:${port}/`);

  return async () => {
    broker.close();
    if (cluster) await (await cluster.catch(() => undefined))?.destroy();
  };
}
