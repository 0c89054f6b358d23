// The scripts kept in completions/ must be exactly what `portalctl completion
// SHELL` prints. When this fails after a change to the command tree, run
// `npm run completions` and commit the files in completions/.

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMPLETION_FILES, SHELLS } from '../../src/completion/index.js';
import { runCli } from '../helpers/run.js';

const COMPLETIONS = resolve(import.meta.dirname, '../../completions');
const clean = { HOME: '/nonexistent', NO_COLOR: '1' };

describe('completions/ matches `portalctl completion SHELL`', () => {
  it.each(SHELLS.map((s) => [s, COMPLETION_FILES[s]]))('completions/%s is what `portalctl completion` prints, byte for byte', async (shell, file) => {
    const r = await runCli(['completion', shell], clean);
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    const kept = readFileSync(resolve(COMPLETIONS, file), 'utf8');
    // Compare as a whole; on failure, say how to fix it rather than dump 30 kB.
    if (r.stdout !== kept) expect.fail(`completions/${file} is out of date with the command tree: run \`npm run completions\` and commit completions/`);
  });

  it('prints the same script whatever the environment says', async () => {
    const plain = await runCli(['completion', 'bash'], clean);
    const other = await runCli(
      ['completion', 'bash'],
      { PORTALCTL_PORTAL: 'grants', FORCE_COLOR: '1', COLUMNS: '40', HOME: '/nonexistent' },
      { tty: true, columns: 40 },
    );
    expect(other.stdout).toBe(plain.stdout);
  });
});
