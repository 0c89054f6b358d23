// Issue 14: `link` crossing portals and ignoring the URL's origin (Medium),
// bare tokens that start with "-" (Medium), portal URLs with a query or a
// fragment (Medium), the token in argv and in error messages (Low).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { GRANTS, world, type World } from '../helpers/run.js';
import { mintToken } from '../../src/domain/tokens.js';
import { tokenInMail } from './fixtures.js';
import { storeSql } from '../helpers/sql.js';

const OTHER = ['portals', 'add', 'other', '--name', 'Other Portal', '--url', 'https://other.example.org', '--admin-email', 'admin@example.org'];

let w: World;
let grantsToken: string; // user 1, portal grants
let otherToken: string; // user 2, portal other
beforeAll(async () => {
  w = world();
  expect((await w.run(GRANTS)).exitCode).toBe(0);
  expect((await w.run(OTHER)).exitCode).toBe(0);
  const invite = (portal: string, email: string) =>
    w.run(['--portal', portal, 'users', 'invite', '--email', email, '--first-name', 'Pat', '--last-name', 'Smith']);
  expect((await invite('grants', 'pat@example.org')).exitCode).toBe(0);
  expect((await invite('other', 'pat@example.org')).exitCode).toBe(0);
  grantsToken = await tokenInMail(w.mailDir, 1);
  otherToken = await tokenInMail(w.mailDir, 2);
});
afterAll(() => w.close());

const LINK = ['--service', 'nih', '--account', 'mallory'];

async function linkedUsers(): Promise<number[]> {
  const ids: number[] = [];
  for (const portal of ['grants', 'other']) {
    const list = await w.json(['--portal', portal, 'users', 'list', '--status', 'linked']);
    ids.push(...list.users.map((u: { id: number }) => u.id));
  }
  return ids;
}

/** Runs the attack as text, --json and --debug; each must fail with `exit` and `code` and never print the token. */
async function refused(argv: string[], token: string, exit: number, code: string, input?: string) {
  for (const extra of [[], ['--json'], ['--debug']]) {
    const r = await w.run([...extra, ...argv], { input });
    expect(r.exitCode, `${[...extra, ...argv].join(' ')}: ${r.stderr}`).toBe(exit);
    expect(r.stdout + r.stderr).not.toContain(token);
    if (extra[0] === '--json') expect(JSON.parse(r.stderr).error.code).toBe(code);
  }
  expect(await linkedUsers()).toEqual([]);
}

describe('link across portals', () => {
  it("--portal grants with grants' own URL carrying a token of portal other: link_unknown, nobody linked", async () => {
    await refused(['--portal', 'grants', 'link', ...LINK, `https://grants.example.org/register/link?token=${otherToken}`], otherToken, 1, 'link_unknown');
  });

  it('the same URL without --portal (the URL names grants): link_unknown', async () => {
    await refused(['link', ...LINK, `https://grants.example.org/register/link?token=${otherToken}`], otherToken, 1, 'link_unknown');
  });

  it('a bare token of portal other with --portal grants: link_unknown', async () => {
    await refused(['--portal', 'grants', 'link', ...LINK, '--', otherToken], otherToken, 1, 'link_unknown');
  });

  it('a bare token with two portals and no --portal: the portal must be named (exit 2)', async () => {
    await refused(['link', ...LINK, '--', grantsToken], grantsToken, 2, 'portal_required');
  });
});

describe("a URL that is not the portal's own Step 2 address", () => {
  const hostile = (t: string) => [
    `https://evil.example/phish?token=${t}`,
    `https://evil.example/register/link?token=${t}`,
    `javascript:alert(document.cookie)//?token=${t}`,
    `data:text/html,x?token=${t}`,
    `http://grants.example.org/register/link?token=${t}`, // downgraded scheme
    `https://grants.example.org.evil.example/register/link?token=${t}`,
    `https://grants.example.org@evil.example/register/link?token=${t}`,
    `https://grants.example.org:8443/register/link?token=${t}`,
    `https://grants.example.org/phish?token=${t}`,
    `https://grants.example.org/register/link/extra?token=${t}`,
  ];
  it('is refused (exit 2, invalid_link) with --portal, and never links', async () => {
    for (const url of hostile(grantsToken)) await refused(['--portal', 'grants', 'link', ...LINK, url], grantsToken, 2, 'invalid_link');
  });
  it('is refused without --portal too (nothing to match it to)', async () => {
    for (const url of hostile(grantsToken)) {
      const r = await w.run(['--json', 'link', ...LINK, url]);
      expect([2], `${url}: ${r.stderr}`).toContain(r.exitCode);
      expect(r.stderr).not.toContain(grantsToken);
    }
    expect(await linkedUsers()).toEqual([]);
  });
});

/** A token in the format of the first releases that starts with "-" (about 1 in 64 of theirs did). */
function oldTokenStartingWithDash(prefix = '-'): string {
  // The random part with its first characters set to the prefix (16 bytes are 21⅓ base64url
  // characters, so the prefix survives the round trip); a search for one would take 64^3 tries for -qy.
  const random = Buffer.from(prefix + randomBytes(16).toString('base64url').slice(prefix.length), 'base64url');
  const check = createHash('sha256').update('portalctl-link-v1').update(random).digest().subarray(0, 4);
  const token = Buffer.concat([random, check]).toString('base64url');
  if (!token.startsWith(prefix) || random.length !== 16) throw new Error(`could not make a token starting with ${prefix}`);
  return token;
}

/** Gives user `userId`'s active registration one more valid token, as an older portalctl would have minted it. */
async function plantToken(into: World, userId: number, token: string): Promise<void> {
  const [reg] = await storeSql<{ id: number }>(into, `SELECT id FROM registrations WHERE user_id = ? AND state = 'active'`, userId);
  await storeSql(
    into,
    'INSERT INTO link_tokens (digest, registration_id, minted_at) VALUES (?, ?, ?)',
    createHash('sha256').update(token).digest(),
    reg!.id,
    '2026-11-28T14:00:00.000Z',
  );
}

describe('tokens that start with "-"', () => {
  it('are never minted any more', () => {
    for (let i = 0; i < 5000; i++) expect(mintToken()[0]).not.toBe('-');
  });

  it('an old one given bare is read as an option: exit 2, the message says to use `--` or `link -`, and never prints the token', async () => {
    const token = oldTokenStartingWithDash();
    await plantToken(w, 1, token);
    await refused(['--portal', 'grants', 'link', token, ...LINK], token, 2, 'usage');
    const r = await w.run(['--portal', 'grants', 'link', token, ...LINK]);
    expect(r.stderr).toMatch(/put `--` before it/);
    expect(r.stderr).toMatch(/portalctl link -/);
  });

  it('one that starts with -y or -qy (which commander splits into flags and the rest) gets the same advice', async () => {
    for (const prefix of ['-y', '-qy']) {
      const token = oldTokenStartingWithDash(prefix);
      await plantToken(w, 1, token);
      await refused(['--portal', 'grants', 'link', token, ...LINK], token.slice(prefix.length), 2, 'usage');
      const r = await w.run(['--portal', 'grants', 'link', token, ...LINK]);
      expect(r.stderr, token).toMatch(/put `--` before it/);
    }
  });

  it('an old one still works after `--`', async () => {
    const fresh = world();
    try {
      expect((await fresh.run(GRANTS)).exitCode).toBe(0);
      expect((await fresh.run(['users', 'invite', '--email', 'old@example.org', '--first-name', 'Old', '--last-name', 'Token'])).exitCode).toBe(0);
      const token = oldTokenStartingWithDash();
      await plantToken(fresh, 1, token);
      const r = await fresh.run(['link', '--service', 'nih', '--account', 'olduser', '--', token]);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stdout + r.stderr).not.toContain(token);
    } finally {
      fresh.close();
    }
  });

  it('an old one still works on standard input (`link -`), bare or as the full URL', async () => {
    for (const asUrl of [false, true]) {
      const fresh = world();
      try {
        expect((await fresh.run(GRANTS)).exitCode).toBe(0);
        expect((await fresh.run(['users', 'invite', '--email', 'old@example.org', '--first-name', 'Old', '--last-name', 'Token'])).exitCode).toBe(0);
        const token = oldTokenStartingWithDash();
        await plantToken(fresh, 1, token);
        const input = asUrl ? `https://grants.example.org/register/link?token=${token}\n` : `${token}\n`;
        const r = await fresh.run(['link', '-', '--service', 'nih', '--account', 'olduser'], { input });
        expect(r.exitCode, r.stderr).toBe(0);
        expect(r.stdout + r.stderr).not.toContain(token);
      } finally {
        fresh.close();
      }
    }
  });
});

describe('the token is never echoed', () => {
  it('not for a mis-copied link (argv or stdin), a link with control characters, nor an overlong one', async () => {
    const cut = grantsToken.slice(0, 20);
    const altered = `${grantsToken.slice(0, 26)}${grantsToken[26] === 'A' ? 'B' : 'A'}`;
    await refused(['--portal', 'grants', 'link', ...LINK, '--', cut], cut, 1, 'link_malformed');
    await refused(['--portal', 'grants', 'link', ...LINK, '--', altered], altered, 1, 'link_malformed');
    await refused(['--portal', 'grants', 'link', ...LINK, `https://grants.example.org/register/link?token=${altered}`], altered, 1, 'link_malformed');
    await refused(['--portal', 'grants', 'link', '-', ...LINK], altered, 1, 'link_malformed', `${altered}\n`);
    await refused(['--portal', 'grants', 'link', ...LINK, '--', `${grantsToken}\u001b[2J`], grantsToken, 2, 'invalid_link');
    await refused(['--portal', 'grants', 'link', ...LINK, '--', `${grantsToken}${'x'.repeat(5000)}`], grantsToken, 2, 'invalid_link');
  });

  it('`link -` refuses a terminal on stdin (it would wait for a paste nobody knows to make)', async () => {
    const r = await w.run(['--portal', 'grants', 'link', '-', ...LINK], { tty: true });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/pipe it in/);
  });
});

describe('a portal URL with a query or a fragment', () => {
  it('is refused by portals add and portals set (exit 2): every link built from it would be dead', async () => {
    for (const url of ['https://q.example.org/?x=1', 'https://q.example.org/#top', 'https://q.example.org/app?', 'https://q.example.org/app#']) {
      const add = await w.run(['--json', 'portals', 'add', 'q', '--name', 'Q', '--url', url, '--admin-email', 'admin@example.org']);
      expect(add.exitCode, `${url}: ${add.stderr}`).toBe(2);
      expect(JSON.parse(add.stderr).error.code).toBe('invalid_url');
      const set = await w.run(['--json', 'portals', 'set', 'grants', '--url', url]);
      expect(set.exitCode, `${url}: ${set.stderr}`).toBe(2);
    }
    const portals = await w.json(['portals', 'list']);
    expect(portals.portals.map((p: { slug: string }) => p.slug)).toEqual(['grants', 'other']);
  });

  it('already in a store (an older portalctl accepted it): doctor fails the portal, since a freshly built link does not parse back', async () => {
    await storeSql(w, `UPDATE portals SET base_url = ? WHERE slug = 'other'`, 'https://other.example.org/?x=1');
    const r = await w.run(['--json', 'doctor']);
    const checks = JSON.parse(r.stdout).checks as { name: string; status: string; detail: string }[];
    expect(checks.find((c) => c.name === 'portal other')).toMatchObject({ status: 'fail', detail: expect.stringMatching(/Step 2 links .* do not work/) });
    expect(checks.find((c) => c.name === 'portal grants')!.status).toBe('ok');
    expect(r.exitCode).toBe(1);
  });
});
