// Settings: flags > environment > config file > defaults, shown by `portalctl config`.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GRANTS, sandbox, type Sandbox } from '../helpers/cli.js';

let sb: Sandbox;
let cfg: string;
beforeAll(() => {
  sb = sandbox();
  mkdirSync(join(sb.dir, 'xdg', 'portalctl'), { recursive: true });
  cfg = join(sb.dir, 'xdg', 'portalctl', 'config.json');
  sb.env.XDG_CONFIG_HOME = join(sb.dir, 'xdg');
});
afterAll(() => sb.cleanup());

const setting = (doc: { settings: { name: string }[] }, name: string) => doc.settings.find((s) => s.name === name);

describe('configuration', () => {
  it('the config file supplies defaults; the environment beats it; a flag beats both', async () => {
    const fileDb = join(sb.dir, 'from-config.db');
    writeFileSync(cfg, JSON.stringify({ db: fileDb, portal: 'grants', smtpUrl: 'smtp://relay:pw-in-file@relay.example.org:25' }), { mode: 0o600 });
    const noEnv = { PORTALCTL_DB: undefined };
    let doc = await sb.json(['config'], { env: noEnv });
    expect(setting(doc, 'db')).toMatchObject({ value: fileDb, source: 'config' });
    expect(setting(doc, 'portal')).toMatchObject({ value: 'grants', source: 'config' });
    expect(setting(doc, 'smtpUrl')).toMatchObject({ value: 'smtp://relay:***@relay.example.org:25', source: 'config' });
    expect(JSON.stringify(doc)).not.toContain('pw-in-file');

    doc = await sb.json(['config'], { env: { PORTALCTL_DB: join(sb.dir, 'env.db'), PORTALCTL_PORTAL: 'other' } });
    expect(setting(doc, 'db')).toMatchObject({ source: 'env', from: 'PORTALCTL_DB' });
    expect(setting(doc, 'portal')).toMatchObject({ value: 'other', source: 'env' });

    doc = await sb.json(['config', '--db', join(sb.dir, 'flag.db'), '--portal', 'third']);
    expect(setting(doc, 'db')).toMatchObject({ value: join(sb.dir, 'flag.db'), source: 'flag' });
    expect(setting(doc, 'portal')).toMatchObject({ value: 'third', source: 'flag' });

    // The config file's store is really used.
    expect((await sb.run(GRANTS, { env: noEnv })).exitCode).toBe(0);
    expect((await sb.json(['portals', 'list'], { env: { PORTALCTL_DB: fileDb } })).portals[0].slug).toBe('grants');
  });

  it('a config file with a password that others can read is refused (exit 2)', async () => {
    chmodSync(cfg, 0o644);
    const r = await sb.run(['config']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('chmod 600');
    expect(r.stderr).not.toContain('pw-in-file');
  });

  it('an unknown setting or bad JSON is a clear usage error', async () => {
    writeFileSync(cfg, '{"portl": "grants"}');
    let r = await sb.run(['users', 'list']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('Unknown setting "portl"');
    writeFileSync(cfg, '{not json');
    r = await sb.run(['users', 'list']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('not valid JSON');
  });
});
