// `users show`: one user in full, for the helpdesk — every registration
// email, every time the Step 2 link was opened, every link attempt and its
// outcome, every change of login account.

import { iso } from '../../domain/time.js';
import { findUser, parseUserRef, toUserView, type UserRef } from '../../domain/users.js';
import type { OutboxMessage, Registration } from '../../store/types.js';
import type { Result } from '../../output/results.js';
import {
  accountChangeColumns,
  linkAttemptColumns,
  linkViewColumns,
  registrationColumns,
  registrationStacked,
  type AccountChangeRow,
  type LinkAttemptRow,
  type LinkViewRow,
} from '../../output/user-detail.js';
import type { Context } from '../../runtime/context.js';
import type { RawInput } from '../command.js';

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
    const linkViews = viewRows.map((v): LinkViewRow => ({
      at: v.at,
      registrationId: v.registrationId,
      clientAddress: v.clientAddress,
      userAgent: v.userAgent,
    }));
    const linkAttempts = attemptRows.map((a): LinkAttemptRow => ({
      at: a.at,
      registrationId: a.registrationId,
      loginService: a.service,
      username: a.username,
      outcome: a.outcome,
      actor: a.actor,
    }));
    const accountChanges = changeRows.map((c): AccountChangeRow => {
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
  return {
    kind: 'document',
    json: {
      users: [{ ...doc.view, registrations: doc.registrations, linkViews: doc.linkViews, linkAttempts: doc.linkAttempts, accountChanges: doc.accountChanges }],
    },
    sections: [
      { kind: 'users', users: [doc.view] },
      { kind: 'table', title: 'Registrations', columns: registrationColumns, rows: doc.registrations, stacked: registrationStacked },
      { kind: 'table', title: 'Step 2 link opened', columns: linkViewColumns, rows: doc.linkViews, empty: 'never (the link in the email has not been opened)' },
      { kind: 'table', title: 'Link attempts', columns: linkAttemptColumns, rows: doc.linkAttempts },
      { kind: 'table', title: 'Login account changes', columns: accountChangeColumns, rows: doc.accountChanges },
    ],
  };
}
