// `portals set`: change a portal's settings; new periods apply to what is made afterwards.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from '../../../src/commands/portals/set.js';
import { at, GRANTS, rawInput, thrown, tsv, world, type World } from '../../helpers/run.js';

describe('parse', () => {
  it('reads the settings to change; "" unsets the time zone', () => {
    expect(parse(rawInput(['grants'], { removalDays: '60', linkDays: '14', timeZone: '' }))).toEqual({
      slug: 'grants',
      changes: { removalDays: 60, linkDays: 14, timeZone: null },
    });
  });

  it('refuses nothing to change, and bad values', () => {
    expect(thrown(() => parse(rawInput(['grants'])))).toMatchObject({ code: 'missing_value', exitCode: 2 });
    expect(thrown(() => parse(rawInput(['grants'], { linkDays: '366' })))).toMatchObject({
      code: 'invalid_number',
      message: expect.stringContaining('--link-days'),
    });
    expect(thrown(() => parse(rawInput(['Grants!'], { linkDays: '3' })))).toMatchObject({ code: 'invalid_portal' });
  });
});

describe('portals set', () => {
  let w: World;
  beforeAll(async () => {
    w = world();
    await w.run(GRANTS);
    await w.run(['users', 'invite', '--email', 'before@example.org', '--first-name', 'B', '--last-name', 'F']);
  });
  afterAll(() => w.close());

  it("changes a portal's default removal period and link lifetime for what is made afterwards", async () => {
    const r = await w.json(['portals', 'set', 'grants', '--removal-days', '60', '--link-days', '14']);
    expect(r.portals[0]).toMatchObject({ removalDays: 60, linkDays: 14 });
    await w.run(['users', 'invite', '--email', 'dee@example.org', '--first-name', 'Dee', '--last-name', 'Dale']);
    const users = (await w.json(['users', 'list'])).users;
    expect(users.find((u: { email: string }) => u.email === 'dee@example.org')).toMatchObject({ removalDueAt: at(60), registrationExpiresAt: at(14) });
    expect(users.find((u: { email: string }) => u.email === 'before@example.org')).toMatchObject({ removalDueAt: at(30), registrationExpiresAt: at(7) });
  });

  it('says what it did; the audit trail keeps before and after', async () => {
    const r = await w.run(['portals', 'set', 'grants', '--name', 'Grants & Awards']);
    expect(r.stderr).toBe('Updated portal grants.\n');
    expect(tsv(r.stdout)[0]!.Name).toBe('Grants & Awards');
    const a = (await w.json(['audit', '--limit', '1'])).audit[0];
    expect(a).toMatchObject({
      action: 'portal-set',
      before: expect.objectContaining({ name: 'Grants Portal' }),
      after: expect.objectContaining({ name: 'Grants & Awards' }),
    });
  });

  it('says when a schedule will not do what it seems to — and it does not', async () => {
    const v = world();
    try {
      await v.run(GRANTS); // links last 7 days, removal after 30
      const r = await v.run(['portals', 'set', 'grants', '--remind-days', '3,7,9', '--warn-days', '30']);
      expect(r.exitCode).toBe(0);
      expect(r.stderr).toBe(
        'Updated portal grants.\n' +
          'warning: reminders 7, 9 days after the email will never be sent: a reminder needs a working link, and links expire after 7 days (--link-days).\n' +
          'warning: a removal warning 30 days before removal goes with the first `portalctl remind` after each invitation: removal is 30 days after it (--removal-days).\n',
      );
      await v.run(['users', 'invite', '--email', 'sam@example.org', '--first-name', 'Sam', '--last-name', 'Lee']);
      // True: the first remind after the invitation warns of the removal; no reminder comes on day 7 or 9.
      const first = await v.json(['remind', '--dry-run'], { now: at(0.5) });
      expect(first.notices.map((n: { kind: string }) => n.kind)).toEqual(['removal_warning']);
      for (const day of [7, 9]) {
        const later = await v.json(['remind', '--dry-run'], { now: at(day + 0.1) });
        expect(
          later.notices.filter((n: { kind: string }) => n.kind === 'reminder'),
          `day ${day}`,
        ).toEqual([]);
      }
      // A schedule that works says nothing more.
      expect((await v.run(['portals', 'set', 'grants', '--remind-days', '2,5', '--warn-days', '7'])).stderr).toBe('Updated portal grants.\n');
    } finally {
      v.close();
    }
  });

  it('an unknown portal is exit 1', async () => {
    const r = await w.run(['--json', 'portals', 'set', 'nope', '--link-days', '3']);
    expect(r.exitCode).toBe(1);
    expect(JSON.parse(r.stderr).error.code).toBe('not_found');
  });
});
