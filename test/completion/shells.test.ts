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

async function run(cmd: string, args: string[], extra: Record<string, string> = {}): Promise<string[]> {
  const r = await execa(cmd, args, { cwd, env: { ...env(), ...extra }, extendEnv: false, reject: false, timeout: 20_000, input: '' });
  if (r.exitCode !== 0 || r.stderr) throw new Error(`${cmd} exited ${r.exitCode}: ${r.stderr}\n${r.stdout}`);
  return [
    ...new Set(
      String(r.stdout)
        .split('\n')
        .filter((l) => l !== ''),
    ),
  ].sort();
}

/** The words readline hands a completion function: "=" is a word of its own. */
function readlineWords(line: string): string[] {
  const words = line.split(/\s+/);
  return words.flatMap((w) => (w.includes('=') && w.startsWith('-') ? w.split(/(=)/).filter((p) => p !== '') : [w]));
}

async function bashComplete(line: string, withBashCompletion: boolean): Promise<string[]> {
  const script = [
    withBashCompletion ? `source ${BASH_COMPLETION} || exit 3` : '',
    `source ${join(COMPLETIONS, 'portalctl.bash')} || exit 3`,
    'COMP_LINE=$1; COMP_POINT=${#COMP_LINE}; shift',
    'COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))',
    '_portalctl portalctl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"',
    'printf "%s\\n" "${COMPREPLY[@]}"',
  ].join('\n');
  return run('bash', ['--norc', '--noprofile', '-c', script, 'bash', line, ...readlineWords(line)]);
}

async function zshComplete(line: string): Promise<string[]> {
  return run('zsh', ['-f', ZSH_CAPTURE, COMPLETIONS, line]);
}

async function fishComplete(line: string): Promise<string[]> {
  const out = await run('fish', ['--no-config', '-c', `source ${join(COMPLETIONS, 'portalctl.fish')}; and complete -C "$PORTALCTL_LINE"`], {
    PORTALCTL_LINE: line,
  });
  // fish prints "candidate<TAB>description", and --opt=value candidates whole.
  return [...new Set(out.map((l) => l.split('\t')[0]!.replace(/^--[a-z-]+=/, '')))].sort();
}

const sorted = (xs: readonly string[]) => [...xs].sort();

/** What every shell must offer. */
function commonCases(complete: (line: string) => Promise<string[]>) {
  it('`portalctl users re` offers resend-registration', async () => {
    expect(await complete('portalctl users re')).toEqual(['resend-registration']);
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
    expect(await complete('portalctl users list --s')).toEqual(['--search', '--status']);
    expect(await complete('portalctl users invite --j')).toEqual(['--json']);
  });
  it('--from-csv and --db complete file names', async () => {
    expect(await complete('portalctl users invite --from-csv ')).toEqual(expect.arrayContaining(['people.csv', 'notes.txt']));
    expect(await complete('portalctl --db peo')).toEqual(['people.csv']);
  });
  it('free-text values offer nothing', async () => {
    expect(await complete('portalctl users invite --email ')).toEqual([]);
  });
}

describe.skipIf(skipUnlessThere(onPath('bash') && existsSync(BASH_COMPLETION)))('bash, with bash-completion', () => {
  commonCases((line) => bashComplete(line, true));
});

describe.skipIf(skipUnlessThere(onPath('bash')))('bash, without bash-completion', () => {
  commonCases((line) => bashComplete(line, false));
});

// Each zsh case starts a shell with compinit (~0.5 s, mostly waiting): run them side by side.
describe.skipIf(skipUnlessThere(onPath('zsh')))('zsh (compinit, _portalctl on $fpath)', { concurrent: true }, () => {
  commonCases(zshComplete);
});

describe.skipIf(skipUnlessThere(onPath('fish')))('fish', () => {
  commonCases(fishComplete);
});
