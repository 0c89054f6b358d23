import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from '../../../src/commands/portals/list.js';
import { boxLines, GRANTS, rawInput, strip, tsv, world, type World } from '../../helpers/run.js';

describe('parse', () => {
  it('takes no options', () => {
    expect(parse(rawInput())).toEqual({});
  });
});

describe('portals list', () => {
  let w: World;
  beforeAll(async () => {
    w = world();
    await w.run(GRANTS);
    await w.run([
      'portals',
      'add',
      'arts',
      '--name',
      'Arts',
      '--url',
      'https://arts.example.org',
      '--admin-email',
      'a@example.org',
      '--time-zone',
      'Asia/Tokyo',
    ]);
  });
  afterAll(() => w.close());

  it('lists every portal by slug: piped, JSON, terminal', async () => {
    expect(tsv((await w.run(['portals', 'list'])).stdout).map((p) => [p.Slug, p['Time zone']])).toEqual([
      ['arts', 'Asia/Tokyo'],
      ['grants', ''],
    ]);
    expect((await w.json(['portals', 'list'])).portals.map((p: { slug: string }) => p.slug)).toEqual(['arts', 'grants']);
    const tty = await w.run(['portals', 'list'], { tty: true, columns: 200 });
    expect(boxLines(tty.stdout)[1]).toMatch(/^│ Slug +│ Name +│ URL +│ Site Administrator +│ Link days +│ Removal days +│/);
    const narrow = await w.run(['portals', 'list'], { tty: true, columns: 80 });
    for (const l of boxLines(narrow.stdout)) expect([...l].length).toBeLessThanOrEqual(80);
    expect(strip(narrow.stdout)).toContain('https://grants.example.org');
  });

  it('an empty store says how to create a portal', async () => {
    const e = world({ PORTALCTL_DB: '' });
    try {
      const r = await e.run(['portals', 'list']);
      expect(r).toMatchObject({ exitCode: 0, stdout: '', stderr: 'There is no portal yet; create one with `portalctl portals add`.\n' });
      expect(await e.json(['portals', 'list'])).toEqual({ portals: [] });
    } finally {
      e.close();
    }
  });
});
