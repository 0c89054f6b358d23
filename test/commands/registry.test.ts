// The command tree is static data; each entry's handler is a module with parse() and run().

import { describe, expect, it } from 'vitest';
import { COMMANDS, GLOBAL_OPTIONS, NOUNS, TOP_LEVEL_ORDER } from '../../src/commands/registry.js';
import { SERVICE_KEYS } from '../../src/domain/services.js';
import { STATUS_FILTERS, USER_SORTS } from '../../src/domain/users.js';

describe('the command registry', () => {
  it.each(COMMANDS.map((c) => [c.path.join(' '), c]))('%s loads a module with parse() and run()', async (_name, spec) => {
    const mod = await spec.load();
    expect(typeof mod.parse).toBe('function');
    expect(typeof mod.run).toBe('function');
    expect(spec.summary.length).toBeGreaterThan(5);
    expect(spec.examples.length).toBeGreaterThan(0);
    for (const e of spec.examples) expect(e).toMatch(new RegExp(`^portalctl (--\\S+ \\S+ )?${spec.path.join(' ')}\\b`));
  });

  it('has each command once, under a known noun, and every top-level entry in the help order', () => {
    const paths = COMMANDS.map((c) => c.path.join(' '));
    expect(new Set(paths).size).toBe(paths.length);
    for (const c of COMMANDS.filter((x) => x.path.length === 2)) expect(NOUNS.map((n) => n.name)).toContain(c.path[0]);
    const top = [...NOUNS.map((n) => n.name), ...COMMANDS.filter((c) => c.path.length === 1).map((c) => c.path[0])];
    expect([...top].sort()).toEqual([...TOP_LEVEL_ORDER].sort());
  });

  it('offers shell completion the same values the commands accept', () => {
    const choices = (flag: string) => COMMANDS.flatMap((c) => c.options ?? []).filter((o) => o.flags.startsWith(flag) && o.choices);
    for (const o of choices('--service')) expect(o.choices).toEqual(SERVICE_KEYS);
    for (const o of choices('--status')) expect(o.choices).toEqual(STATUS_FILTERS);
    for (const o of choices('--sort')) expect(o.choices).toEqual(USER_SORTS);
    expect(GLOBAL_OPTIONS.map((o) => o.flags.split(/[ ,]+/).find((f) => f.startsWith('--')))).toEqual(
      expect.arrayContaining(['--db', '--portal', '--json', '--no-color', '--quiet', '--yes', '--actor']),
    );
  });
});
