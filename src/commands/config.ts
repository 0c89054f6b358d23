import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import type { Context } from '../context.js';
import type { Resolved } from '../config.js';
import { printJson, printTable, say } from '../output/output.js';

function maskUrl(url: string | undefined): string | undefined {
  if (!url) return url;
  return url.replace(/^(smtps?:\/\/[^/:@]*:)[^/@]*@/i, '$1***@');
}

export function effectiveSettings(ctx: Context) {
  const s = ctx.settings();
  const row = (name: string, r: Resolved<string | undefined>, mask?: (v: string | undefined) => string | undefined) => ({
    name,
    value: (mask ? mask(r.value) : r.value) ?? null,
    source: r.source,
    from: r.from || null,
  });
  return {
    configFile: s.configFile,
    configFileExists: existsSync(s.configFile),
    settings: [
      row('db', s.db),
      row('portal', s.portal),
      row('smtpUrl', s.smtpUrl, maskUrl),
      row('smtpPasswordFile', s.smtpPasswordFile),
      row('mailFrom', s.mailFrom),
      { name: 'mailDir', value: s.smtpUrl.value ? null : ctx.mailSettings().mailDir, source: 'default', from: 'beside the store (used when smtpUrl is unset)' },
    ],
  };
}

/** The effective settings and where each came from; secrets masked. */
export async function configRun(ctx: Context): Promise<void> {
  const doc = effectiveSettings(ctx);
  if (ctx.options.json) {
    printJson(ctx, doc);
    return;
  }
  await printTable(
    ctx,
    [
      { header: 'Setting', text: (r) => r.name },
      { header: 'Value', text: (r) => r.value ?? '(unset)' },
      { header: 'Source', text: (r) => r.source },
      { header: 'From', text: (r) => r.from ?? '' },
    ],
    doc.settings,
  );
  say(ctx, `Config file: ${doc.configFile}${doc.configFileExists ? '' : ' (not present)'}. Precedence: flags > environment > config file > defaults.`);
}

export function register(program: Command, ctx: Context): void {
  program
    .command('config')
    .summary('show the effective settings and where each came from')
    .description(
      'Show the effective settings (store, default portal, mail) and where each came from: a flag, an environment variable, the config file ($XDG_CONFIG_HOME/portalctl/config.json, or PORTALCTL_CONFIG), or the default. Secrets are masked.',
    )
    .addHelpText('after', '\nConfig file example:\n  {"db": "/var/lib/portalctl/portalctl.db", "portal": "grants", "smtpUrl": "smtp://relay.example.org:25", "mailFrom": "portal@example.org"}\n\nExamples:\n  portalctl config\n  portalctl config --json')
    .action(() => configRun(ctx));
}
