// What portalctl says, checked word for word against the issue and the FAQ:
// the sender with a display name, the Username/ID cell, our own line breaks
// in error messages, the .eml default said plainly, the clock override,
// whoami-login's advice, Unicode-aware look-ups, audit --since/--limit,
// forgiving CSV headers, --version and help hints.

import { simpleParser } from 'mailparser';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GRANTS, T0, at, world, type World } from '../helpers/run.js';
import { sandbox } from '../helpers/cli.js';
import { gatedSmtp, seedPeople, strip, tokenFor, type GatedSmtp } from './support.js';
import { storeSql } from '../helpers/sql.js';
import { describeDeliveries } from '../../src/output/delivery.js';
import type { DeliveryResult } from '../../src/mail/deliver.js';

let w: World;
beforeEach(async () => {
  w = world();
  await w.run(GRANTS);
});
afterEach(() => w.close());

const INVITE = ['users', 'invite', '--email', 'jane.doe@example.org', '--first-name', 'Jane', '--last-name', 'Doe'];
const count = async (sql: string) => Number((await storeSql<{ n: number }>(w, sql))[0]!.n);

describe('the sender can have a name', () => {
  let smtp: GatedSmtp;
  beforeAll(async () => {
    smtp = await gatedSmtp(Infinity);
  });
  afterAll(() => smtp.close());

  it('PORTALCTL_MAIL_FROM="Grants Portal <no-reply@…>": the From header carries the name, the envelope the bare address', async () => {
    const r = await w.run(INVITE, { env: { PORTALCTL_SMTP_URL: smtp.url, PORTALCTL_MAIL_FROM: 'Grants Portal <no-reply@grants.example.org>' } });
    expect(r.exitCode, r.stderr).toBe(0);
    const m = smtp.messages[smtp.messages.length - 1]!;
    expect(m.mailFrom).toBe('no-reply@grants.example.org');
    expect(m.raw).toMatch(/^From: Grants Portal <no-reply@grants\.example\.org>\r?$/m);
  });

  it('a quoted name with a comma, and a name beyond ASCII, are encoded, not split', async () => {
    const r = await w.run(INVITE, { env: { PORTALCTL_SMTP_URL: smtp.url, PORTALCTL_MAIL_FROM: '"Grants Portal, NIH" <no-reply@grants.example.org>' } });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(smtp.messages[smtp.messages.length - 1]!.raw).toMatch(/^From: "Grants Portal, NIH" <no-reply@grants\.example\.org>\r?$/m);
    const u = await w.run(['users', 'invite', '--email', 'j@example.org', '--first-name', 'J', '--last-name', 'K'], {
      env: { PORTALCTL_SMTP_URL: smtp.url, PORTALCTL_MAIL_FROM: 'Portail Subventions Élan <no-reply@grants.example.org>' },
    });
    expect(u.exitCode, u.stderr).toBe(0);
    const parsed = await simpleParser(smtp.messages[smtp.messages.length - 1]!.raw);
    expect(parsed.from?.value).toEqual([{ name: 'Portail Subventions Élan', address: 'no-reply@grants.example.org' }]);
  });

  it('the .eml default writes the same From header', async () => {
    const r = await w.run(INVITE, { env: { PORTALCTL_MAIL_FROM: 'Grants Portal <no-reply@grants.example.org>' } });
    expect(r.exitCode).toBe(0);
    const eml = readFileSync(join(w.mailDir, readdirSync(w.mailDir)[0]!), 'utf8');
    expect(eml).toMatch(/^From: Grants Portal <no-reply@grants\.example\.org>$/m);
  });

  it.each([
    ['header injection', 'Grants <no-reply@grants.example.org>\r\nBcc: everyone@example.org'],
    ['a list', 'no-reply@grants.example.org, other@example.org'],
    ['a named list', 'Grants <no-reply@grants.example.org>, Other <other@example.org>'],
    ['a group', 'Grants: no-reply@grants.example.org;'],
    ['two angle addresses', 'Grants <a@example.org> <b@example.org>'],
  ])('%s is refused with exit 2 before anything is recorded', async (_what, from) => {
    const r = await w.run(['--json', ...INVITE], { env: { PORTALCTL_SMTP_URL: smtp.url, PORTALCTL_MAIL_FROM: from } });
    expect(r.exitCode).toBe(2);
    expect(JSON.parse(r.stderr).error.code).toBe('invalid_sender');
    expect(await count('SELECT count(*) AS n FROM users')).toBe(0);
    expect(await count('SELECT count(*) AS n FROM outbox')).toBe(0);
    expect(await count("SELECT count(*) AS n FROM audit WHERE action = 'invite'")).toBe(0);
  });
});

describe('the registration email says what happens if nobody links', () => {
  it('"If you do not link an account by DATE, your portal profile will be removed." — the removal date, 30 days on', async () => {
    await w.run(INVITE);
    const mail = await simpleParser(readFileSync(join(w.mailDir, readdirSync(w.mailDir)[0]!)));
    const text = (mail.text ?? '').replace(/\s+/g, ' ');
    expect(text).toContain(
      'If you do not link an account by Monday, December 28, 2026 at 09:00 Eastern Standard Time (December 28, 14:00 UTC), your portal profile will be removed.',
    );
    expect(String(mail.html).replace(/\s+/g, ' ')).toContain('If you do not link an account by Monday, December 28, 2026');
  });

  it('never names a date before the link in the same email expires: a live link defers removal (rule 6)', async () => {
    await w.run(INVITE);
    expect((await w.run(['users', 'set-removal-days', '1', '0', '--yes'])).exitCode).toBe(0);
    await w.run(['users', 'resend-registration', '1'], { now: at(1) });
    const newest = readdirSync(w.mailDir).sort().at(-1)!;
    const text = ((await simpleParser(readFileSync(join(w.mailDir, newest)))).text ?? '').replace(/\s+/g, ' ');
    const expiry = /This link expires on (.+?)\./.exec(text)?.[1];
    expect(expiry).toMatch(/^Sunday, December 6, 2026/);
    expect(text).toContain(`If you do not link an account by ${expiry}, your portal profile will be removed.`);
    // prune agrees: the person is not removed while that link works.
    expect((await w.json(['prune', '--dry-run'], { now: at(7) })).removed).toEqual([]);
  });
});

describe('the Username/ID cell of an unlinked user', () => {
  it('reads "(This account is not linked)..." piped, in JSON terms, on a terminal; the Name cell holds the name only', async () => {
    await w.run(INVITE);
    const piped = (await w.run(['users', 'list'])).stdout.split('\n')[1]!.split('\t');
    expect(piped[1]).toBe('Jane Doe');
    expect(piped[3]).toBe('(This account is not linked)...');
    const tty = strip((await w.run(['users', 'list'], { tty: true, columns: 160 })).stdout);
    expect(tty).toMatch(/│ Jane Doe +│ jane\.doe@example\.org +│ \(This account is not linked\)\.\.\. +│/);
    const json = (await w.json(['users', 'list'])).users[0];
    expect(json.username).toBeNull();
    expect(json.loginService).toBeNull();
  });

  it('the README says so', () => {
    const readme = readFileSync(resolve(import.meta.dirname, '../../README.md'), 'utf8');
    expect(readme).toMatch(/an unlinked user's `Username\/ID \(Login Service\)` cell reads `\(This account is not linked\)\.\.\.`/i);
    expect(readme).toContain('the `Name` cell holds the name only');
  });
});

describe('our own line breaks stay line breaks', () => {
  it('a CSV with three bad lines: one error, each bad line on its own line, untrusted values neutralised', async () => {
    const csv = join(w.dir, 'bad.csv');
    writeFileSync(csv, 'email,first_name,last_name\nnot-an-address,A,B\nok@example.org,Ja\u001b]0;pwned\u0007ne,D\nx@example.org,C,\n');
    const r = await w.run(['users', 'invite', '--from-csv', csv]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('has 3 bad lines; nobody was invited. Fix them and run again:\n  line 2: ');
    expect(r.stderr).toMatch(/\n {2}line 3: Invalid first name "Ja\\u001b\]0;pwned\\u0007ne"/);
    expect(r.stderr).toContain('\n  line 4: The last name is empty');
    expect(r.stderr).not.toContain('\\x0A');
    expect(r.stderr).not.toContain('\u001b]');
    expect(await count('SELECT count(*) AS n FROM users')).toBe(0);
  });
});

describe('forgiving CSV headers', () => {
  it.each([
    ['Email,First Name,Last Name', ','],
    ['EMAIL,first_name,LAST_NAME', ','],
    ['last name,e-mail,given name', ','],
    ['Email;First Name;Last Name', ';'],
  ])('%s', async (header, sep) => {
    const cols = header.toLowerCase().startsWith('last') ? ['Doe', 'jane.doe@example.org', 'Jane'] : ['jane.doe@example.org', 'Jane', 'Doe'];
    const csv = join(w.dir, 'people.csv');
    writeFileSync(csv, `${header}\n${cols.join(sep)}\n`);
    const r = await w.json(['users', 'invite', '--from-csv', csv]);
    expect(r.users[0]).toMatchObject({ email: 'jane.doe@example.org', firstName: 'Jane', lastName: 'Doe' });
  });

  it('a ;-separated file still names every bad line', async () => {
    const csv = join(w.dir, 'people.csv');
    writeFileSync(csv, 'Email;First Name;Last Name\nbad;A;B\nok@example.org;C;D\nalso bad;E;F\n');
    const r = await w.run(['users', 'invite', '--from-csv', csv]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/line 2: .*"bad"/);
    expect(r.stderr).toMatch(/line 4: .*"also bad"/);
  });
});

describe('the .eml default is said plainly', () => {
  it('doctor reports mail as a warning that no email is sent, not "ok"', async () => {
    const d = await w.json(['doctor']);
    const mail = d.checks.find((c: { name: string }) => c.name === 'mail');
    expect(mail.status).toBe('warn');
    expect(mail.detail).toMatch(/no email is sent: PORTALCTL_SMTP_URL is not set, so emails are only written as \.eml files/);
  });

  it('each sending command says it once', async () => {
    const one = await w.run(INVITE);
    expect(strip(one.stderr).match(/no email was sent: PORTALCTL_SMTP_URL is not set/g)).toHaveLength(1);
    const many = await w.run(['users', 'resend-registration', '1']);
    expect(strip(many.stderr).match(/no email was sent/g)).toHaveLength(1);
  });

  it('outbox send refuses to turn a queued email into a file unasked, and names --eml', async () => {
    await seedPeople(w, 3, T0);
    const r = await w.run(['--json', 'outbox', 'send']);
    expect(r.exitCode).toBe(2);
    const error = JSON.parse(r.stderr).error;
    expect(error.code).toBe('smtp_not_configured');
    expect(error.message).toContain('or run `portalctl outbox send --eml` to write them to the mail folder.');
    expect(await count("SELECT count(*) AS n FROM outbox WHERE state = 'queued'")).toBe(3);
    expect(readdirSync(w.dir)).not.toContain('mail');
  });

  it('outbox send --eml writes what is queued as .eml files, each with its own working link', async () => {
    await seedPeople(w, 3, T0);
    const r = await w.run(['outbox', 'send', '--eml']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/3 emails written to /);
    expect(await count("SELECT count(*) AS n FROM outbox WHERE state = 'queued'")).toBe(0);
    expect(readdirSync(w.mailDir).filter((f) => f.endsWith('.eml'))).toHaveLength(3);
    const linked = await w.run(['link', tokenFor(w.mailDir, 1), '--service', 'nih', '--account', 'jdoe']);
    expect(linked.exitCode, linked.stderr).toBe(0);
  });

  it('outbox send --eml with a mail server set is a usage error: nothing written, nothing sent', async () => {
    await seedPeople(w, 1, T0);
    const r = await w.run(['--json', 'outbox', 'send', '--eml'], { env: { PORTALCTL_SMTP_URL: 'smtp://127.0.0.1:1' } });
    expect(r.exitCode).toBe(2);
    expect(JSON.parse(r.stderr).error.code).toBe('eml_with_smtp');
    expect(await count("SELECT count(*) AS n FROM outbox WHERE state = 'queued'")).toBe(1);
  });
});

describe('with the .eml default, what is left queued is not sent to a refusal', () => {
  // `outbox send` alone refuses to write queued emails as files; the advice names --eml.
  it('Ctrl-C during a bulk invite: outbox send --eml, or a mail server and outbox send', () => {
    const results: DeliveryResult[] = [
      { outboxId: 1, userId: 1, to: 'a@example.org', state: 'sent', where: '/m/1.eml' },
      { outboxId: 2, userId: 2, to: 'b@example.org', state: 'skipped' },
    ];
    const eml = describeDeliveries(results, { toFiles: true, description: '.eml files in /m', interrupted: true });
    expect(eml.error?.message).toBe(
      'Interrupted: 1 of 2 emails went out; 1 is recorded and queued — run `portalctl outbox send --eml` to write it as .eml files (or set PORTALCTL_SMTP_URL and run `portalctl outbox send` to send it).',
    );
    const smtp = describeDeliveries(results, { toFiles: false, description: 'smtp://relay', interrupted: true });
    expect(smtp.error?.message).toContain('— run `portalctl outbox send` to send it.');
  });

  it('doctor: the queued emails need --eml or PORTALCTL_SMTP_URL', async () => {
    await seedPeople(w, 2, T0);
    const d = await w.json(['doctor']);
    expect(d.checks.find((c: { name: string }) => c.name === 'mail queue').detail).toBe(
      '2 emails queued for a retry; run `portalctl outbox send --eml` to write them as .eml files, or set PORTALCTL_SMTP_URL and run `portalctl outbox send`',
    );
  });
});

describe('PORTALCTL_NOW overriding the clock is said', () => {
  it('by doctor and config', async () => {
    const d = await w.json(['doctor']);
    expect(d.checks.find((c: { name: string }) => c.name === 'clock')).toMatchObject({ status: 'warn' });
    expect(d.checks.find((c: { name: string }) => c.name === 'clock').detail).toContain('PORTALCTL_NOW=2026-11-28T14:00:00Z overrides the clock');
    const c = await w.run(['config']);
    expect(c.stderr).toContain('PORTALCTL_NOW overrides the clock');
    const real = await w.run(['doctor'], { env: { PORTALCTL_NOW: undefined } });
    expect(real.stdout).not.toContain('clock');
  });
});

describe('whoami-login', () => {
  it('170 matches: the advice is said once, not 170 times', async () => {
    await seedPeople(w, 170, T0);
    const r = await w.run(['users', 'whoami-login', 'Pat']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout.trimEnd().split('\n')).toHaveLength(171);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('170 users pending: not linked yet, their Step 2 link is still valid');
  });

  it('a pending user: their link is valid until DATE, and how to resend', async () => {
    await w.run(INVITE);
    const r = await w.run(['users', 'whoami-login', 'jane.doe@example.org']);
    expect(r.stderr).toContain(
      'Jane Doe: (This account is not linked)... Their Step 2 link is valid until 2026-12-05 09:00 EST: ask them to complete Step 2 of the registration email, or send a new one with `portalctl users resend-registration 1`.',
    );
    expect(r.stderr).not.toContain('IMS Login Service Administrator');
  });

  it('an expired link: the FAQ advice, contact the IMS Login Service Administrator', async () => {
    await w.run(INVITE, { now: at(-10) });
    const r = await w.run(['users', 'whoami-login', '1']);
    expect(r.stderr).toContain('The user needs to contact the IMS Login Service Administrator for the username.');
  });
});

describe('look-ups are Unicode-aware', () => {
  beforeEach(async () => {
    await w.run(['users', 'invite', '--email', 'j.mueller@example.de', '--first-name', 'Jürgen', '--last-name', 'Müller']);
  });

  it('users list --search MÜLLER finds Müller', async () => {
    expect((await w.json(['users', 'list', '--search', 'MÜLLER'])).users).toHaveLength(1);
    expect((await w.json(['users', 'list', '--search', 'jÜrgen'])).users).toHaveLength(1);
  });

  it('whoami-login MÜLLER and an address in capitals', async () => {
    expect((await w.json(['users', 'whoami-login', 'MÜLLER'])).users[0].lastName).toBe('Müller');
    expect((await w.json(['users', 'whoami-login', 'J.MUELLER@EXAMPLE.DE'])).users[0].id).toBe(1);
  });

  it('access-check with the account in other case', async () => {
    await w.run(['link', tokenFor(w.mailDir, 1), '--service', 'ims', '--account', 'jürgen.müller']);
    const r = await w.json(['users', 'access-check', '--service', 'ims', '--account', 'JÜRGEN.MÜLLER']);
    expect(r.linked).toBe(true);
    const byEmail = await w.json(['users', 'access-check', '--service', 'nih', '--account', 'jmueller', '--email', 'J.MUELLER@EXAMPLE.DE']);
    expect(byEmail.linked).toBe(false);
    expect(byEmail.users[0].lastName).toBe('Müller');
  });
});

describe('times', () => {
  it('ISO 8601 UTC when piped and in JSON', async () => {
    await w.run(INVITE);
    expect((await w.run(['users', 'list'])).stdout).toContain('\t2026-12-05T14:00:00.000Z\t');
    expect((await w.json(['users', 'list'])).users[0].registrationExpiresAt).toBe('2026-12-05T14:00:00.000Z');
  });
});

describe('audit --since and --limit', () => {
  beforeEach(async () => {
    for (const [i, days] of [10, 3, 1, 0].entries())
      await w.run(['users', 'invite', '--email', `p${i}@example.org`, '--first-name', 'P', '--last-name', `${days} days ago`], { now: at(-days) });
  });
  const invites = async (args: string[]) =>
    ((await w.json(['audit', ...args])).audit as { action: string; at: string }[]).filter((a) => a.action === 'invite').map((a) => a.at);

  it('7d, yesterday, a date', async () => {
    expect(await invites(['--since', '7d'])).toEqual([at(0), at(-1), at(-3)].map((t) => new Date(t).toISOString()));
    // "yesterday" is local midnight (New York) of the day before: 2026-11-27T05:00Z.
    expect(await invites(['--since', 'yesterday'])).toEqual([at(0), at(-1)].map((t) => new Date(t).toISOString()));
    expect(await invites(['--since', '2026-11-20'])).toHaveLength(3);
  });

  it('--limit N: the N newest', async () => {
    const r = await w.json(['audit', '--limit', '2']);
    expect(r.audit).toHaveLength(2);
    expect(r.audit[0].at >= r.audit[1].at).toBe(true);
  });

  it('a --since that is not a time is a usage error naming the forms', async () => {
    const r = await w.run(['audit', '--since', 'last tuesday']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('"yesterday", "today", or a span such as 7d, 12h or 2w');
  });
});

describe('--version', { timeout: 60_000 }, () => {
  const sb = sandbox();
  afterAll(() => sb.cleanup());

  it('portalctl, Node.js, SQLite and the store migration level; JSON with --json; also after other options', async () => {
    await sb.run(GRANTS);
    const pkg = JSON.parse(readFileSync(resolve(import.meta.dirname, '../../package.json'), 'utf8'));
    const r = await sb.run(['--version']);
    expect(r.stdout).toContain(`portalctl ${pkg.version}\nNode.js ${process.versions.node}\nSQLite `);
    expect(r.stdout).toMatch(/store: .*portalctl\.db \(migration (\d+) of \1\)/);
    const j = JSON.parse((await sb.run(['--version', '--json'])).stdout);
    expect(j).toMatchObject({ portalctl: pkg.version, node: process.versions.node, store: { kind: 'sqlite' } });
    expect(j.store.schemaVersion).toBe(j.store.latestSchemaVersion);
    const other = await sb.run(['--db', join(sb.dir, 'none.db'), '--json', '--version']);
    expect(other.exitCode).toBe(0);
    expect(JSON.parse(other.stdout).store.schemaVersion).toBeNull();
  });
});

describe('help hints point at the subcommand', () => {
  it.each([
    [['users', 'invite', '--bogus'], 'portalctl users invite --help'],
    [['users', 'invite', '--email'], 'portalctl users invite --help'],
    [['users', 'lst'], 'portalctl users --help'],
    [['audit', '--limit'], 'portalctl audit --help'],
    [['--json', 'users', 'set-removal-days', '1'], 'portalctl users set-removal-days --help'],
  ])('%j', async (argv, hint) => {
    const r = await w.run(argv);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`\`${hint}\``);
  });

  it('help users list is the help of users list', async () => {
    const r = await w.run(['help', 'users', 'list']);
    expect(r.stdout.split('\n')[0]).toBe('Usage: portalctl users list [options]');
  });
});
