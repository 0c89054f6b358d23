// The store: rows as the portal knows them, and the few helpers every write
// path shares (immediate transactions, audit records).

import type { Statement } from 'better-sqlite3';
import type { DB } from './db.js';
import { openDatabase, storeError } from './db.js';

export interface PortalRow {
  id: number;
  slug: string;
  name: string;
  base_url: string;
  admin_email: string;
  register_url: string;
  link_days: number;
  removal_days: number;
  time_zone: string | null;
  created_at: string;
}

export interface UserRow {
  id: number;
  portal_id: number;
  first_name: string;
  last_name: string;
  email: string;
  email_key: string;
  login_service: string | null;
  username: string | null;
  username_key: string | null;
  linked_at: string | null;
  removal_due_at: string | null;
  created_at: string;
}

/** A user with what the Users overview needs: portal slug and the active registration's expiry. */
export interface UserListRow extends UserRow {
  portal: string;
  reg_expires_at: string | null;
}

export interface RegistrationRow {
  id: number;
  user_id: number;
  email: string;
  created_at: string;
  sent_at: string | null;
  expires_at: string;
  state: 'active' | 'superseded' | 'used';
  superseded_at: string | null;
  used_at: string | null;
  used_service: string | null;
  used_username: string | null;
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

/** The columns of UserListRow, for queries that list users. */
export const USER_LIST_SELECT = `
  SELECT u.*, p.slug AS portal, r.expires_at AS reg_expires_at
  FROM users u
  JOIN portals p ON p.id = u.portal_id
  LEFT JOIN registrations r ON r.user_id = u.id AND r.state = 'active'`;

export class Store {
  readonly db: DB;
  readonly path: string;
  private readonly statements = new Map<string, Statement>();

  constructor(db: DB, path: string) {
    this.db = db;
    this.path = path;
  }

  static open(path: string): Store {
    return new Store(openDatabase(path), path);
  }

  /**
   * A prepared statement, compiled once per process: a bulk invite runs the
   * same few statements for every person. Not for statements that are
   * iterated (an iterating statement cannot run again until it is done).
   */
  prepare(sql: string): Statement {
    let stmt = this.statements.get(sql);
    if (!stmt) {
      stmt = this.db.prepare(sql);
      this.statements.set(sql, stmt);
    }
    return stmt;
  }

  /** Runs fn in an IMMEDIATE transaction: read-then-write paths take the write lock first, so they never deadlock into SQLITE_BUSY. */
  write<T>(fn: () => T): T {
    try {
      return this.db.transaction(fn).immediate();
    } catch (err) {
      throw storeError(err, this.path);
    }
  }

  read<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      throw storeError(err, this.path);
    }
  }

  audit(e: AuditEntry): void {
    this.prepare(
      `INSERT INTO audit (at, actor, action, portal, user_id, user_email, before, after)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      e.at,
      e.actor,
      e.action,
      e.portal,
      e.userId,
      e.userEmail,
      e.before === undefined ? null : JSON.stringify(e.before),
      e.after === undefined ? null : JSON.stringify(e.after),
    );
  }

  portals(): PortalRow[] {
    return this.read(() => this.prepare('SELECT * FROM portals ORDER BY slug').all() as PortalRow[]);
  }

  portalBySlug(slug: string): PortalRow | undefined {
    return this.read(() => this.prepare('SELECT * FROM portals WHERE slug = ?').get(slug) as PortalRow | undefined);
  }

  portalById(id: number): PortalRow | undefined {
    return this.prepare('SELECT * FROM portals WHERE id = ?').get(id) as PortalRow | undefined;
  }

  userListRow(userId: number): UserListRow | undefined {
    return this.read(() => this.prepare(`${USER_LIST_SELECT} WHERE u.id = ?`).get(userId) as UserListRow | undefined);
  }

  registrationsOf(userId: number): RegistrationRow[] {
    return this.read(() => this.prepare('SELECT * FROM registrations WHERE user_id = ? ORDER BY id').all(userId) as RegistrationRow[]);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
