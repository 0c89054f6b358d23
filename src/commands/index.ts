// The command tree. Each noun wires its children; each command lives in its
// own file named like the subcommand.

import type { Command } from 'commander';
import type { Context } from '../context.js';
import * as portalsAdd from './portals/add.js';
import * as portalsList from './portals/list.js';
import * as portalsSet from './portals/set.js';
import * as usersList from './users/list.js';
import * as usersInvite from './users/invite.js';
import * as usersResend from './users/resend-registration.js';
import * as usersSetRemovalDays from './users/set-removal-days.js';
import * as usersWhoami from './users/whoami-login.js';
import * as usersShow from './users/show.js';
import * as usersAccessCheck from './users/access-check.js';
import * as link from './link.js';
import * as prune from './prune.js';
import * as outboxList from './outbox/list.js';
import * as outboxSend from './outbox/send.js';
import * as audit from './audit.js';
import * as config from './config.js';
import * as doctor from './doctor.js';
import * as completion from './completion.js';

interface CommandModule {
  register(parent: Command, ctx: Context): void;
}

function noun(program: Command, name: string, summary: string, children: CommandModule[], ctx: Context, examples: string[]): Command {
  const cmd = program
    .command(name)
    .summary(summary)
    .description(summary)
    .addHelpText('after', `\nExamples:\n${examples.map((e) => `  ${e}`).join('\n')}`);
  for (const child of children) child.register(cmd, ctx);
  return cmd;
}

export function registerCommands(program: Command, ctx: Context): void {
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
  program.commandsGroup('Registration:');
  const users = noun(program, 'users', 'the Users overview: invite, send new registrations, look users up', [usersList, usersInvite, usersResend, usersSetRemovalDays, usersShow], ctx, [
    'portalctl users invite --email jane.doe@example.org --first-name Jane --last-name Doe',
    'portalctl users list --status expired',
    'portalctl users resend-registration jane.doe@example.org',
    'portalctl users whoami-login jane.doe@example.org',
  ]);
  users.commandsGroup('Helpdesk:');
  usersWhoami.register(users, ctx);
  usersAccessCheck.register(users, ctx);
  link.register(program, ctx);
  prune.register(program, ctx);

  program.commandsGroup('Administration:');
  noun(program, 'portals', 'create and configure portals', [portalsAdd, portalsList, portalsSet], ctx, [
    'portalctl portals add grants --name "Grants Portal" --url https://grants.example.org --admin-email admin@example.org',
    'portalctl portals set grants --removal-days 45',
  ]);
  noun(program, 'outbox', 'registration emails waiting for delivery', [outboxList, outboxSend], ctx, ['portalctl outbox list', 'portalctl outbox send']);
  audit.register(program, ctx);
  doctor.register(program, ctx);
  config.register(program, ctx);

  program.commandsGroup('Shell:');
  completion.register(program, ctx);
}
