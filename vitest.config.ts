import { defineConfig } from 'vitest/config';

// Two kinds of tests (npm test builds dist/ first, for the spawned ones):
//  - in-process: main() and the modules themselves, in milliseconds — most of
//    the suite; worker threads, and modules loaded once per worker;
//  - processes: the real bin/portalctl spawned (exit codes, ptys, signals,
//    races, killed processes), real shells, a real browser — slower, so they
//    start first and get generous timeouts.
// test/security/mail-folder.test.ts sets process.umask(), which worker threads may not.
const PROCESSES = [
  'test/e2e/**/*.test.ts',
  // PostgreSQL races and faults: bin/portalctl spawned, servers restarted.
  'test/postgres/faults.test.ts',
  // Reaching PostgreSQL: passwords, pgpass, sslmode, through bin/portalctl.
  'test/postgres/connect.test.ts',
  'test/completion/shells.test.ts',
  'test/server/**/*.test.ts',
  'test/security/mail-folder.test.ts',
  // The administrator's week (issue 13): Ctrl-C, pipes, shells and npm pack in real processes.
  'test/admin/interrupts.test.ts',
  'test/admin/pipes.test.ts',
  'test/admin/completion-values.test.ts',
  'test/admin/man.test.ts',
  'test/lifecycle/processes.test.ts',
  'test/lifecycle/emails-render.test.ts',
];

export default defineConfig({
  test: {
    // One PostgreSQL cluster per run, started on first use (sharedPostgres()).
    globalSetup: ['test/setup/postgres.ts'],
    maxWorkers: 2,
    projects: [
      {
        test: {
          name: 'processes',
          include: PROCESSES,
          pool: 'forks',
          testTimeout: 60_000,
          hookTimeout: 60_000,
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          name: 'in-process',
          include: ['test/**/*.test.ts'],
          exclude: PROCESSES,
          pool: 'threads',
          isolate: false,
          testTimeout: 15_000,
          hookTimeout: 15_000,
          sequence: { groupOrder: 0 },
        },
      },
    ],
  },
});
