// Temporary folders for stores, mail folders and CSV files. On a machine with
// a tmpfs at /dev/shm they go there: creating a SQLite store fsyncs several
// times (about 100 ms on a disk, nothing on tmpfs), and no test here is about
// surviving a power cut — the crash tests kill processes, and the page cache
// survives those. Set PORTALCTL_TEST_TMP to choose another place.

import { accessSync, constants, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function base(): string {
  if (process.env.PORTALCTL_TEST_TMP) return process.env.PORTALCTL_TEST_TMP;
  try {
    accessSync('/dev/shm', constants.W_OK);
    return '/dev/shm';
  } catch {
    return tmpdir();
  }
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(base(), `${prefix}-`));
}
