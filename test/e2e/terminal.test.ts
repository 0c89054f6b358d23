// At a terminal, as an administrator: prompts for what is missing, the boxed
// and coloured Users overview, and Ctrl-C. Driven through a real pseudo-terminal.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { GRANTS, sandbox, type Sandbox } from '../helpers/cli.js';
import { inTerminal, KEY } from '../helpers/terminal.js';

let sb: Sandbox;
beforeAll(async () => {
  sb = sandbox();
  await sb.run(GRANTS);
});
afterAll(() => sb.cleanup());

const strip = (s: string) => s.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '');

describe('at a terminal', () => {
  it('users invite prompts for missing values, re-asks on a bad one, and prints the boxed table', async () => {
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
    expect(text).toContain('Jane Doe (This account is not linked)...');
    expect(text).toContain('2026-12-05 09:00 EST'); // local time with its zone
    expect(r.output).toContain('\u001b[33mpending'); // coloured status
  });

  it("link asks which login service, as the FAQ's Step 2 does; Ctrl-C cancels cleanly with nothing changed", async () => {
    const r = await inTerminal(['link', 'x'.repeat(27)], sb.env);
    expect(r.exitCode).toBe(1); // malformed before any prompt
    const users = () => (new Database(sb.db, { readonly: true }).prepare('SELECT count(*) AS n FROM link_attempts').get() as { n: number }).n;
    const before = users();
    const { mintToken } = await import('../../src/domain/tokens.js');
    const c = await inTerminal(['link', mintToken()], sb.env, [
      { expect: 'IMS Login Service', send: KEY.down },
      { expect: 'IMS Employee Login', send: KEY.enter },
      { expect: 'username', send: KEY.ctrlC },
    ]);
    expect(c.exitCode).toBe(130);
    expect(strip(c.output)).toContain('Cancelled at the prompt; nothing was changed.');
    expect(c.output).not.toMatch(/\n\s+at /);
    expect(users()).toBe(before);
  });

  it('prune asks for confirmation; "n" removes nobody', async () => {
    const r = await inTerminal(['prune'], { ...sb.env, PORTALCTL_NOW: '2027-03-01T00:00:00Z' }, [{ expect: 'Remove 1 unlinked user', send: `n${KEY.enter}` }]);
    expect(r.exitCode).toBe(1);
    expect((await sb.json(['users', 'list'])).users).toHaveLength(1);
  });

  it('NO_COLOR and --no-color turn colour off on a terminal; FORCE_COLOR turns it on when piped', async () => {
    for (const [args, env] of [
      [['users', 'list'], { NO_COLOR: '1' }],
      [['--no-color', 'users', 'list'], {}],
    ] as const) {
      const r = await inTerminal([...args], { ...sb.env, ...env });
      expect(r.output).toContain('│ ID │');
      expect(r.output).not.toMatch(/\u001b\[3\dm/);
    }
    const piped = await sb.run(['users', 'list'], { env: { FORCE_COLOR: '1' } });
    expect(piped.stdout).not.toContain('│'); // still TSV
    const err = await sb.run(['users', 'list', '--status', 'x'], { env: { FORCE_COLOR: '1' } });
    expect(err.stderr).toContain('\u001b[31merror:');
  });

  it('the table fits the terminal: wrapped between words at 110 columns, a record per user at 80, nothing cut', async () => {
    await sb.run(['users', 'invite', '--email', 'maximilian.longname@example.org', '--first-name', 'Maximilian', '--last-name', 'Von Longname-Huber']);
    for (const cols of [110, 80]) {
      const r = await inTerminal(['users', 'list'], sb.env, [], { cols, rows: 40 });
      const lines = strip(r.output)
        .split(/\r?\n/)
        .filter((l) => /^[│┌├└]/.test(l));
      expect(lines.length).toBeGreaterThan(3);
      for (const l of lines) expect([...l].length).toBeLessThanOrEqual(cols);
      expect(strip(r.output)).toContain('maximilian.longname@example.org');
      expect(strip(r.output)).toMatch(cols === 80 ? /│ Username\/ID \(Login Service\) │/ : /│ Name +│ Email/);
    }
    const wide = await inTerminal(['users', 'list'], sb.env, [], { cols: 200, rows: 40 });
    expect(strip(wide.output)).toContain('Maximilian Von Longname-Huber (This account is not linked)...');
  });

  it('a terminal shows the first 500 users and says how many there are; piped and --json show all', async () => {
    const big = sandbox();
    try {
      await big.run(GRANTS);
      const db = new Database(big.db);
      const add = db.prepare(
        "INSERT INTO users (portal_id, first_name, last_name, email, email_key, removal_due_at, created_at) VALUES (1, 'P', ?, ?, ?, '2026-12-28T14:00:00.000Z', '2026-11-28T14:00:00.000Z')",
      );
      db.transaction(() => {
        for (let i = 0; i < 501; i++) add.run(String(i), `p${i}@example.org`, `p${i}@example.org`);
      })();
      db.close();
      const r = await inTerminal(['users', 'list'], big.env);
      expect(strip(r.output)).toContain('Showing the first 500 of 501 users');
      expect(strip(r.output)).toContain('p499@example.org');
      expect(strip(r.output)).not.toContain('p500@example.org');
      const piped = await big.run(['users', 'list']);
      expect(piped.stdout.trimEnd().split('\n')).toHaveLength(502);
      expect((await big.json(['users', 'list'])).users).toHaveLength(501);
      const limited = await inTerminal(['users', 'list', '--limit', '501'], big.env);
      expect(strip(limited.output)).toContain('p500@example.org');
      expect(strip(limited.output)).not.toContain('Showing the first');
    } finally {
      big.cleanup();
    }
  });

  it('untrusted text in the store reaches the terminal neutralised', async () => {
    const db = new Database(sb.db);
    db.prepare('UPDATE users SET first_name = ?, last_name = ? WHERE id = 1').run('Ja\u001b]0;pwned\u0007ne', 'D\u202Eoe');
    db.close();
    const r = await inTerminal(['users', 'list'], sb.env);
    expect(r.output).not.toContain('\u001b]0;');
    expect(r.output).not.toContain('\u202E');
    expect(strip(r.output)).toContain('Ja\\x1B]0;pwned\\x07ne D\\u202Eoe');
    const piped = await sb.run(['users', 'list']);
    expect(piped.stdout).toContain('Ja\\x1B]0;pwned\\x07ne');
    const json = await sb.json(['users', 'list']);
    expect(json.users[0].firstName).toBe('Ja\u001b]0;pwned\u0007ne'); // JSON keeps the data as it is
  });
});
