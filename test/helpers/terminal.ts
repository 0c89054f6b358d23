import { execa } from 'execa';
import { resolve } from 'node:path';
import { BIN } from './cli.js';

const PTY = resolve(import.meta.dirname, 'run_in_pty.py');

/** Runs bin/portalctl in a real pseudo-terminal, answering prompts step by step. */
export async function inTerminal(args: string[], env: Record<string, string>, steps: { expect: string; send: string }[] = [], size = { cols: 160, rows: 40 }) {
  const r = await execa('python3', [PTY], {
    input: JSON.stringify({ argv: ['node', BIN, ...args], env: { TERM: 'xterm-256color', ...env }, steps, timeout: 20, ...size }),
    reject: false,
  });
  if (r.exitCode !== 0) throw new Error(`pty driver failed: ${r.stderr}`);
  return JSON.parse(String(r.stdout)) as { exitCode: number; output: string };
}

export const KEY = { enter: '\r', down: '\u001b[B', ctrlC: '\u0003' };
