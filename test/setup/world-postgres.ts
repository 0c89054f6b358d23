// setupFiles of the "postgres" vitest project: before a file's tests run,
// reach the run's shared PostgreSQL cluster, so that world() (run.ts), which
// is synchronous, can hand each test a database of its own on it.

import { beforeAll } from 'vitest';
import { preparePostgresWorlds } from '../helpers/run.js';

beforeAll(() => preparePostgresWorlds(), 60_000);
