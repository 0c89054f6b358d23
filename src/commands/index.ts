// The command tree. Each noun wires its children; each command lives in its
// own file named like the subcommand. A run loads only the modules of the
// top-level command it names (`portalctl users …` never loads prune, doctor or
// completion); help, completion and anything unrecognised load the whole tree.

import type { Command } from 'commander';
import type { Context } from '../context.js';

interface CommandModule {
  register(parent: Command, ctx: Context): void;
}

function noun(program: Command, name: string, summary: string, examples: string[]): Command {
  return program
    .command(name)
    .summary(summary)
    .description(summary)
    .addHelpText('after', `\nExamples:\n${examples.map((e) => `  ${e}`).join('\n')}`);
}

interface Entry {
  name: string;
  group: string;
  load(): Promise<(program: Command, ctx: Context) => void>;
}

const leaf = (m: Promise<CommandModule>) => m.then((mod) => (program: Command, ctx: Context) => mod.register(program, ctx));

const ENTRIES: Entry[] = [
  {
    name: 'users',
    group: 'Registration:',
    load: async () => {
      const [list, invite, resend, removal, show, whoami, access] = await Promise.all([
        import('./users/list.js'),
        import('./users/invite.js'),
        import('./users/resend-registration.js'),
        import('./users/set-removal-days.js'),
        import('./users/show.js'),
        import('./users/whoami-login.js'),
        import('./users/access-check.js'),
      ]);
      return (program, ctx) => {
        const users = noun(program, 'users', 'the Users overview: invite, send new registrations, look users up', [
          'portalctl users invite --email jane.doe@example.org --first-name Jane --last-name Doe',
          'portalctl users list --status expired',
          'portalctl users resend-registration jane.doe@example.org',
          'portalctl users whoami-login jane.doe@example.org',
        ]);
        for (const m of [list, invite, resend, removal, show] as CommandModule[]) m.register(users, ctx);
        users.commandsGroup('Helpdesk:');
        whoami.register(users, ctx);
        access.register(users, ctx);
      };
    },
  },
  { name: 'link', group: 'Registration:', load: () => leaf(import('./link.js')) },
  { name: 'prune', group: 'Registration:', load: () => leaf(import('./prune.js')) },
  {
    name: 'portals',
    group: 'Administration:',
    load: async () => {
      const mods: CommandModule[] = await Promise.all([import('./portals/add.js'), import('./portals/list.js'), import('./portals/set.js')]);
      return (program, ctx) => {
        const portals = noun(program, 'portals', 'create and configure portals', [
          'portalctl portals add grants --name "Grants Portal" --url https://grants.example.org --admin-email admin@example.org',
          'portalctl portals set grants --removal-days 45',
        ]);
        for (const m of mods) m.register(portals, ctx);
      };
    },
  },
  {
    name: 'outbox',
    group: 'Administration:',
    load: async () => {
      const mods: CommandModule[] = await Promise.all([import('./outbox/list.js'), import('./outbox/send.js')]);
      return (program, ctx) => {
        const outbox = noun(program, 'outbox', 'registration emails waiting for delivery', ['portalctl outbox list', 'portalctl outbox send']);
        for (const m of mods) m.register(outbox, ctx);
      };
    },
  },
  { name: 'audit', group: 'Administration:', load: () => leaf(import('./audit.js')) },
  { name: 'doctor', group: 'Administration:', load: () => leaf(import('./doctor.js')) },
  { name: 'config', group: 'Administration:', load: () => leaf(import('./config.js')) },
  { name: 'completion', group: 'Shell:', load: () => leaf(import('./completion.js')) },
];

/** Global options that take a value, so the word after them is not a command. */
const VALUE_OPTIONS = new Set(['--db', '--portal', '--actor']);

/** The first word of argv that is not an option: the top-level command asked for. */
export function commandWord(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') return argv[i + 1];
    if (VALUE_OPTIONS.has(a)) i++;
    else if (!a.startsWith('-')) return a;
  }
  return undefined;
}

export async function registerCommands(program: Command, ctx: Context, argv?: readonly string[]): Promise<void> {
  program.configureHelp({ showGlobalOptions: true, sortSubcommands: false });
  program.addHelpText(
    'after',
    `
Examples:
  portalctl portals add grants --name "Grants Portal" --url https://grants.example.org --admin-email admin@example.org
  portalctl users invite --email jane.doe@example.org --first-name Jane --last-name Doe
  portalctl users list
  portalctl link 'https://grants.example.org/register/link?token=…' --service nih --account jdoe
  portalctl prune --yes --quiet          # nightly, from cron

Exit codes: 0 ok, 1 refused or failed, 2 usage error, 75 email queued for retry.
Every command takes --help.`,
  );
  const word = argv ? commandWord(argv) : undefined;
  // completion walks the whole tree; anything else named loads just itself.
  const only = word !== 'completion' ? ENTRIES.filter((e) => e.name === word) : [];
  const chosen = only.length ? only : ENTRIES;
  const adders = await Promise.all(chosen.map((e) => e.load()));
  let group = '';
  chosen.forEach((e, i) => {
    if (e.group !== group) program.commandsGroup((group = e.group));
    adders[i]!(program, ctx);
  });
}
