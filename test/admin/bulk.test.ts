// Bulk results on a terminal are a summary — the first rows, the counts by
// outcome, and the command that shows the rest — not a boxed row per person;
// piped, --json and --csv output keeps every row.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GRANTS, T0, at, world, type World } from '../helpers/run.js';
import { startSmtp, type TestSmtp } from '../helpers/smtp.js';
import { seedPeople, strip } from './support.js';

let w: World;
beforeEach(async () => {
  w = world();
  await w.run(GRANTS);
});
afterEach(() => w.close());

const tableRows = (out: string) =>
  strip(out)
    .split('\n')
    .filter((l) => /^│ \d/.test(l)).length;
const lineCount = (out: string) => out.replace(/\n$/, '').split('\n').length;

function csvOf(n: number): string {
  const file = join(w.dir, 'people.csv');
  writeFileSync(file, `email,first_name,last_name\n${Array.from({ length: n }, (_, i) => `p${i}@example.org,Pat,Person ${i}`).join('\n')}\n`);
  return file;
}

describe('users invite --from-csv', () => {
  it('on a terminal: ten rows, then the counts and the command that lists them all', async () => {
    const r = await w.run(['users', 'invite', '--from-csv', csvOf(60)], { tty: true, columns: 120, answers: [true] });
    expect(r.exitCode).toBe(0);
    expect(r.asked).toEqual(['Send registration emails to 60 people for grants?']);
    expect(tableRows(r.stdout)).toBe(10);
    expect(lineCount(r.stdout)).toBeLessThan(20);
    expect(r.stderr).toContain('Showing the first 10 of 60; `portalctl users list --status pending` shows them all (or use --json).');
    expect(r.stderr).toContain('Invited 60 people to grants.');
    expect(r.stderr).toContain('60 registration emails written to');
    // The .eml default said once for the run, not once per email.
    expect(r.stderr.match(/no email was sent/g)).toHaveLength(1);
  });

  it('skipped addresses are counted and the first few named', async () => {
    await w.run(['users', 'invite', '--from-csv', csvOf(15)], { answers: [] });
    const r = await w.run(['users', 'invite', '--from-csv', csvOf(40)], { tty: true, columns: 120, answers: [true] });
    expect(r.stderr).toContain('Invited 25 people to grants.');
    expect(r.stderr).toContain('Skipped 15 addresses that already have a profile:');
    expect(r.stderr).toContain('line 2: "p0@example.org" (user 1)');
    expect(r.stderr).toContain('… and 5 more (--json lists them all)');
  });

  it('piped and with --json: every row', async () => {
    const piped = await w.run(['users', 'invite', '--from-csv', csvOf(60)]);
    expect(lineCount(piped.stdout)).toBe(61);
    const other = world();
    try {
      await other.run(GRANTS);
      const file = join(other.dir, 'people.csv');
      writeFileSync(file, `email,first_name,last_name\n${Array.from({ length: 60 }, (_, i) => `q${i}@example.org,Q,Person ${i}`).join('\n')}\n`);
      const json = await other.json(['users', 'invite', '--from-csv', file]);
      expect(json.users).toHaveLength(60);
      expect(json.skipped).toEqual([]);
    } finally {
      other.close();
    }
  });
});

describe('prune', () => {
  beforeEach(() => seedPeople(w, 1200, at(-40)));

  it('--dry-run on a terminal: ten rows and the count; piped: every row', async () => {
    const r = await w.run(['prune', '--dry-run'], { tty: true, columns: 120 });
    expect(r.exitCode).toBe(0);
    expect(tableRows(r.stdout)).toBe(10);
    expect(r.stderr).toContain('Showing the first 10 of 1200; `portalctl prune --dry-run --json` shows them all');
    expect(r.stderr).toContain('Would remove 1200 users (dry run; nothing changed).');
    const piped = await w.run(['prune', '--dry-run']);
    expect(lineCount(piped.stdout)).toBe(1201);
  });

  it('on a terminal: ten rows and the count of removed users', async () => {
    const r = await w.run(['prune', '--yes'], { tty: true, columns: 80 });
    expect(r.exitCode).toBe(0);
    expect(tableRows(r.stdout)).toBe(10);
    expect(lineCount(r.stdout)).toBeLessThan(60); // ~4,000 lines before
    expect(r.stderr).toContain('Showing the first 10 of 1200');
    expect(r.stderr).toContain('Removed 1200 users.');
    expect((await w.json(['users', 'list'])).users).toHaveLength(0);
  });

  it('--json: every removed user', async () => {
    const json = await w.json(['prune', '--yes']);
    expect(json.removed).toHaveLength(1200);
    expect(json.dryRun).toBe(false);
  });
});

describe('sending to many', () => {
  let smtp: TestSmtp;
  beforeAll(async () => {
    smtp = await startSmtp();
  });
  afterAll(() => smtp.close());

  it('outbox send on a terminal: ten rows and the counts; piped every message', async () => {
    await seedPeople(w, 30, T0);
    const r = await w.run(['outbox', 'send'], { tty: true, columns: 120, env: { PORTALCTL_SMTP_URL: smtp.url } });
    expect(r.exitCode).toBe(0);
    expect(tableRows(r.stdout)).toBe(10);
    expect(r.stderr).toContain('Showing the first 10 of 30; --json lists them all.');
    expect(r.stderr).toMatch(/30 emails sent via smtp:\/\/127\.0\.0\.1:\d+/);
  });

  it('resend-registration --all-expired on a terminal: ten rows and the count', async () => {
    await seedPeople(w, 30, at(-10));
    const r = await w.run(['users', 'resend-registration', '--all-expired'], {
      tty: true,
      columns: 120,
      answers: [true],
      env: { PORTALCTL_SMTP_URL: smtp.url },
    });
    expect(r.exitCode).toBe(0);
    expect(r.asked).toEqual(['Send a new registration email to 30 users with an expired link?']);
    expect(tableRows(r.stdout)).toBe(10);
    expect(r.stderr).toContain('Sent new registration emails to 30 users.');
    expect(r.stderr).toContain('Showing the first 10 of 30');
    expect(r.stderr).toMatch(/30 registration emails sent via/);
  });
});
