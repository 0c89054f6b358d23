// At a real terminal (a pseudo-terminal): prompts for what is missing,
// Ctrl-C at a prompt, colour, and tables fitted to the window's real width.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GRANTS, sandbox, type Sandbox } from '../helpers/cli.js';
import { inTerminal, KEY } from '../helpers/terminal.js';
import { inspect } from '../helpers/store.js';
import { emlLinkFor } from '../helpers/run.js';
import Database from 'better-sqlite3';

let sb: Sandbox;
beforeAll(async () => {
  sb = sandbox();
  expect((await sb.run(GRANTS)).exitCode).toBe(0);
});
afterAll(() => sb.cleanup());

const strip = (s: string) => s.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '');
const attempts = () => {
  const db = new Database(sb.db, { readonly: true });
  try {
    return (db.prepare('SELECT count(*) AS n FROM link_attempts').get() as { n: number }).n;
  } finally {
    db.close();
  }
};

describe('at a terminal', () => {
  it('users invite prompts for missing values, asks again after a bad one, and prints the boxed, coloured table', async () => {
    const r = await inTerminal(['users', 'invite'], sb.env, [
      { expect: 'Email address', send: `not an address${KEY.enter}` },
      { expect: 'only one bare address', send: `\u0015jane@example.org${KEY.enter}` },
      { expect: 'First name', send: `Jane${KEY.enter}` },
      { expect: 'Last name', send: `Doe${KEY.enter}` },
    ]);
    expect(r.exitCode, r.output).toBe(0);
    const text = strip(r.output);
    expect(text).toMatch(/┌─+┬/);
    expect(text).toMatch(/│ ID │ Name +│ Email/);
    expect(text).toMatch(/│ Jane Doe +│ jane@example\.org +│ \(This account is not linked\)\.\.\. +│/);
    expect(text).toContain('2026-12-05 09:00 EST'); // local time with its zone
    expect(r.output).toContain('\u001b[33mpending'); // coloured status
  });

  it("link asks which login service, as the FAQ's Step 2 does; Ctrl-C at a prompt cancels with nothing changed (exit 130)", async () => {
    const malformed = await inTerminal(['link', 'x'.repeat(27)], sb.env);
    expect(malformed.exitCode).toBe(1); // malformed before any prompt
    const before = attempts();
    // A link that can be used (an unknown one is refused before any question, issue 13).
    const c = await inTerminal(['link', emlLinkFor(sb.mailDir, 'jane@example.org')], sb.env, [
      { expect: 'IMS Login Service', send: KEY.down },
      { expect: 'IMS Employee Login', send: KEY.enter },
      { expect: 'IMS Employee Login username', send: KEY.ctrlC },
    ]);
    expect(c.exitCode).toBe(130);
    expect(strip(c.output)).toContain('Cancelled at the prompt; nothing was changed.');
    expect(c.output).not.toMatch(/\n\s+at /);
    expect(attempts()).toBe(before);
  });

  it('prune asks for confirmation; "n" removes nobody (exit 1)', async () => {
    const r = await inTerminal(['prune'], { ...sb.env, PORTALCTL_NOW: '2027-03-01T00:00:00Z' }, [{ expect: 'Remove 1 unlinked user', send: `n${KEY.enter}` }]);
    expect(r.exitCode).toBe(1);
    expect(inspect(sb.db).users).toBe(1);
  });

  it('NO_COLOR and --no-color turn colour off on a terminal', async () => {
    for (const [args, env] of [
      [['users', 'list'], { NO_COLOR: '1' }],
      [['--no-color', 'users', 'list'], {}],
    ] as const) {
      const r = await inTerminal([...args], { ...sb.env, ...env });
      expect(r.output).toContain('│ ID │');
      expect(r.output).not.toMatch(/\u001b\[3\dm/);
    }
  });

  it("the table fits the window's width: whole at 200 columns, wrapped between words at 110, one compact table at 80 (issue 13); nothing cut", async () => {
    await sb.run(['users', 'invite', '--email', 'maximilian.longname@example.org', '--first-name', 'Maximilian', '--last-name', 'Von Longname-Huber']);
    for (const cols of [200, 110, 80]) {
      const r = await inTerminal(['users', 'list'], sb.env, [], { cols, rows: 40 });
      const text = strip(r.output);
      const lines = text.split(/\r?\n/).filter((l) => /^[│┌├└]/.test(l));
      expect(lines.length).toBeGreaterThan(3);
      for (const l of lines) expect([...l].length).toBeLessThanOrEqual(cols);
      expect(text).toContain('maximilian.longname@example.org');
      if (cols === 200) expect(text).toContain('│ Maximilian Von Longname-Huber │');
      if (cols === 110) expect(text).toMatch(/│ ID │ Name +│ Email/);
      if (cols === 80) {
        expect(lines.filter((l) => l.startsWith('┌'))).toHaveLength(1);
        expect(text).toMatch(/│ \(This account is not linked\)\.\.\. +│/);
      }
    }
  });
});
