// The scripts kept in completions/ must be exactly what `portalctl completion
// SHELL` prints. When this fails after a change to the command tree, run
//   npx tsc -p . && node scripts/gen-completions.mjs
// and commit the files in completions/.

import { execa } from 'execa';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, sandbox } from '../helpers/cli.js';

const COMPLETIONS = resolve(import.meta.dirname, '../../completions');
const FILES = { bash: 'portalctl.bash', zsh: '_portalctl', fish: 'portalctl.fish' } as const;

describe('completions/ matches `portalctl completion SHELL`', () => {
  const sb = sandbox();
  afterAll(() => sb.cleanup());

  for (const [shell, file] of Object.entries(FILES)) {
    it(`completions/${file} is what \`portalctl completion ${shell}\` prints`, async () => {
      // Byte for byte: the sandbox helper's runner drops the final newline.
      const r = await execa('node', [BIN, 'completion', shell], { env: sb.env, extendEnv: false, reject: false, stripFinalNewline: false, timeout: 60_000 });
      expect(r.stderr).toBe('');
      expect(r.exitCode).toBe(0);
      const kept = readFileSync(resolve(COMPLETIONS, file), 'utf8');
      // Compare as a whole; on failure, say how to fix it rather than dump 30 kB.
      if (r.stdout !== kept) {
        expect.fail(
          `completions/${file} is out of date with the command tree: run \`npx tsc -p . && node scripts/gen-completions.mjs\` and commit completions/`,
        );
      }
    });
  }

  it('prints the same script whatever the environment says', async () => {
    const plain = await sb.run(['completion', 'bash']);
    const other = await sb.run(['completion', 'bash'], { env: { PORTALCTL_PORTAL: 'grants', FORCE_COLOR: '1', NO_COLOR: undefined, COLUMNS: '40' } });
    expect(other.stdout).toBe(plain.stdout);
  });

  it('an unknown shell is a usage error naming the value and the valid shells', async () => {
    const r = await sb.run(['completion', 'tcsh']);
    expect(r.exitCode).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('"tcsh"');
    expect(r.stderr).toMatch(/bash, zsh, fish/);
    const j = await sb.run(['--json', 'completion', 'powershell']);
    expect(j.exitCode).toBe(2);
    expect(JSON.parse(j.stderr).error.code).toBe('invalid_shell');
  });

  it('a missing shell is a usage error', async () => {
    const r = await sb.run(['completion']);
    expect(r.exitCode).toBe(2);
    expect(r.stdout).toBe('');
  });
});
