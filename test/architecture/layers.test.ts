// The import graph points down. Each module belongs to a layer; it may import
// modules of its own layer or lower ones, never higher. Commands never import
// each other (what two commands share lives in domain/, store/ or output/).
// ARCHITECTURE.md draws the same picture.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve(import.meta.dirname, '../../src');

/** Lowest first. A path matches the first prefix that fits. */
const LAYERS: [string, string[]][] = [
  ['leaf', ['text.ts', 'errors.ts', 'install-root.ts']],
  ['store', ['store/']],
  ['domain', ['domain/']],
  ['mail', ['mail/']],
  ['presentation', ['output/', 'completion/', 'server/', 'webhooks/']],
  ['runtime', ['runtime/']],
  ['commands', ['commands/']],
  ['cli', ['cli/']],
];

function layerOf(file: string): number {
  const i = LAYERS.findIndex(([, prefixes]) => prefixes.some((p) => file === p || file.startsWith(p)));
  if (i < 0) throw new Error(`${file} belongs to no layer: add it to LAYERS and ARCHITECTURE.md`);
  return i;
}

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/(?:import|export)\s[^'"]*?from\s+'(\.[^']+)'|import\(\s*'(\.[^']+)'\s*\)/g)) out.push((m[1] ?? m[2])!);
  return out.map((spec) => relative(SRC, resolve(dirname(file), spec)).replace(/\.js$/, '.ts'));
}

describe('the import graph', () => {
  const all = files(SRC).map((f) => relative(SRC, f));

  it('has every module in a layer', () => {
    for (const f of all) expect(() => layerOf(f), f).not.toThrow();
  });

  it('points down: no module imports a higher layer', () => {
    const upward: string[] = [];
    for (const f of all) {
      for (const target of imports(join(SRC, f))) {
        // The registry loads each command's handler lazily; that is the one way down from the command list to the commands.
        if (layerOf(target) > layerOf(f)) upward.push(`${f} → ${target}`);
      }
    }
    expect(upward).toEqual([]);
  });

  it('keeps commands apart: a command imports no other command', () => {
    const shared = new Set(['commands/command.ts', 'commands/registry.ts']);
    const crossings: string[] = [];
    for (const f of all.filter((x) => x.startsWith('commands/') && !shared.has(x))) {
      for (const target of imports(join(SRC, f))) if (target.startsWith('commands/') && !shared.has(target)) crossings.push(`${f} → ${target}`);
    }
    expect(crossings).toEqual([]);
  });

  it('keeps SQL in the store and printing in the renderer', () => {
    const sql: string[] = [];
    const printing: string[] = [];
    for (const f of all) {
      const text = readFileSync(join(SRC, f), 'utf8');
      if (!f.startsWith('store/') && /\.prepare\(|\b(SELECT|INSERT INTO|DELETE FROM|UPDATE \w+ SET)\b/.test(text)) sql.push(f);
      if (f.startsWith('commands/') && /stdout\.write|console\.log|from 'chalk'|process\.exit/.test(text)) printing.push(f);
      // "3 days ago" is how a terminal shows a time column; whether a time is shown that way or as ISO is the renderer's choice.
      if (f.startsWith('commands/') && /\bformatRelative\b/.test(text)) printing.push(`${f} (formats a time column)`);
    }
    expect(sql).toEqual([]);
    expect(printing).toEqual([]);
  });

  it('starts light: what main imports statically reaches no command handler and no package but commander', () => {
    // Each handler, and nodemailer, inquirer, ora, pg, fastify …, is imported inside the action or
    // function that needs it, so --help, a typo or `users list` load only what they use.
    const reached = new Set<string>();
    const packages: string[] = [];
    const walk = (f: string) => {
      if (reached.has(f)) return;
      reached.add(f);
      const text = readFileSync(join(SRC, f), 'utf8');
      for (const m of text.matchAll(/^(?:import|export)\s(?!type\s)[^'"]*?from\s+'([^']+)'|^import\s+'([^']+)'/gm)) {
        const spec = (m[1] ?? m[2])!;
        if (spec.startsWith('.')) walk(relative(SRC, resolve(dirname(join(SRC, f)), spec)).replace(/\.js$/, '.ts'));
        else if (!spec.startsWith('node:') && spec !== 'commander') packages.push(`${f} → ${spec}`);
      }
    };
    walk('cli/main.ts');
    expect([...reached].filter((f) => f.startsWith('commands/') && f !== 'commands/registry.ts')).toEqual([]);
    expect(packages).toEqual([]);
  });

  it('names the classes of unsafe characters once, in text.ts', () => {
    // C1 controls, line separators, bidi controls and marks spelled out again elsewhere drift apart
    // (there were seven regexes for "unsafe"); other modules combine text.ts's names with anyOf().
    const copies = all.filter((f) => f !== 'text.ts' && /\\u(?:009f|2028|202a|2066|200e|061c)/i.test(readFileSync(join(SRC, f), 'utf8')));
    expect(copies).toEqual([]);
  });
});
