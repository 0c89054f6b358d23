import type { Command } from 'commander';
import type { Context } from '../../context.js';
import { serviceName, usernameCell } from '../../domain/services.js';
import { formatLocal, iso } from '../../domain/time.js';
import { findUser, toUserView } from '../../domain/users.js';
import { chalkFor, printJson, printTable, printUsers, type Column } from '../../output/output.js';
import type { RegistrationRow } from '../../store/store.js';

interface Attempt {
  at: string;
  service: string;
  username: string;
  outcome: string;
  actor: string;
  registration_id: number | null;
}

interface AccountChange {
  at: string;
  actor: string;
  action: string;
  before: string | null;
  after: string | null;
}

/** Registration states as the administrator reads them: a superseded link, an expired one, one whose email is still queued. */
function registrationState(r: RegistrationRow, nowIso: string, outboxState: string | null): string {
  if (r.state === 'active') {
    if (r.expires_at <= nowIso) return 'expired';
    if (!r.sent_at) return outboxState === 'failed' ? 'active (email failed)' : 'active (email queued)';
    return 'active';
  }
  return r.state;
}

export async function usersShowRun(ctx: Context, ref: string): Promise<void> {
  const portal = ctx.portal();
  const store = ctx.store();
  const row = findUser(store, portal, ref);
  const nowIso = iso(ctx.now());
  const view = toUserView(row, nowIso);
  const regs = store.registrationsOf(row.id);
  const outbox = new Map(
    (store.db.prepare(`SELECT registration_id, state, last_error FROM outbox WHERE registration_id IN (SELECT id FROM registrations WHERE user_id = ?) ORDER BY id`).all(row.id) as {
      registration_id: number;
      state: string;
      last_error: string | null;
    }[]).map((o) => [o.registration_id, o]),
  );
  const attempts = store.db.prepare('SELECT * FROM link_attempts WHERE user_id = ? ORDER BY id').all(row.id) as Attempt[];
  const changes = store.db
    .prepare(`SELECT at, actor, action, before, after FROM audit WHERE user_id = ? AND action IN ('link', 'relink') ORDER BY id`)
    .all(row.id) as AccountChange[];

  const registrations = regs.map((r) => ({
    id: r.id,
    email: r.email,
    createdAt: r.created_at,
    sentAt: r.sent_at,
    expiresAt: r.expires_at,
    state: registrationState(r, nowIso, outbox.get(r.id)?.state ?? null),
    supersededAt: r.superseded_at,
    usedAt: r.used_at,
    mail: outbox.get(r.id) ? { state: outbox.get(r.id)!.state, lastError: outbox.get(r.id)!.last_error } : null,
  }));
  const linkAttempts = attempts.map((a) => ({ at: a.at, registrationId: a.registration_id, loginService: a.service, username: a.username, outcome: a.outcome, actor: a.actor }));
  const accountChanges = changes.map((c) => {
    const before = c.before ? (JSON.parse(c.before) as { loginService: string | null; username: string | null }) : null;
    const after = c.after ? (JSON.parse(c.after) as { loginService: string | null; username: string | null }) : null;
    return {
      at: c.at,
      actor: c.actor,
      from: before?.loginService ? { loginService: before.loginService, username: before.username } : null,
      to: after?.loginService ? { loginService: after.loginService, username: after.username } : null,
    };
  });

  if (ctx.options.json) {
    printJson(ctx, { users: [{ ...view, registrations, linkAttempts, accountChanges }] });
    return;
  }
  const tty = ctx.io.stdoutIsTTY;
  const c = chalkFor(ctx);
  const when = (t: string | null) => (!t ? '' : tty ? formatLocal(t) : t);
  const heading = (t: string) => ctx.io.stdout.write(tty ? `\n${c.bold(t)}\n` : `\n# ${t}\n`);
  await printUsers(ctx, [view]);

  heading('Registrations');
  const regCols: Column<(typeof registrations)[number]>[] = [
    { header: 'Sent to', text: (r) => r.email },
    { header: 'Created', text: (r) => when(r.createdAt) },
    { header: 'Sent', text: (r) => when(r.sentAt) },
    { header: 'Link expires', text: (r) => when(r.expiresAt) },
    { header: 'State', text: (r) => r.state },
    { header: 'Mail', text: (r) => (r.mail ? `${r.mail.state}${r.mail.lastError ? `: ${r.mail.lastError}` : ''}` : '') },
  ];
  await printTable(ctx, regCols, registrations);

  heading('Link attempts');
  if (linkAttempts.length === 0) ctx.io.stdout.write('none\n');
  else
    await printTable(
      ctx,
      [
        { header: 'At', text: (a) => when(a.at) },
        { header: 'Account', text: (a) => usernameCell(a.loginService, a.username) },
        { header: 'Outcome', text: (a) => a.outcome },
      ],
      linkAttempts,
    );

  heading('Login account changes');
  if (accountChanges.length === 0) ctx.io.stdout.write('none\n');
  else
    await printTable(
      ctx,
      [
        { header: 'At', text: (a) => when(a.at) },
        { header: 'From', text: (a) => (a.from ? `${a.from.username} (${serviceName(a.from.loginService)})` : '(not linked)') },
        { header: 'To', text: (a) => (a.to ? `${a.to.username} (${serviceName(a.to.loginService)})` : '') },
        { header: 'By', text: (a) => a.actor },
      ],
      accountChanges,
    );
}

export function register(parent: Command, ctx: Context): void {
  parent
    .command('show')
    .summary('one user in full: registrations, link attempts, account changes')
    .description('Everything about one user: each registration email (address, sent, expiry, state), each Step 2 link attempt and its outcome, and each change of login account.')
    .argument('<user>', 'user id or email address')
    .addHelpText('after', '\nExamples:\n  portalctl users show jane.doe@example.org\n  portalctl users show 42 --json')
    .action((ref: string) => usersShowRun(ctx, ref));
}
