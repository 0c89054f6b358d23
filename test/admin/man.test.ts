// man/portalctl.1 is generated from the command tree and installed with the
// package. When this fails after a change to the commands, run `npm run man`
// and commit man/portalctl.1.

import { execa } from 'execa';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { manPage } from '../../src/cli/man.js';
import { COMMANDS, GLOBAL_OPTIONS } from '../../src/commands/registry.js';

const ROOT = resolve(import.meta.dirname, '../..');
const kept = () => readFileSync(resolve(ROOT, 'man/portalctl.1'), 'utf8');

describe('the man page', () => {
  it('man/portalctl.1 is what the command tree gives', () => {
    if (kept() !== manPage()) expect.fail('man/portalctl.1 is out of date with the command tree: run `npm run man` and commit man/portalctl.1');
  });

  it('has every command, every global option, the exit codes and the environment', () => {
    const page = manPage();
    for (const c of COMMANDS) expect(page).toContain(`.SS ${c.path.join(' ')}\n`);
    for (const o of GLOBAL_OPTIONS.filter((g) => !g.hidden)) expect(page).toContain(`\\fB${/--[a-z-]+/.exec(o.flags)![0].replace(/-/g, '\\-')}\\fR`);
    for (const code of ['0', '1', '2', '75', '130']) expect(page).toContain(`.TP\n\\fB${code}\\fR\n`);
    for (const v of ['PORTALCTL_DB', 'PORTALCTL_SMTP_URL', 'PORTALCTL_MAIL_FROM', 'PORTALCTL_NOW']) expect(page).toContain(`\\fB${v}\\fR`);
    expect(page).toContain('(This account is not linked)...');
  });

  it('is installed with the package', async () => {
    const pkg = JSON.parse(readFileSync(resolve(ROOT, 'package.json'), 'utf8'));
    expect(pkg.man).toEqual(['./man/portalctl.1']);
    expect(pkg.files).toContain('man');
    expect(pkg.scripts.man).toMatch(/gen-man\.mjs/);
    const packed = await execa('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT });
    const files = (JSON.parse(packed.stdout) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path);
    expect(files).toContain('man/portalctl.1');
  });

  it('renders without a warning', async () => {
    const r = await execa('groff', ['-man', '-Tutf8', '-ww', '-z'], { input: kept(), reject: false });
    if (r.exitCode === 127 || /not found|ENOENT/.test(String(r.stderr))) return; // groff missing: nothing to check
    expect(r.stderr).toBe('');
    const text = await execa('groff', ['-man', '-Tutf8', '-rLL=78n'], { input: kept(), env: { LC_ALL: 'C.UTF-8' } });
    expect(String(text.stdout).replace(/.\u0008/g, '')).toContain('portalctl users list [options]');
  });
});
