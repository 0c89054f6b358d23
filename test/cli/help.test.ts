// Every command explains itself: a one-line purpose and examples in --help.

import { describe, expect, it } from 'vitest';
import { COMMANDS, NOUNS } from '../../src/commands/registry.js';
import { runCli } from '../helpers/run.js';

const env = { HOME: '/nonexistent', PORTALCTL_DB: '/nonexistent/portalctl.db' };
const paths = [[], ...NOUNS.map((n) => [n.name]), ...COMMANDS.map((c) => c.path)];

describe('help', () => {
  it('covers the whole command tree', () => {
    expect(COMMANDS.map((c) => c.path.join(' '))).toEqual(
      expect.arrayContaining(['users list', 'users invite', 'users resend-registration', 'link', 'prune', 'outbox send', 'audit', 'doctor', 'completion']),
    );
  });

  it.each(paths.map((p) => [p.join(' ') || '(portalctl)', p]))('%s --help: usage, a purpose, examples; exit 0, on stdout', async (_name, path) => {
    const r = await runCli([...(path as string[]), '--help'], env);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(new RegExp(`^Usage: portalctl ${(path as string[]).join(' ')}`));
    expect(r.stdout.split('\n')[2]!.trim().length).toBeGreaterThan(10);
    expect(r.stdout).toMatch(/\nExamples:\n {2}portalctl /);
  });

  it('the top level lists the commands in groups, and the exit codes', async () => {
    const r = await runCli(['--help'], env);
    for (const group of ['Registration:', 'Administration:', 'Shell:']) expect(r.stdout).toContain(`\n${group}\n`);
    expect((await runCli(['users', '--help'], env)).stdout).toMatch(/\nHelpdesk:\n {2}whoami-login/);
    expect(r.stdout).toContain('Exit codes: 0 ok, 1 refused or failed, 2 usage error, 75 email queued for retry, 130 interrupted.');
  });

  it('`help` with words that name no command is a usage error that points to the right one (exit 2)', async () => {
    const invite = await runCli(['help', 'invite'], env);
    expect(invite).toMatchObject({ exitCode: 2, stdout: '' });
    expect(invite.stderr).toBe('error: There is no command "invite"; did you mean `portalctl help users invite`?\n');
    const bogus = await runCli(['--json', 'help', 'users', 'bogus'], env);
    expect(bogus.exitCode).toBe(2);
    expect(JSON.parse(bogus.stderr).error).toEqual({
      code: 'usage',
      message: 'There is no command "users bogus"; see `portalctl users --help` for the commands.',
    });
    for (const words of [
      ['invite', '--help'],
      ['users', 'bogus', '-h'],
      ['--portal', 'x', 'nothing', '--help'],
    ]) {
      const r = await runCli(words, env);
      expect(r, words.join(' ')).toMatchObject({ exitCode: 2, stdout: '' });
      expect(r.stderr).toMatch(/^error: There is no command "(invite|users bogus|nothing)"; /);
    }
    // What names a command still answers with its help.
    for (const words of [
      ['help'],
      ['help', 'users'],
      ['help', 'users', 'invite'],
      ['help', 'link'],
      ['users', '--portal', 'x', '--help'],
      ['users', 'show', 'jane@example.org', '--help'],
      ['completion', 'bash', '-h'],
    ]) {
      const r = await runCli(words, env);
      expect(r.exitCode, words.join(' ')).toBe(0);
      expect(r.stdout).toMatch(/^Usage: portalctl/);
    }
  });

  it('a mistyped command suggests the right one and points to --help (exit 2)', async () => {
    const r = await runCli(['users', 'resend-registraton'], env);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toBe("error: unknown command 'resend-registraton' (Did you mean resend-registration?) (see `portalctl users --help`)\n");
    const top = await runCli(['lnk'], env);
    expect(top.stderr).toContain('(Did you mean link?)');
  });
});
