// The FAQ's "Access Denied" diagnosis for one login-service account: is it
// linked to a user of the portal, and if not, what the Site Administrator
// should do. `users access-check` and serve's /api/v1/access give the same.

import { accountKey } from '../store/keys.js';
import type { Portal, Store } from '../store/types.js';
import { serviceName } from './services.js';
import { formatLocal, iso } from './time.js';
import { toUserView, type UserView } from './users.js';

export interface Diagnosis {
  linked: boolean;
  loginService: string;
  account: string;
  portal: string;
  diagnosis: string;
  nextSteps: string[];
  users: UserView[];
}

const NOT_LINKED = '(This account is not linked)...';

/** Where a user stands, after "User N": for a step that names a second user. */
function standing(u: UserView, zone: string): string {
  if (u.status === 'linked') return `is linked with ${u.username} (${u.loginServiceName})`;
  if (u.status === 'pending') return `has not completed Step 2; their link is valid until ${formatLocal(u.registrationExpiresAt!, zone)}`;
  return 'has not completed Step 2 and their link has expired';
}

export async function diagnoseAccess(
  store: Store,
  portal: Portal,
  q: { service: string; account: string; email?: string },
  now: Date,
  zone: string,
): Promise<Diagnosis> {
  const nowIso = iso(now);
  const who = `${q.account} (${serviceName(q.service)})`;
  const base = { loginService: q.service, account: q.account, portal: portal.slug };
  return store.read(async (tx) => {
    const zoneOf = portal.timeZone ?? zone;
    const holder = await tx.users.byAccount(portal.id, q.service, q.account);
    if (holder) {
      const nextSteps = [
        `Verify that the user opens the right portal address: old links that are no longer valid get bookmarked. Send the user the portal Home page, ${portal.baseUrl}, and ask them to update the bookmark.`,
      ];
      const users = [toUserView(holder, nowIso)];
      // Asked about someone else's address: this account signs in as the holder, not as them.
      const asked = q.email ? await tx.users.byEmail(portal.id, q.email) : undefined;
      if (asked && asked.id !== holder.id) {
        const other = toUserView(asked, nowIso);
        users.push(other);
        nextSteps.unshift(
          `${q.email} is user ${other.id} (${other.firstName} ${other.lastName}), not the user this account is linked to: signing in with ${who} opens the profile of user ${holder.id} (${holder.firstName} ${holder.lastName}, ${holder.email}). User ${other.id} ${standing(other, zoneOf)}. If ${q.account} belongs to user ${other.id}, it was linked to the wrong profile: check with both people before changing anything.`,
        );
      }
      return {
        ...base,
        linked: true,
        diagnosis: `${who} is linked to user ${holder.id} (${holder.firstName} ${holder.lastName}) of portal ${portal.slug}; the portal should let this account in.`,
        nextSteps,
        users,
      };
    }
    const elsewhere = await tx.users.accountElsewhere(q.service, q.account, portal.id);
    const candidates = new Map<number, UserView>();
    if (q.email) {
      const u = await tx.users.byEmail(portal.id, q.email);
      if (u) candidates.set(u.id, toUserView(u, nowIso));
    }
    // Users who tried to link with this account (and failed, or it would be linked), with how the last try ended.
    const lastTry = new Map<number, { outcome: string; at: string }>();
    const key = accountKey(q.account);
    for (const u of await tx.users.triedAccount(portal.id, q.service, q.account)) {
      candidates.set(u.id, toUserView(u, nowIso));
      const tries = (await tx.linkAttempts.ofUser(u.id)).filter((a) => a.service === q.service && accountKey(a.username) === key);
      const last = tries.reduce<(typeof tries)[number] | undefined>((a, b) => (a === undefined || b.at >= a.at ? b : a), undefined);
      if (last) lastTry.set(u.id, { outcome: last.outcome, at: last.at });
    }
    const steps: string[] = [];
    for (const u of candidates.values()) {
      const ref = `user ${u.id} (${u.email})`;
      const tried = lastTry.get(u.id);
      if (u.status === 'linked' && tried?.outcome === 'link_used') {
        // The link had already linked another account: a shared registration email, or the same person with a second account.
        steps.push(
          `${ref} is linked with ${u.username} (${u.loginServiceName}); on ${formatLocal(tried.at, zoneOf)} ${who} tried their registration link after it had linked that account (link_used). Each registration email is unique to the person receiving it: if ${q.account} is someone else's (a shared email), that person needs a portal account of their own: portalctl users invite --email … --first-name … --last-name …. If it is the same person switching login service, send a new registration: portalctl users resend-registration ${u.id}`,
        );
      } else if (u.status === 'pending' && tried?.outcome === 'link_superseded') {
        steps.push(
          `${ref} tried on ${formatLocal(tried.at, zoneOf)} with the link of an older registration email, which a newer one replaced (link_superseded); the newest link is valid until ${formatLocal(u.registrationExpiresAt!, zoneOf)}. Direct them to the newest registration email and to complete Step 2 — or send a new one: portalctl users resend-registration ${u.id}`,
        );
      } else if (u.status === 'linked') {
        steps.push(
          `${ref} is linked with a different account, ${u.username} (${u.loginServiceName}). If they now want to sign in with ${who}, send a new registration: portalctl users resend-registration ${u.id}`,
        );
      } else if (u.status === 'pending') {
        steps.push(
          `${ref} has not completed Step 2; their link is valid until ${formatLocal(u.registrationExpiresAt!, zoneOf)}. Direct them to the original registration email and to complete Step 2 — or send a new one: portalctl users resend-registration ${u.id}`,
        );
      } else {
        steps.push(
          `${ref} has not completed Step 2 and their link has expired. Send a new registration email and ask them to complete Step 2: portalctl users resend-registration ${u.id}`,
        );
      }
    }
    for (const e of elsewhere) {
      steps.push(
        `${who} is linked to portal ${e.slug} (${e.baseUrl}), not to ${portal.slug}: the user may be using a link or bookmark of the other portal. Send them ${portal.baseUrl} and ask them to update the bookmark.`,
      );
    }
    if (candidates.size === 0) {
      steps.push(
        q.email
          ? `No user of portal ${portal.slug} has the address ${q.email}. If the person should have access, invite them: portalctl users invite --email ${q.email} --first-name … --last-name …`
          : `Find the person's profile (portalctl users list --search NAME, or run this again with --email ADDRESS). If it shows ${NOT_LINKED}, send a new registration email and ask them to complete Step 2.`,
      );
    }
    return {
      ...base,
      linked: false,
      diagnosis: `${who} is not linked to any user of portal ${portal.slug}: the user has not linked their login service account to the portal, so the portal answers "Access Denied".`,
      nextSteps: steps,
      users: [...candidates.values()],
    };
  });
}
