// The store's contract: the records portalctl keeps and the named operations
// on them. Two implementations keep it — SQLite (store/sqlite/, the embedded
// default) and PostgreSQL (store/postgres/, for several hosts). Commands and
// domain code see only this file: no SQL, no driver.
//
// Times are ISO 8601 UTC strings ("2026-11-28T14:00:00.000Z"). Keys used for
// case-insensitive look-ups (email, account, name search) are computed by the
// store from the values given (store/keys.ts), never by callers.

import type { StoreDump, TableCounts, TableName } from './tables.js';

export type { StoreDump, TableCounts, TableName, TableRow } from './tables.js';

export type StoreKind = 'sqlite' | 'postgres';

export interface Portal {
  id: number;
  slug: string;
  name: string;
  baseUrl: string;
  adminEmail: string;
  registerUrl: string;
  linkDays: number;
  removalDays: number;
  /** IANA zone the emails state times in; null = the zone of the machine that sends. */
  timeZone: string | null;
  /** Days after the registration email at which a reminder is sent; [] = none. */
  remindDays: number[];
  /** Days before the removal date at which a removal warning is sent; 0 = none. */
  warnDays: number;
  createdAt: string;
}

export type PortalFields = Omit<Portal, 'id' | 'createdAt'>;

export interface User {
  id: number;
  portalId: number;
  firstName: string;
  lastName: string;
  email: string;
  loginService: string | null;
  username: string | null;
  linkedAt: string | null;
  /** Null once linked. */
  removalDueAt: string | null;
  createdAt: string;
}

/** A user as the Users overview shows them: with the portal's slug and the active registration. */
export interface UserListing extends User {
  portal: string;
  registrationExpiresAt: string | null;
}

export type RegistrationState = 'active' | 'superseded' | 'used';

export interface Registration {
  id: number;
  userId: number;
  email: string;
  createdAt: string;
  sentAt: string | null;
  expiresAt: string;
  state: RegistrationState;
  supersededAt: string | null;
  usedAt: string | null;
  usedService: string | null;
  usedUsername: string | null;
}

export interface LinkToken {
  registrationId: number;
  mintedAt: string;
  retiredAt: string | null;
}

export type MessageKind = 'registration' | 'reminder' | 'removal_warning';
export type MessageState = 'queued' | 'sent' | 'failed';

export interface OutboxMessage {
  id: number;
  registrationId: number;
  kind: MessageKind;
  state: MessageState;
  attempts: number;
  lastError: string | null;
  createdAt: string;
  updatedAt: string;
  sentAt: string | null;
  /** A queued message is not retried before this time (backoff). */
  nextAttemptAt: string | null;
  claimedBy: string | null;
  claimedAt: string | null;
}

/** A message taken for delivery, with what its email needs from the store. */
export interface ClaimedRow {
  message: OutboxMessage;
  registration: Registration;
  user: UserListing;
  portal: Portal;
}

/** An undelivered message with who it is for. */
export interface PendingMessage extends OutboxMessage {
  userId: number;
  to: string;
  portal: string;
}

export interface LinkAttempt {
  id: number;
  at: string;
  userId: number | null;
  registrationId: number | null;
  service: string;
  username: string;
  outcome: string;
  actor: string;
}

export interface LinkView {
  id: number;
  at: string;
  userId: number;
  registrationId: number;
  clientAddress: string | null;
  userAgent: string | null;
}

export interface AuditEntry {
  at: string;
  actor: string;
  action: string;
  portal: string | null;
  userId: number | null;
  userEmail: string | null;
  before?: unknown;
  after?: unknown;
}

export interface AuditRecord extends Required<Omit<AuditEntry, 'before' | 'after'>> {
  id: number;
  before: unknown;
  after: unknown;
}

export const EVENT_TYPES = [
  'invited',
  'email_sent',
  'email_failed',
  'reminded',
  'removal_warned',
  'link_viewed',
  'linked',
  'relinked',
  'link_failed',
  'expired',
  'removed',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export interface NewEvent {
  at: string;
  type: EventType;
  portal: string;
  userId: number | null;
  email: string | null;
  data: Record<string, unknown>;
}

export interface LifecycleEvent extends NewEvent {
  /** The cursor: increasing, never reused. */
  id: number;
}

export type StatusFilter = 'linked' | 'pending' | 'expired' | 'unlinked';
export type UserSort = 'id' | 'name' | 'email' | 'status' | 'expires' | 'removal';

export interface UserQuery {
  portalId: number;
  /** Statuses are judged at this time. */
  now: string;
  status?: StatusFilter;
  /** Part of a name, an address or a username; compared by the store's key rule. */
  search?: string;
  sort?: UserSort;
  limit?: number;
}

export interface AuditQuery {
  portal?: string;
  userIds?: number[];
  since?: string;
  limit?: number;
}

export type WebhookDeliveryState = 'pending' | 'delivered' | 'dead';

/** One event queued for one webhook (by URL). */
export interface WebhookDelivery {
  id: number;
  webhook: string;
  eventId: number;
  userId: number | null;
  state: WebhookDeliveryState;
  /** Attempts made so far. */
  attempts: number;
  /** A pending delivery is not tried before this time (backoff). */
  nextAttemptAt: string;
  lastError: string | null;
  deliveredAt: string | null;
}

/** A webhook's queue at a glance, for `events` and `doctor`. */
export interface WebhookQueue {
  webhook: string;
  pending: number;
  dead: number;
  /** The id of the oldest event still waiting for delivery. */
  oldestPendingEventId: number | null;
  /** When the next delivery may be tried (a later event of a user waits for the user's earlier one). */
  nextAttemptAt: string | null;
  /** The error of the most recent failed attempt still pending or dead. */
  lastError: string | null;
  /** How far events have been queued for the webhook (an event id). */
  enqueuedThrough: number;
}

/** Who sends which notice: a reminder (step = the day after the registration email) or a removal warning (step 0). */
export type NoticeKind = 'reminder' | 'removal_warning';

/** What `doctor` and `--version` report about a store. */
export interface StoreInfo {
  kind: StoreKind;
  /** The path, or the URL with its password masked. */
  location: string;
  serverVersion: string;
  schemaVersion: number;
  latestSchemaVersion: number;
}

/** Operations that run inside a transaction (or a read). */
export interface Tx {
  portals: {
    all(): Promise<Portal[]>;
    bySlug(slug: string): Promise<Portal | undefined>;
    byId(id: number): Promise<Portal | undefined>;
    insert(fields: PortalFields, createdAt: string): Promise<Portal>;
    update(id: number, changes: Partial<PortalFields>): Promise<Portal>;
  };
  users: {
    byId(id: number): Promise<User | undefined>;
    listing(id: number): Promise<UserListing | undefined>;
    byEmail(portalId: number, email: string): Promise<UserListing | undefined>;
    /** The users of the portal with any of these addresses (the email key rule): one question for a bulk invite's batch. */
    byEmails(portalId: number, emails: readonly string[]): Promise<UserListing[]>;
    /** These users, in the order of `ids`; ids of removed users are left out. */
    listings(ids: readonly number[]): Promise<UserListing[]>;
    byAccount(portalId: number, service: string, username: string): Promise<UserListing | undefined>;
    /** Portals other than `exceptPortalId` where this account is linked. */
    accountElsewhere(service: string, username: string, exceptPortalId: number): Promise<Portal[]>;
    /** Users of the portal that tried to link with this account. */
    triedAccount(portalId: number, service: string, username: string): Promise<UserListing[]>;
    insert(u: { portalId: number; firstName: string; lastName: string; email: string; removalDueAt: string; createdAt: string }): Promise<number>;
    setEmail(id: number, email: string): Promise<void>;
    setRemovalDue(id: number, removalDueAt: string): Promise<void>;
    link(id: number, service: string, username: string, at: string): Promise<void>;
    /** Unlinked users of the scope past their removal date with no valid link, oldest id first. */
    prunable(scope: { portalId?: number; afterId?: number }, now: string, limit: number): Promise<UserListing[]>;
    /** Users of the portal with the status at `now`, ids after `afterId` and up to `throughId`, oldest id first: one page of a removal. */
    withStatus(scope: { portalId: number; status: StatusFilter; afterId: number; throughId: number }, now: string, limit: number): Promise<UserListing[]>;
    /** The highest user id given so far (0 for none). */
    lastId(): Promise<number>;
    /** Removes the users and everything of theirs but audit and events. */
    remove(ids: number[]): Promise<void>;
  };
  registrations: {
    get(id: number): Promise<Registration | undefined>;
    active(userId: number): Promise<Registration | undefined>;
    ofUser(userId: number): Promise<Registration[]>;
    /** The newest registration of the user made after `id`. */
    newestAfter(userId: number, id: number): Promise<Registration | undefined>;
    insert(r: { userId: number; email: string; createdAt: string; expiresAt: string }): Promise<number>;
    /** Retires the user's active registration: its links stop working and its unsent emails are dropped. */
    supersedeActive(userId: number, at: string): Promise<Registration | undefined>;
    markUsed(id: number, at: string, service: string, username: string): Promise<void>;
    /**
     * A new link for the registration (its email goes out again): its earlier tokens retire at `at`, the token
     * `digest` is minted then, and the link's expiry restarts at `expiresAt`.
     */
    renewLink(id: number, digest: Buffer, at: string, expiresAt: string): Promise<void>;
    /** Active registrations past expiry that no event has recorded as expired yet. */
    newlyExpired(now: string, limit: number): Promise<{ registration: Registration; user: UserListing }[]>;
    /** The same, among the active registrations of these users only (prune records them as it removes their users). */
    newlyExpiredOf(userIds: number[], now: string): Promise<Registration[]>;
    markExpiryRecorded(ids: number[]): Promise<void>;
  };
  tokens: {
    byDigest(digest: Buffer): Promise<LinkToken | undefined>;
    /** Where a link leads: the token, its registration, the registration's user and portal (fewer statements than asking each; one round trip on PostgreSQL). */
    target(digest: Buffer): Promise<{ token: LinkToken; registration: Registration; user: UserListing; portal: Portal } | undefined>;
    insert(digest: Buffer, registrationId: number, at: string): Promise<void>;
    retireOthers(registrationId: number, keep: Buffer, at: string): Promise<void>;
  };
  outbox: {
    get(id: number): Promise<OutboxMessage | undefined>;
    enqueue(registrationId: number, kind: MessageKind, at: string): Promise<number>;
    /**
     * Takes the message for delivery (attempts + 1) unless it was sent meanwhile, is gone or failed, or a live claim holds it;
     * with the registration it belongs to, its user and portal (on PostgreSQL one statement asks for all four).
     */
    claim(
      id: number,
      claimant: string,
      claimedAt: string,
      at: string,
      isStale: (claimedBy: string, claimedAt: string) => boolean,
    ): Promise<ClaimedRow | 'sent' | 'gone' | 'busy'>;
    /** The message went out; a registration email's registration is marked sent with it. */
    markSent(id: number, at: string): Promise<void>;
    markUnsent(id: number, state: 'queued' | 'failed', error: string, at: string, nextAttemptAt: string | null): Promise<void>;
    /** Undoes `claimant`'s claims of messages it never tried: unclaimed, attempts - 1. */
    release(ids: readonly number[], claimant: string): Promise<void>;
    remove(id: number): Promise<void>;
    /** Queued messages of the given registrations that wait for delivery. */
    queuedFor(registrationIds: number[]): Promise<number[]>;
    ofUser(userId: number): Promise<OutboxMessage[]>;
    requeueFailed(ids: number[], at: string): Promise<void>;
  };
  linkAttempts: {
    record(a: Omit<LinkAttempt, 'id'>): Promise<void>;
    ofUser(userId: number): Promise<LinkAttempt[]>;
  };
  linkViews: {
    record(v: Omit<LinkView, 'id'>): Promise<void>;
    ofUser(userId: number): Promise<LinkView[]>;
  };
  notices: {
    /**
     * Records that notice `step` of `kind` is sent for the registration, unless
     * one of the same kind with this step or a later one is recorded already
     * (a later reminder makes an earlier one moot). False when it was. Inside a
     * write transaction this is what makes each notice happen once, whatever
     * else runs at the same time.
     */
    claim(registrationId: number, kind: NoticeKind, step: number, at: string): Promise<boolean>;
    /**
     * Unlinked users of the portal whose active registration's email went out
     * at or before `sentBefore` and whose link is still valid at `now`, with
     * the reminder steps recorded for that registration; user id > afterUserId,
     * in id order.
     */
    reminderCandidates(q: {
      portalId: number;
      now: string;
      sentBefore: string;
      afterUserId: number;
      limit: number;
    }): Promise<{ user: UserListing; registration: Registration; sentSteps: number[] }[]>;
    /**
     * Unlinked users of the portal whose removal date — the later of their
     * removal date and their active link's expiry, as prune judges it — falls
     * after `now` and at or before `removalBefore`, and whose active
     * registration has no removal warning yet; user id > afterUserId, in id order.
     */
    warningCandidates(q: {
      portalId: number;
      now: string;
      removalBefore: string;
      afterUserId: number;
      limit: number;
    }): Promise<{ user: UserListing; registration: Registration; removalAt: string }[]>;
  };
  audit: {
    append(e: AuditEntry): Promise<void>;
    accountChanges(userId: number): Promise<AuditRecord[]>;
    /** User ids the trail knows by this id or address (also removed users). */
    userIdsFor(ref: string): Promise<number[]>;
    /** The last removal (prune, users remove) from the portal of a user with this id or address, if the trail has one. */
    lastRemoval(portal: string, ref: { id: number } | { email: string }): Promise<AuditRecord | undefined>;
  };
  events: {
    /** Ids are given in commit order (a reader's cursor never skips one); the store may hand them out at COMMIT, so none is returned. */
    append(e: NewEvent): Promise<void>;
    since(cursor: number, limit: number, filter?: { types?: readonly string[] }): Promise<LifecycleEvent[]>;
    last(): Promise<number>;
  };
  webhooks: {
    /**
     * Takes the delivery lease of the webhook for `holder` until `until` (real
     * time), unless another holder has it and `isStale` says it is still held.
     * One process at a time delivers a webhook, which keeps events in order per
     * user. Creates the webhook's record on first use (its queue then starts at
     * the first event of the log).
     */
    lease(webhook: string, holder: string, until: string, isStale: (holder: string, until: string) => boolean): Promise<boolean>;
    /** Gives the lease up (if `holder` has it). */
    release(webhook: string, holder: string): Promise<void>;
    /**
     * Queues the events after the webhook's cursor whose type is in `types`
     * (all when undefined), due at `at`, and moves the cursor past at most
     * `limit` events; `scanned` < `limit` means it has caught up.
     */
    enqueue(webhook: string, types: readonly string[] | undefined, limit: number, at: string): Promise<{ scanned: number; queued: number }>;
    /**
     * Pending deliveries due at `now`, each the oldest pending one of its user
     * (a later event of a user waits for the earlier one), oldest first.
     */
    due(webhook: string, now: string, limit: number): Promise<(WebhookDelivery & { event: LifecycleEvent })[]>;
    markDelivered(id: number, at: string): Promise<void>;
    /** Counts an attempt that failed: pending again from `nextAttemptAt`, or dead (no more attempts). */
    markFailed(id: number, error: string, nextAttemptAt: string, dead: boolean): Promise<void>;
    /** Dead deliveries of the webhook (of every webhook when undefined) become pending again, due at `at`, attempts from 0; returns how many. */
    retryDead(webhook: string | undefined, at: string): Promise<number>;
    /** Every webhook the store has queued for, with its pending and dead deliveries. */
    queues(): Promise<WebhookQueue[]>;
  };
}

/** A finding about the store itself, for doctor. */
export interface StoreCheck {
  name: string;
  status: 'ok' | 'warn' | 'fail';
  detail: string;
}

export interface Store extends AsyncDisposable {
  readonly kind: StoreKind;
  /** Where the store is: a path, or a URL with the password masked. */
  readonly location: string;
  /** Reads; no lock is taken. */
  read<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  /**
   * One transaction: all of fn's writes or none. Read-then-write is safe
   * against other processes (SQLite: BEGIN IMMEDIATE; PostgreSQL: a
   * snapshot whose conflicting writes are retried). fn may run more than once
   * when PostgreSQL reports a conflict, so it must not have effects outside
   * the store.
   */
  write<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  /** The users of a portal matching the query, in batches, streamed. */
  listUsers(q: UserQuery): AsyncIterable<UserListing[]>;
  countUsers(q: Omit<UserQuery, 'sort' | 'limit'>): Promise<number>;
  listAudit(q: AuditQuery): AsyncIterable<AuditRecord[]>;
  listEvents(q: { since: number; portal?: string; types?: readonly string[] }): AsyncIterable<LifecycleEvent[]>;
  /** Undelivered messages: queued first (oldest first), then failed. */
  listPending(q: { portalId?: number }): AsyncIterable<PendingMessage[]>;
  /** `store copy`, the source: fn reads every table from one consistent snapshot. */
  dump<T>(fn: (d: StoreDump) => Promise<T>): Promise<T>;
  /**
   * `store copy`, the target: in one transaction, refuses a store that holds
   * any row (store_not_empty), inserts every row of `from` with its id, sets
   * the id sequences past every id the source ever handed out, and checks
   * each table's count against the source before committing.
   */
  load(from: StoreDump, onTable?: (table: TableName, rows: number) => void): Promise<TableCounts>;
  info(): Promise<StoreInfo>;
  /** What doctor reports about the store beyond its version: permissions, integrity, round-trip latency. */
  checks(): Promise<StoreCheck[]>;
  close(): Promise<void>;
}
