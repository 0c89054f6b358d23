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

// The behaviour suites again, on PostgreSQL: world() (test/helpers/run.ts)
// gives each test a database of its own on the run's shared cluster. Files
// that are about the SQLite file itself, or that are not about a store, stay
// out (each with its reason); single tests that are, skip with theirs.
const ON_POSTGRES = ['test/commands/**/*.test.ts', 'test/lifecycle/**/*.test.ts', 'test/admin/**/*.test.ts', 'test/security/**/*.test.ts'];
const NOT_ON_POSTGRES = [
  ...PROCESSES,
  // Parse-only: no store.
  'test/commands/registry.test.ts',
  'test/commands/completion.test.ts',
  'test/commands/events.test.ts',
  'test/commands/remind.test.ts',
  'test/commands/serve.test.ts',
  'test/commands/store/copy.test.ts',
  'test/commands/users/remove.test.ts',
  // Files given to portalctl (CSV, config), not the store.
  'test/security/files.test.ts',
  // What the renderer and the messages make of the same rows, whichever store gave them: table layout
  // and colour, wording, neutralised output; and settings the command refuses before it writes anything.
  'test/admin/tables.test.ts',
  'test/admin/messages.test.ts',
  'test/security/output.test.ts',
  'test/security/time.test.ts',
  'test/security/mail-settings.test.ts',
  // The SQLite store file itself: paths, symlinks, modes.
  'test/security/store-paths.test.ts',
  // SQLite's file write lock (another process holding it, the busy timeout); PostgreSQL's are in test/postgres/faults.test.ts.
  'test/security/partial-commits.test.ts',
  // Instruments the SQLite store's batches and takes its file lock between them.
  'test/security/scale.test.ts',
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
      {
        test: {
          name: 'postgres',
          include: ON_POSTGRES,
          exclude: NOT_ON_POSTGRES,
          provide: { testStore: 'postgres' },
          setupFiles: ['test/setup/world-postgres.ts'],
          pool: 'threads',
          isolate: false,
          testTimeout: 15_000,
          hookTimeout: 30_000,
          sequence: { groupOrder: 0 },
        },
      },
    ],
  },
});
