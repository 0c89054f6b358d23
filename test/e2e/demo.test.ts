// The README's first command ends in `npm run demo`: it must keep working on
// the embedded default (a SQLite file named by PORTALCTL_DB, .eml files).

import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { sandbox } from '../helpers/cli.js';

describe('npm run demo', () => {
  it('creates the store and the demo portal, invites, writes the .eml, and links with its Step 2 link — twice in a row', async () => {
    const sb = sandbox({ PORTALCTL_NOW: '' });
    try {
      for (let run = 1; run <= 2; run++) {
        const r = await execa('node', [resolve(import.meta.dirname, '../../scripts/demo.mjs')], { env: sb.env, extendEnv: false, reject: false });
        expect(r.exitCode, String(r.stderr)).toBe(0);
        expect(String(r.stdout).includes('$ portalctl portals add demo')).toBe(run === 1);
        expect(String(r.stderr)).toMatch(/Registration email to jane\.doe\+\S+@example\.org written to .*\.eml/);
        expect(String(r.stdout) + String(r.stderr)).toContain('(NIH Network Login) to portal demo');
        expect(readdirSync(join(sb.dir, 'store', 'mail')).filter((f) => f.endsWith('.eml'))).toHaveLength(run);
      }
    } finally {
      sb.cleanup();
    }
  });
});
