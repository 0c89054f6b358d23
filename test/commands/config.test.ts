// Settings: flags > environment > config file > defaults, shown by `portalctl config`.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from '../../src/commands/config.js';
import { boxLines, GRANTS, rawInput, strip, tsv, world, type World } from '../helpers/run.js';

describe('parse', () => {
  it('takes no options', () => {
    expect(parse(rawInput())).toEqual({});
  });
});

describe('configuration', () => {
  let w: World;
  let cfg: string;
  beforeEach(() => {
    w = world();
    mkdirSync(join(w.dir, 'config', 'portalctl'), { recursive: true });
    cfg = join(w.dir, 'config', 'portalctl', 'config.json');
  });
  afterEach(() => w.close());
  const setting = (doc: { settings: { name: string }[] }, name: string) => doc.settings.find((s) => s.name === name);
  const write = (doc: unknown, mode = 0o600) => writeFileSync(cfg, typeof doc === 'string' ? doc : JSON.stringify(doc), { mode });

  it('the config file supplies defaults; the environment beats it; a flag beats both', async () => {
    const fileDb = join(w.dir, 'from-config.db');
    write({ db: fileDb, portal: 'grants', smtpUrl: 'smtp://relay:pw-in-file@relay.example.org:25', mailFrom: 'Grants <g@example.org>' });
    const noEnv = { PORTALCTL_DB: undefined };
    let doc = await w.json(['config'], { env: noEnv });
    expect(doc.configFile).toBe(cfg);
    expect(doc.configFileExists).toBe(true);
    expect(setting(doc, 'db')).toEqual({ name: 'db', value: fileDb, source: 'config', from: cfg });
    expect(setting(doc, 'portal')).toMatchObject({ value: 'grants', source: 'config' });
    expect(setting(doc, 'smtpUrl')).toMatchObject({ value: 'smtp://relay:***@relay.example.org:25', source: 'config' });
    expect(setting(doc, 'mailFrom')).toMatchObject({ value: 'Grants <g@example.org>', source: 'config' });
    expect(JSON.stringify(doc)).not.toContain('pw-in-file');

    doc = await w.json(['config'], { env: { PORTALCTL_DB: join(w.dir, 'env.db'), PORTALCTL_PORTAL: 'other' } });
    expect(setting(doc, 'db')).toMatchObject({ source: 'env', from: 'PORTALCTL_DB' });
    expect(setting(doc, 'portal')).toMatchObject({ value: 'other', source: 'env' });

    doc = await w.json(['config', '--db', join(w.dir, 'flag.db'), '--portal', 'third']);
    expect(setting(doc, 'db')).toMatchObject({ value: join(w.dir, 'flag.db'), source: 'flag', from: '--db' });
    expect(setting(doc, 'portal')).toMatchObject({ value: 'third', source: 'flag' });

    // The config file's store is really used (and, named there, made by `portals add`).
    expect((await w.run(GRANTS, { env: noEnv })).exitCode).toBe(0);
    expect((await w.json(['portals', 'list'], { env: { PORTALCTL_DB: fileDb } })).portals[0].slug).toBe('grants');
  });

  it('piped, one setting per line; on a terminal, a table; messages say where the file is and what overrides the clock', async () => {
    const r = await w.run(['config']);
    expect(r.exitCode).toBe(0);
    expect(tsv(r.stdout).find((s) => s.Setting === 'db')).toEqual({ Setting: 'db', Value: w.db, Source: 'env', From: 'PORTALCTL_DB' });
    expect(tsv(r.stdout).find((s) => s.Setting === 'now')).toMatchObject({ Value: '2026-11-28T14:00:00.000Z', Source: 'env' });
    expect(r.stderr).toContain(`Config file: ${cfg} (not present). Precedence: flags > environment > config file > defaults.`);
    expect(r.stderr).toContain('warning: PORTALCTL_NOW overrides the clock');
    expect(r.stderr).toContain(`emails are only written as .eml files to ${w.mailDir}`);
    const tty = await w.run(['config'], { tty: true, columns: 200 });
    expect(strip(tty.stdout)).toMatch(/│ Setting +│ Value +│ Source +│ From +│/);
    const narrow = await w.run(['config'], { tty: true, columns: 80 });
    for (const l of boxLines(narrow.stdout)) expect([...l].length).toBeLessThanOrEqual(80);
    expect(strip(narrow.stdout)).toContain(w.db.split('/').pop()!);
  });

  it('relative paths in the config file are relative to the file', async () => {
    write({ db: 'stores/p.db', mailDir: 'mail' });
    const doc = await w.json(['config'], { env: { PORTALCTL_DB: undefined } });
    expect(setting(doc, 'db')!).toMatchObject({ value: join(w.dir, 'config', 'portalctl', 'stores', 'p.db') });
    expect(setting(doc, 'mailDir')!).toMatchObject({ value: join(w.dir, 'config', 'portalctl', 'mail'), source: 'config' });
  });

  it('~/ in the config file is the home folder, as a shell would have it (JSON has no shell)', async () => {
    write({ db: '~/stores/p.db', mailDir: '~/mail', webhooks: [{ url: 'https://hooks.example.org', secretFile: '~/hook.secret' }] });
    const doc = await w.json(['config'], { env: { PORTALCTL_DB: undefined } });
    // The sandbox's HOME is its own folder.
    expect(setting(doc, 'db')!).toMatchObject({ value: join(w.dir, 'stores', 'p.db') });
    expect(setting(doc, 'mailDir')!).toMatchObject({ value: join(w.dir, 'mail') });
    // Only a leading ~/ : a file named ~x stays beside the config file.
    write({ db: '~x.db' });
    expect(setting(await w.json(['config'], { env: { PORTALCTL_DB: undefined } }), 'db')!).toMatchObject({
      value: join(w.dir, 'config', 'portalctl', '~x.db'),
    });
  });

  it('a config file that is not JSON is refused with where, never with what (it may hold a password)', async () => {
    write('{"smtpUrl": smtp://relay:topsecret@relay.example.org:25}');
    const r = await w.run(['config']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/is not valid JSON \(check the quotes around every value/);
    expect(r.stderr).not.toMatch(/smtp:|topsecret|relay:t/);
    write('{"portal": "grants",\n "db": "x",\n}');
    expect((await w.run(['config'])).stderr).toContain('is not valid JSON at line 3, column 1');
  });

  it('a PORTALCTL_CONFIG that is not there is refused (exit 2) before anything is made: a cron job must not fall back to the defaults', async () => {
    const env = { PORTALCTL_CONFIG: join(w.dir, 'confg.json'), PORTALCTL_DB: '' };
    for (const argv of [['prune', '--yes'], ['config'], ['doctor']]) {
      const r = await w.run(argv, { env });
      expect(r.exitCode, argv.join(' ')).toBe(2);
      expect(r.stderr).toBe(
        `error: PORTALCTL_CONFIG names the config file "${env.PORTALCTL_CONFIG}", which does not exist; check the path, or unset PORTALCTL_CONFIG to use the default one.\n`,
      );
    }
    expect(existsSync(join(w.dir, 'data'))).toBe(false);
  });

  it('a config file with a password that others can read is refused (exit 2), never showing the password', async () => {
    write({ smtpUrl: 'smtp://relay:pw-in-file@relay.example.org:25' }, 0o644);
    chmodSync(cfg, 0o644);
    const r = await w.run(['config']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`run \`chmod 600 ${cfg}\``);
    expect(r.stderr).not.toContain('pw-in-file');
  });

  it.each([
    ['an unknown setting', { portl: 'grants' }, 'unknown setting "portl"'],
    ['bad JSON', '{not json', 'is not valid JSON'],
    ['not an object', '["grants"]', 'must hold a JSON object'],
    ['a setting of the wrong type', { portal: 7 }, 'the setting portal must be a string'],
    // Empty is a mistake, not "unset": the store of a cron job must not quietly become another one.
    ['an empty store', { db: '' }, 'the setting db is empty'],
    ['a store of blanks', { db: '  ' }, 'the setting db is empty'],
    ['an empty portal', { portal: '' }, 'the setting portal is empty'],
    ['a mail folder given as a URL', { mailDir: 'file:///var/mail/portalctl' }, 'the setting mailDir must be a file path, not a URL'],
    [
      "a webhook's secret given as a URL",
      { webhooks: [{ url: 'https://hooks.example.org', secretFile: 'vault://hooks/secret' }] },
      'the setting webhooks[0].secretFile must be a file path, not a URL',
    ],
    [
      'an unknown login service',
      { services: { google: { type: 'header', header: 'X-User', trustedProxies: ['127.0.0.1'] } } },
      'unknown login service "google"',
    ],
    ['a header service without proxies', { services: { nih: { type: 'header', header: 'X-User' } } }, 'services.nih.trustedProxies'],
    ['a webhook of an unknown event type', { webhooks: [{ url: 'https://hooks.example.org', secretFile: 's', types: ['nope'] }] }, 'webhooks[0].types'],
    ['a webhook of no event type', { webhooks: [{ url: 'https://hooks.example.org', secretFile: 's', types: [] }] }, 'webhooks[0].types'],
    [
      'one webhook URL twice',
      {
        webhooks: [
          { url: 'https://hooks.example.org/a', secretFile: 's', types: ['linked'] },
          { url: 'https://hooks.example.org/a', secretFile: 't' },
        ],
      },
      'webhooks[1].url is listed twice',
    ],
  ])('%s is a clear usage error, for every command', async (_why, doc, words) => {
    write(doc);
    for (const argv of [['users', 'list'], ['config']]) {
      const r = await w.run(['--json', ...argv]);
      expect(r.exitCode).toBe(2);
      expect(JSON.parse(r.stderr).error).toMatchObject({ code: 'invalid_config', message: expect.stringContaining(words) });
    }
  });
});
