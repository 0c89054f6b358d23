// The scripts in completions/ driven by the real shells, without a terminal:
//  - bash: source bash-completion (and, separately, not) and the script, set
//    COMP_WORDS/COMP_CWORD/COMP_LINE/COMP_POINT as readline would, call the
//    completion function, print COMPREPLY;
//  - zsh: zsh-capture.zsh runs an interactive zsh in a zpty pseudo-terminal of
//    its own with compinit and completions/ on $fpath, types the line and TAB;
//  - fish: `complete -C LINE` after sourcing the script.
// A shell's tests are skipped only when its binary is missing and CI is unset.
// Install the shells with: apt-get install -y bash-completion zsh fish

import { execa } from 'execa';
import { accessSync, constants, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SERVICE_KEYS } from '../../src/domain/services.js';
import { STATUS_FILTERS } from '../../src/domain/users.js';

const COMPLETIONS = resolve(import.meta.dirname, '../../completions');
const ZSH_CAPTURE = resolve(import.meta.dirname, 'zsh-capture.zsh');
const BASH_COMPLETION = '/usr/share/bash-completion/bash_completion';
const CI = Boolean(process.env.CI);

function onPath(bin: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, bin), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** Skip only when the shell is missing and this is not CI (in CI a missing shell fails). */
const skipUnlessThere = (present: boolean) => !present && !CI;

let cwd: string;
beforeAll(() => {
  // A working directory with files for the file-name completions.
  cwd = mkdtempSync(join(tmpdir(), 'portalctl-completion-'));
  writeFileSync(join(cwd, 'people.csv'), 'email,first_name,last_name\n');
  writeFileSync(join(cwd, 'notes.txt'), '');
  mkdirSync(join(cwd, 'home'));
});
afterAll(() => rmSync(cwd, { recursive: true, force: true }));

function env(): Record<string, string> {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: join(cwd, 'home'), LANG: 'C.UTF-8', TERM: 'dumb' };
}

async function output(cmd: string, args: string[], extra: Record<string, string> = {}): Promise<string> {
  const r = await execa(cmd, args, { cwd, env: { ...env(), ...extra }, extendEnv: false, reject: false, timeout: 20_000, input: '' });
  if (r.exitCode !== 0 || r.stderr) throw new Error(`${cmd} exited ${r.exitCode}: ${r.stderr}\n${r.stdout}`);
  return String(r.stdout);
}

/** The distinct candidates, sorted. */
const candidates = (out: string): string[] => [...new Set(out.split('\n').filter((l) => l !== ''))].sort();

/** The words readline hands a completion function: "=" is a word of its own. */
function readlineWords(line: string): string[] {
  const words = line.split(/\s+/);
  return words.flatMap((w) => (w.includes('=') && w.startsWith('-') ? w.split(/(=)/).filter((p) => p !== '') : [w]));
}

// Starting bash with bash-completion, or fish, costs more than completing a
// line: each completes every line of the cases in one process, and the cases
// read their answers. (zsh needs a fresh interactive shell per line.)
const SEP = '--portalctl-test-end--';

function sections(out: string, lines: readonly string[]): Map<string, string[]> {
  const parts = `${out}\n`.split(`${SEP}\n`); // execa drops the final newline
  if (parts.length !== lines.length + 1) throw new Error(`expected ${lines.length} answers, got:\n${out}`);
  return new Map(lines.map((l, i) => [l, candidates(parts[i]!)]));
}

async function bashCompleteAll(lines: readonly string[], withBashCompletion: boolean): Promise<Map<string, string[]>> {
  const script = [
    withBashCompletion ? `source ${BASH_COMPLETION} || exit 3` : '',
    `source ${join(COMPLETIONS, 'portalctl.bash')} || exit 3`,
    // Arguments: for each line, the number of its words, the line, then its words (empty words kept).
    'while (( $# )); do',
    '  n=$1; COMP_LINE=$2; COMP_POINT=${#COMP_LINE}; shift 2',
    '  COMP_WORDS=("${@:1:n}"); COMP_CWORD=$((n - 1)); shift "$n"',
    '  COMPREPLY=()',
    '  _portalctl portalctl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"',
    '  printf "%s\\n" "${COMPREPLY[@]}"',
    `  echo ${SEP}`,
    'done',
  ].join('\n');
  const args = lines.flatMap((l) => {
    const words = readlineWords(l);
    return [String(words.length), l, ...words];
  });
  return sections(await output('bash', ['--norc', '--noprofile', '-c', script, 'bash', ...args]), lines);
}

/** compinit's dump, written by the first zsh of this run (see zsh-capture.zsh). */
const zshDump = () => join(cwd, 'zcompdump');

async function zshComplete(line: string): Promise<string[]> {
  return candidates(await output('zsh', ['-f', ZSH_CAPTURE, COMPLETIONS, line, zshDump()]));
}

async function fishCompleteAll(lines: readonly string[]): Promise<Map<string, string[]>> {
  const script = `source ${join(COMPLETIONS, 'portalctl.fish')}; or exit 3
for line in (string split \x1e -- $PORTALCTL_LINES)
  complete -C "$line"
  echo ${SEP}
end`;
  const out = await output('fish', ['--no-config', '-c', script], { PORTALCTL_LINES: lines.join('\x1e') });
  // fish prints "candidate<TAB>description", and --opt=value candidates whole.
  const answers = sections(out, lines);
  for (const [l, got] of answers) answers.set(l, [...new Set(got.map((c) => c.split('\t')[0]!.replace(/^--[a-z-]+=/, '')))].sort());
  return answers;
}

/** A completer that answers from one batch, computed once. */
function batched(all: (lines: readonly string[]) => Promise<Map<string, string[]>>): (line: string) => Promise<string[]> {
  let answers: Promise<Map<string, string[]>> | undefined;
  return async (line) => {
    answers ??= all(LINES);
    const got = (await answers).get(line);
    if (!got) throw new Error(`${JSON.stringify(line)} is not in LINES`);
    return got;
  };
}

const sorted = (xs: readonly string[]) => [...xs].sort();

/** Every line the cases below complete. */
const LINES = [
  'portalctl users re',
  'portalctl users res',
  'portalctl link X --service ',
  'portalctl users list --status ',
  'portalctl ',
  'portalctl completion ',
  'portalctl portals ',
  'portalctl --db x.db --portal grants users list --json --status p',
  'portalctl users access-check --service=i',
  'portalctl users list --s',
  'portalctl users invite --j',
  'portalctl users invite --from-csv ',
  'portalctl --db peo',
  'portalctl users invite --email ',
  'portalctl users list --sort ',
  'portalctl events --type re',
] as const;

/** What every shell must offer. */
function commonCases(complete: (line: string) => Promise<string[]>) {
  it('`portalctl users re` offers remove and resend-registration', async () => {
    expect(await complete('portalctl users re')).toEqual(['remove', 'resend-registration']);
    expect(await complete('portalctl users res')).toEqual(['resend-registration']);
  });
  it('`portalctl link X --service ` offers the login services', async () => {
    expect(await complete('portalctl link X --service ')).toEqual(sorted(SERVICE_KEYS));
    expect(sorted(SERVICE_KEYS)).toEqual(['ims', 'ims-employee', 'nih']);
  });
  it('`portalctl users list --status ` offers the statuses', async () => {
    expect(await complete('portalctl users list --status ')).toEqual(sorted(STATUS_FILTERS));
    expect(sorted(STATUS_FILTERS)).toEqual(['expired', 'linked', 'pending', 'unlinked']);
  });
  it('`portalctl ` offers the commands', async () => {
    const got = await complete('portalctl ');
    expect(got).toEqual(expect.arrayContaining(['users', 'portals', 'link', 'prune', 'outbox', 'audit', 'completion']));
    expect(got.some((w) => w.startsWith('-'))).toBe(false);
  });
  it('`portalctl completion ` offers the shells', async () => {
    expect(await complete('portalctl completion ')).toEqual(['bash', 'fish', 'zsh']);
  });
  it('the subcommands of the right noun: `portalctl portals ` is not `users`', async () => {
    const got = await complete('portalctl portals ');
    expect(got).toEqual(expect.arrayContaining(['add', 'list', 'set']));
    expect(got).not.toContain('invite');
  });
  it('global options and their values are skipped, before and after the subcommand', async () => {
    expect(await complete('portalctl --db x.db --portal grants users list --json --status p')).toEqual(['pending']);
  });
  it('--service=VALUE', async () => {
    expect(await complete('portalctl users access-check --service=i')).toEqual(['ims', 'ims-employee']);
  });
  it("a command's options, and the global ones", async () => {
    expect(await complete('portalctl users list --s')).toEqual(['--search', '--sort', '--status']);
    expect(await complete('portalctl users invite --j')).toEqual(['--json']);
  });
  it('--from-csv and --db complete file names', async () => {
    expect(await complete('portalctl users invite --from-csv ')).toEqual(expect.arrayContaining(['people.csv', 'notes.txt']));
    expect(await complete('portalctl --db peo')).toEqual(['people.csv']);
  });
  it('--sort offers the columns, --type the event types', async () => {
    expect(await complete('portalctl users list --sort ')).toEqual(sorted(['id', 'name', 'email', 'status', 'expires', 'removal']));
    expect(await complete('portalctl events --type re')).toEqual(sorted(['reminded', 'relinked', 'removal_warned', 'removed']));
  });

  it('free-text values offer nothing', async () => {
    expect(await complete('portalctl users invite --email ')).toEqual([]);
  });
}

describe.skipIf(skipUnlessThere(onPath('bash') && existsSync(BASH_COMPLETION)))('bash, with bash-completion', () => {
  commonCases(batched((lines) => bashCompleteAll(lines, true)));
});

describe.skipIf(skipUnlessThere(onPath('bash')))('bash, without bash-completion', () => {
  commonCases(batched((lines) => bashCompleteAll(lines, false)));
});

// Each zsh case starts an interactive shell (mostly waiting on its pseudo-terminal): run them side by side.
describe.skipIf(skipUnlessThere(onPath('zsh')))('zsh (compinit, _portalctl on $fpath)', { concurrent: true }, () => {
  // The first shell writes compinit's dump; the cases, side by side, read it.
  beforeAll(() => zshComplete('portalctl '));
  commonCases(zshComplete);
});

describe.skipIf(skipUnlessThere(onPath('fish')))('fish', () => {
  commonCases(batched(fishCompleteAll));
});
