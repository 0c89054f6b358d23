// Issue 14: a full disk on stdout (Medium) ends in one line, not a stack
// trace; --debug stack traces are neutralised like every other message (Low).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, openSync } from 'node:fs';
import { PassThrough, Writable } from 'node:stream';
import { BIN } from '../helpers/cli.js';
import { GRANTS, world, type World } from '../helpers/run.js';
import { reportError } from '../../src/cli/main.js';
import { Context } from '../../src/runtime/context.js';

let w: World;
beforeAll(async () => {
  w = world();
  expect((await w.run(GRANTS)).exitCode).toBe(0);
  expect((await w.run(['users', 'invite', '--email', 'jane@example.org', '--first-name', 'Jane', '--last-name', 'Doe'])).exitCode).toBe(0);
});
afterAll(() => w.close());

/** portalctl with its stdout on /dev/full itself (the descriptor, as `> /dev/full` gives it; not a pipe execa would drain). */
async function toDevFull(argv: string[]) {
  const fd = openSync('/dev/full', 'w');
  try {
    // node's own spawn: execa's types allow only the standard descriptors here.
    const child = spawn('node', [BIN, ...argv], { env: w.env, stdio: ['ignore', fd, 'pipe'] });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const [exitCode] = (await once(child, 'close')) as [number | null];
    return { exitCode, stderr: stderr.replace(/\n$/, '') };
  } finally {
    closeSync(fd);
  }
}

describe('stdout on a full disk (> /dev/full)', () => {
  it.each([
    [['users', 'list']],
    [['--json', 'users', 'list']],
    [['users', 'list', '--csv']],
    [['portals', 'list']],
    [['config']],
    [['--json', 'doctor']],
    [['audit']],
  ])('%j: one line on stderr, exit 1, no stack trace', async (argv) => {
    const r = await toDevFull(argv);
    expect(r.exitCode, String(r.stderr)).toBe(1);
    const err = String(r.stderr);
    expect(err).toMatch(/Cannot write to standard output: ENOSPC \(no space left on the device\)/);
    expect(err).not.toMatch(/\n\s+at |node:internal|Error: /);
    if (argv[0] === '--json') expect(JSON.parse(err).error.code).toBe('output_failed');
    else expect(err.split('\n').filter((l) => /error/i.test(l))).toHaveLength(1);
  });

  it('a command that changes something: its work is kept, and the message says only the output was lost', async () => {
    const r = await toDevFull(['users', 'invite', '--email', 'joe@example.org', '--first-name', 'Joe', '--last-name', 'Doe']);
    expect(r.exitCode).toBe(1);
    expect(String(r.stderr)).toMatch(/Cannot write to standard output.*only its output is lost/);
    expect((await w.json(['users', 'list', '--search', 'joe'])).users).toHaveLength(1);
  });
});

describe('--debug', () => {
  it('neutralises an internal error and its stack trace (escape sequences, C1, bidi)', async () => {
    const chunks: Buffer[] = [];
    const stderr = new Writable({
      write(c, _e, done) {
        chunks.push(Buffer.from(c));
        done();
      },
    });
    const ctx = new Context({
      streams: { stdin: new PassThrough(), stdout: new PassThrough(), stderr, stdinIsTTY: false, stdoutIsTTY: false, stderrIsTTY: false },
      env: {},
    });
    ctx.globals.debug = true;
    const err = new Error('boom \u001b]0;owned\u0007 \u009b2J \u202eevil\u202c');
    err.stack = `${err.message}\n    at hostile (\u001b[31m/tmp/\u2066x\u2069.js:1:1)`;
    const exit = await reportError(ctx, err, []);
    expect(exit).toBe(1);
    const text = Buffer.concat(chunks).toString('utf8');
    expect(text).toMatch(/internal error: boom/);
    expect(text).toMatch(/at hostile/);
    expect(text).not.toMatch(/[\u001b\u0007\u0080-\u009f\u202a-\u202e\u2066-\u2069]/);
  });
});
