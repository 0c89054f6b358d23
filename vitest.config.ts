import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // One PostgreSQL cluster per run, started on first use (sharedPostgres()).
    globalSetup: ['test/setup/postgres.ts'],
    // End-to-end tests spawn the built bin/portalctl (npm test builds it first).
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
