// `users show`: one user in full, for the helpdesk — every registration
// email, every time the Step 2 link was opened, every link attempt and its
// outcome, every change of login account.

import { serviceName } from '../../domain/services.js';
import { formatRelative, iso } from '../../domain/time.js';
import { findUser, parseUserRef, toUserView, type UserRef } from '../../domain/users.js';
import type { OutboxMessage, Registration } from '../../store/types.js';
import type { Column, Result } from '../../output/results.js';
import type { Context } from '../../runtime/context.js';
import type { RawInput } from '../command.js';
import { neutralize } from '../../text.js';

export interface ShowOptions {
  user: UserRef;
}

export function parse(raw: RawInput): ShowOptions {
  return { user: parseUserRef(String(raw.args[0])) };
}

/** A registration's state as the administrator reads it: expired, or active with its email still queued. */
function registrationState(r: Registration, nowIso: string, mail: OutboxMessage | undefined): string {
  if (r.state !== 'active') return r.state;
  if (r.expiresAt <= nowIso) return 'expired';
  if (!r.sentAt) return mail?.state === 'failed' ? 'active (email failed)' : 'active (email queued)';
  return 'active';
}

export async function run(ctx: Context, o: ShowOptions): Promise<Result> {
  const portal = await ctx.portal({ readOnly: true });
  const store = await ctx.store();
  const now = iso(ctx.now);
  const doc = await store.read(async (tx) => {
    const user = await findUser(tx, portal, o.user);
    // Asked at once: on PostgreSQL the five questions share one round trip.
    const [messages, registrationRows, viewRows, attemptRows, changeRows] = await Promise.all([
      tx.outbox.ofUser(user.id),
      tx.registrations.ofUser(user.id),
      tx.linkViews.ofUser(user.id),
      tx.linkAttempts.ofUser(user.id),
      tx.audit.accountChanges(user.id),
    ]);
    const registrationMail = (id: number) => [...messages].reverse().find((m) => m.registrationId === id && m.kind === 'registration');
    const registrations = registrationRows.map((r) => {
      const mail = registrationMail(r.id);
      return {
        id: r.id,
        email: r.email,
        createdAt: r.createdAt,
        sentAt: r.sentAt,
        expiresAt: r.expiresAt,
        state: registrationState(r, now, mail),
        supersededAt: r.supersededAt,
        usedAt: r.usedAt,
        mail: mail ? { state: mail.state, lastError: mail.lastError } : null,
        emails: messages
          .filter((m) => m.registrationId === r.id)
          .map((m) => ({ id: m.id, kind: m.kind, state: m.state, sentAt: m.sentAt, lastError: m.lastError })),
      };
    });
    const linkViews = viewRows.map((v) => ({
      at: v.at,
      registrationId: v.registrationId,
      clientAddress: v.clientAddress,
      userAgent: v.userAgent,
    }));
    const linkAttempts = attemptRows.map((a) => ({
      at: a.at,
      registrationId: a.registrationId,
      loginService: a.service,
      username: a.username,
      outcome: a.outcome,
      actor: a.actor,
    }));
    const accountChanges = changeRows.map((c) => {
      const before = c.before as { loginService: string | null; username: string | null } | null;
      const after = c.after as { loginService: string | null; username: string | null } | null;
      return {
        at: c.at,
        actor: c.actor,
        from: before?.loginService ? { loginService: before.loginService, username: before.username } : null,
        to: after?.loginService ? { loginService: after.loginService, username: after.username } : null,
      };
    });
    return { view: toUserView(user, now), registrations, linkViews, linkAttempts, accountChanges };
  });
  type Reg = (typeof doc.registrations)[number];
  type View = (typeof doc.linkViews)[number];
  type Attempt = (typeof doc.linkAttempts)[number];
  type Change = (typeof doc.accountChanges)[number];
  const account = (a: { loginService: string | null; username: string | null } | null) =>
    a?.loginService ? `${a.username} (${serviceName(a.loginService) ?? a.loginService})` : '(not linked)';
  const regColumns: Column<Reg>[] = [
    { header: 'ID', value: (r) => r.id, kind: 'number' },
    { header: 'Sent to', value: (r) => r.email },
    { header: 'Created', value: (r) => r.createdAt, kind: 'time' },
    { header: 'Sent', value: (r) => r.sentAt, kind: 'time' },
    { header: 'Link expires', short: 'Expires', value: (r) => r.expiresAt, kind: 'time' },
    { header: 'State', value: (r) => r.state },
    { header: 'Mail', value: (r) => (r.mail ? `${r.mail.state}${r.mail.lastError ? `: ${r.mail.lastError}` : ''}` : '') },
  ];
  const expiry = (relative: string) => (relative.startsWith('link') ? relative : `link expires ${relative}`);
  // On a narrow terminal: the address above the state, the three times above each other.
  const regStacked: Column<Reg>[] = [
    { header: 'ID', value: (r) => r.id, kind: 'number' },
    {
      header: 'Sent to\nState, mail',
      value: (r) => `${r.email}\n${r.state}${r.mail ? `, ${regColumns[6]!.value(r)}` : ''}`,
      multiline: true,
      tty: (r) => `${neutralize(r.email)}\n${neutralize(`${r.state}${r.mail ? `, ${regColumns[6]!.value(r)}` : ''}`)}`,
    },
    {
      header: 'Created\nSent\nLink expires',
      value: (r) => [r.createdAt, r.sentAt ?? '', r.expiresAt].join('\n'),
      tty: (r, at) =>
        [
          `created ${formatRelative(r.createdAt, at.now)}`,
          r.sentAt ? `sent ${formatRelative(r.sentAt, at.now)}` : 'not sent',
          expiry(formatRelative(r.expiresAt, at.now, 'link expired')),
        ].join('\n'),
      multiline: true,
    },
  ];
  const viewColumns: Column<View>[] = [
    { header: 'Opened', value: (v) => v.at, kind: 'time' },
    { header: 'Registration', short: 'Reg.', value: (v) => v.registrationId, kind: 'number' },
    { header: 'From', value: (v) => v.clientAddress ?? '' },
    { header: 'Browser', value: (v) => v.userAgent ?? '' },
  ];
  const attemptColumns: Column<Attempt>[] = [
    { header: 'At', value: (a) => a.at, kind: 'time' },
    { header: 'Account', value: (a) => account(a) },
    { header: 'Outcome', value: (a) => a.outcome },
    { header: 'By', value: (a) => a.actor },
  ];
  const changeColumns: Column<Change>[] = [
    { header: 'At', value: (c) => c.at, kind: 'time' },
    { header: 'From', value: (c) => account(c.from) },
    { header: 'To', value: (c) => account(c.to) },
    { header: 'By', value: (c) => c.actor },
  ];
  return {
    kind: 'document',
    json: {
      users: [{ ...doc.view, registrations: doc.registrations, linkViews: doc.linkViews, linkAttempts: doc.linkAttempts, accountChanges: doc.accountChanges }],
    },
    sections: [
      { kind: 'users', users: [doc.view] },
      { kind: 'table', title: 'Registrations', columns: regColumns, rows: doc.registrations, stacked: regStacked },
      { kind: 'table', title: 'Step 2 link opened', columns: viewColumns, rows: doc.linkViews, empty: 'never (the link in the email has not been opened)' },
      { kind: 'table', title: 'Link attempts', columns: attemptColumns, rows: doc.linkAttempts },
      { kind: 'table', title: 'Login account changes', columns: changeColumns, rows: doc.accountChanges },
    ],
  };
}
