import { describe, expect, it } from 'vitest';
import { parse } from '../../src/commands/completion.js';
import { rawInput, runCli, thrown } from '../helpers/run.js';

describe('parse', () => {
  it('reads the shell, in any case', () => {
    expect(parse(rawInput(['Zsh'])).shell).toBe('zsh');
    for (const s of ['bash', 'fish']) expect(parse(rawInput([s])).shell).toBe(s);
  });

  it('an unknown shell is a usage error naming the value and the valid shells', () => {
    const err = thrown(() => parse(rawInput(['tcsh'])));
    expect(err).toMatchObject({ code: 'invalid_shell', exitCode: 2 });
    expect(err.message).toBe('Unknown shell "tcsh"; use one of: bash, zsh, fish.');
  });
});

describe('portalctl completion', () => {
  const env = { HOME: '/nonexistent' };
  it('needs no store and prints a script for the shell', async () => {
    const r = await runCli(['completion', 'bash'], env);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/^# bash completion for portalctl/m);
    expect(r.stdout).toContain('complete -F _portalctl portalctl');
  });

  it('an unknown or missing shell is exit 2 with nothing on stdout', async () => {
    const tcsh = await runCli(['completion', 'tcsh'], env);
    expect(tcsh).toMatchObject({ exitCode: 2, stdout: '' });
    expect(tcsh.stderr).toBe('error: Unknown shell "tcsh"; use one of: bash, zsh, fish.\n');
    const json = await runCli(['--json', 'completion', 'powershell'], env);
    expect(JSON.parse(json.stderr).error.code).toBe('invalid_shell');
    const missing = await runCli(['completion'], env);
    expect(missing).toMatchObject({ exitCode: 2, stdout: '' });
    expect(missing.stderr).toContain("missing required argument 'shell'");
  });
});
