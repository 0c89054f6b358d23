// The one printer: JSON, CSV, a fitted table on a terminal, or TSV when piped;
// messages on stderr; --quiet and --json.

import { describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { render, TERMINAL_ROWS, type RenderOptions } from '../../src/output/render.js';
import { info, warning, type Result } from '../../src/output/results.js';
import type { UserView } from '../../src/domain/users.js';
import { RefusedError } from '../../src/errors.js';
import { strip } from '../helpers/run.js';

const NOW = new Date('2026-11-28T14:00:00Z');
const user = (id: number, over: Partial<UserView> = {}): UserView => ({
  id,
  portal: 'grants',
  firstName: 'Jane',
  lastName: `Doe${id}`,
  email: `jane${id}@example.org`,
  status: 'pending',
  loginService: null,
  loginServiceName: null,
  username: null,
  registrationExpiresAt: '2026-12-05T14:00:00.000Z',
  removalDueAt: '2026-12-28T14:00:00.000Z',
  linkedAt: null,
  createdAt: '2026-11-28T14:00:00.000Z',
  ...over,
});

async function print(result: Result, o: Partial<RenderOptions> & { tty?: boolean } = {}) {
  let out = '';
  let err = '';
  const sink = (add: (s: string) => void) =>
    new Writable({
      write(c, _e, done) {
        add(String(c));
        done();
      },
    });
  const error = await render(result, {
    stdout: sink((s) => (out += s)),
    stderr: sink((s) => (err += s)),
    stdoutIsTTY: o.tty ?? false,
    columns: o.columns ?? (o.tty ? 200 : undefined),
    colorOut: 0,
    colorErr: 0,
    stdoutClosed: () => false,
    json: false,
    quiet: false,
    now: NOW,
    zone: 'America/New_York',
    ...o,
  });
  return { out, err, error };
}

describe('rendering users', () => {
  it('piped: one header line, ISO times, tabs and newlines in values escaped so each user stays one line', async () => {
    const r = await print({ kind: 'users', users: [user(1, { firstName: 'Ja\tne', lastName: 'Do\ne' })] });
    expect(r.out).toBe(
      'ID\tName\tEmail\tUsername/ID (Login Service)\tStatus\tLink expires\tRemoval in\n' +
        '1\tJa\\x09ne Do\\x0Ae\tjane1@example.org\t(This account is not linked)...\tpending\t2026-12-05T14:00:00.000Z\t30 days\n',
    );
  });

  it('--json: {"users": [...]} with extra fields, data as stored', async () => {
    const r = await print(
      { kind: 'users', users: [user(1, { firstName: 'Ja\u001bne' })], jsonKey: 'removed', jsonExtra: () => ({ dryRun: true }) },
      { json: true },
    );
    expect(JSON.parse(r.out)).toEqual({ removed: [user(1, { firstName: 'Ja\u001bne' })], dryRun: true });
  });

  it('on a terminal: local times with how long from now', async () => {
    const r = await print({ kind: 'users', users: [user(1)] }, { tty: true });
    expect(strip(r.out)).toContain('2026-12-05 09:00 EST (in 7 days)');
  });

  it(`a terminal shows ${TERMINAL_ROWS} rows and says how many there are; piped shows all`, async () => {
    const many = Array.from({ length: TERMINAL_ROWS + 1 }, (_, i) => user(i + 1));
    const tty = await print({ kind: 'users', users: many, total: async () => many.length }, { tty: true });
    expect(tty.out).toContain(`jane${TERMINAL_ROWS}@example.org`);
    expect(tty.out).not.toContain(`jane${TERMINAL_ROWS + 1}@example.org`);
    expect(tty.err).toContain(`Showing the first ${TERMINAL_ROWS} of ${TERMINAL_ROWS + 1} users.`);
    const piped = await print({ kind: 'users', users: many });
    expect(piped.out.trimEnd().split('\n')).toHaveLength(TERMINAL_ROWS + 2);
  });
});

describe('messages and --quiet', () => {
  const changed: Result = { kind: 'users', users: [user(1)], report: true, messages: [info('Invited 1 person.'), warning('no email was sent')] };

  it('messages go to stderr, warnings marked; data to stdout', async () => {
    const r = await print(changed);
    expect(r.err).toBe('Invited 1 person.\nwarning: no email was sent\n');
    expect(r.out).toContain('jane1@example.org');
  });

  it('--quiet hides the report of a change and its messages, never a warning', async () => {
    const r = await print(changed, { quiet: true });
    expect(r.out).toBe('');
    expect(r.err).toBe('warning: no email was sent\n');
  });

  it('--quiet never hides a listing', async () => {
    expect((await print({ kind: 'users', users: [user(1)] }, { quiet: true })).out).toContain('jane1@example.org');
  });

  it('--json prints no messages', async () => {
    expect((await print(changed, { json: true })).err).toBe('');
  });

  it('an empty list says so on stderr; --json prints the empty list', async () => {
    const empty: Result = { kind: 'users', users: [], empty: 'No users match.' };
    expect(await print(empty)).toMatchObject({ out: '', err: 'No users match.\n' });
    expect(JSON.parse((await print(empty, { json: true })).out)).toEqual({ users: [] });
  });

  it('hands back the error that still stands once the result is shown', async () => {
    const failed = new RefusedError('mail_failed', 'refused');
    expect((await print({ ...changed, error: failed })).error).toBe(failed);
  });
});

describe('other results', () => {
  it('checks: status, name and detail, one per line; --quiet shows only what is not ok', async () => {
    const checks: Result = {
      kind: 'document',
      json: {},
      sections: [
        {
          kind: 'checks',
          checks: [
            { name: 'store', status: 'ok', detail: 'fine' },
            { name: 'mail', status: 'fail', detail: 'down\u001b[2J' },
          ],
        },
      ],
    };
    expect((await print(checks)).out).toBe('ok\tstore\tfine\nfail\tmail\tdown\\x1B[2J\n');
    expect((await print(checks, { quiet: true })).out).toBe('fail\tmail\tdown\\x1B[2J\n');
    expect(strip((await print(checks, { tty: true })).out)).toBe('ok    store  fine\nfail  mail   down\\x1B[2J\n');
  });

  it('a table section with no rows says so', async () => {
    const doc: Result = { kind: 'document', json: {}, sections: [{ kind: 'table', title: 'Link attempts', columns: [], rows: [] }] };
    expect((await print(doc)).out).toBe('# Link attempts\nnone\n');
  });
});
