// Every command explains itself: a one-line purpose and examples in --help.

import { describe, expect, it } from 'vitest';
import { PassThrough } from 'node:stream';
import type { Command } from 'commander';
import { buildProgram, main } from '../../src/cli.js';
import { createContext, type IO } from '../../src/context.js';

function captureIO(): { io: IO; out: () => string; err: () => string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let o = '';
  let e = '';
  stdout.on('data', (c) => (o += c));
  stderr.on('data', (c) => (e += c));
  return { io: { stdin: new PassThrough(), stdout, stderr, stdinIsTTY: false, stdoutIsTTY: false, stderrIsTTY: false }, out: () => o, err: () => e };
}

function paths(cmd: Command, prefix: string[] = []): string[][] {
  return cmd.commands.filter((c) => c.name() !== 'help').flatMap((c) => [[...prefix, c.name()], ...paths(c, [...prefix, c.name()])]);
}

const all = paths(await buildProgram(createContext(captureIO().io, {})));

describe('help', () => {
  it('covers the whole command tree', () => {
    expect(all.map((p) => p.join(' '))).toEqual(
      expect.arrayContaining(['users list', 'users invite', 'users resend-registration', 'link', 'prune', 'outbox send', 'audit']),
    );
  });

  it.each(all.map((p) => [p.join(' '), p]))('%s --help has a purpose and examples', async (_name, path) => {
    const c = captureIO();
    const code = await main([...(path as string[]), '--help'], c.io, {});
    expect(code).toBe(0);
    const text = c.out();
    expect(text).toMatch(/^Usage: portalctl /);
    expect(text.split('\n')[2]!.trim().length).toBeGreaterThan(10);
    expect(text).toMatch(/\nExamples:\n {2}portalctl /);
  });

  it('a mistyped command suggests the right one (exit 2)', async () => {
    const c = captureIO();
    expect(await main(['users', 'resend-registraton'], c.io, {})).toBe(2);
    expect(c.err()).toContain('Did you mean resend-registration?');
  });
});
