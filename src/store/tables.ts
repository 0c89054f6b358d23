// The tables of a store as `store copy` moves them: every table, its columns
// and what kind of value each holds, in an order that satisfies the foreign
// keys. Both stores read and write rows in this neutral form (TableRow), so a
// copy works in either direction.

import { StoreError } from '../errors.js';

export type ColumnKind = 'int' | 'text' | 'time' | 'json' | 'bytea' | 'bool';

export interface TableSpec {
  name: TableName;
  /** Columns in order, with their kind. */
  columns: [string, ColumnKind][];
  /** The primary key, for a stable order. */
  key: string[];
  /** The table's rows get ids from a sequence that must never go back. */
  identity: boolean;
}

export const TABLE_NAMES = [
  'portals',
  'users',
  'registrations',
  'link_tokens',
  'outbox',
  'link_attempts',
  'link_views',
  'notices',
  'audit',
  'events',
  'webhooks',
  'webhook_deliveries',
] as const;
export type TableName = (typeof TABLE_NAMES)[number];

/**
 * A row in the neutral form: times as ISO 8601 UTC text, JSON as its text,
 * digests as Buffers, flags as 0/1, the reminder days as "2,5".
 */
export type TableRow = Record<string, string | number | Buffer | null>;

const T = (name: TableName, key: string[], identity: boolean, columns: [string, ColumnKind][]): TableSpec => ({ name, key, identity, columns });

export const TABLES: TableSpec[] = [
  T('portals', ['id'], true, [
    ['id', 'int'],
    ['slug', 'text'],
    ['name', 'text'],
    ['base_url', 'text'],
    ['admin_email', 'text'],
    ['register_url', 'text'],
    ['link_days', 'int'],
    ['removal_days', 'int'],
    ['time_zone', 'text'],
    ['remind_days', 'text'],
    ['warn_days', 'int'],
    ['created_at', 'time'],
  ]),
  T('users', ['id'], true, [
    ['id', 'int'],
    ['portal_id', 'int'],
    ['first_name', 'text'],
    ['last_name', 'text'],
    ['email', 'text'],
    ['email_key', 'text'],
    ['login_service', 'text'],
    ['username', 'text'],
    ['username_key', 'text'],
    ['linked_at', 'time'],
    ['removal_due_at', 'time'],
    ['created_at', 'time'],
    ['search_key', 'text'],
    ['name_key', 'text'],
  ]),
  T('registrations', ['id'], true, [
    ['id', 'int'],
    ['user_id', 'int'],
    ['email', 'text'],
    ['created_at', 'time'],
    ['sent_at', 'time'],
    ['expires_at', 'time'],
    ['state', 'text'],
    ['superseded_at', 'time'],
    ['used_at', 'time'],
    ['used_service', 'text'],
    ['used_username', 'text'],
    ['expiry_recorded', 'bool'],
  ]),
  T('link_tokens', ['digest'], false, [
    ['digest', 'bytea'],
    ['registration_id', 'int'],
    ['minted_at', 'time'],
    ['retired_at', 'time'],
  ]),
  T('outbox', ['id'], true, [
    ['id', 'int'],
    ['registration_id', 'int'],
    ['kind', 'text'],
    ['state', 'text'],
    ['attempts', 'int'],
    ['last_error', 'text'],
    ['created_at', 'time'],
    ['updated_at', 'time'],
    ['sent_at', 'time'],
    ['next_attempt_at', 'time'],
    ['claimed_by', 'text'],
    ['claimed_at', 'time'],
  ]),
  T('link_attempts', ['id'], true, [
    ['id', 'int'],
    ['at', 'time'],
    ['user_id', 'int'],
    ['registration_id', 'int'],
    ['service', 'text'],
    ['username', 'text'],
    ['outcome', 'text'],
    ['actor', 'text'],
    ['username_key', 'text'],
  ]),
  T('link_views', ['id'], true, [
    ['id', 'int'],
    ['at', 'time'],
    ['user_id', 'int'],
    ['registration_id', 'int'],
    ['client_address', 'text'],
    ['user_agent', 'text'],
  ]),
  T('notices', ['registration_id', 'kind', 'step'], false, [
    ['registration_id', 'int'],
    ['kind', 'text'],
    ['step', 'int'],
    ['created_at', 'time'],
  ]),
  T('audit', ['id'], true, [
    ['id', 'int'],
    ['at', 'time'],
    ['actor', 'text'],
    ['action', 'text'],
    ['portal', 'text'],
    ['user_id', 'int'],
    ['user_email', 'text'],
    ['before', 'json'],
    ['after', 'json'],
  ]),
  T('events', ['id'], true, [
    ['id', 'int'],
    ['at', 'time'],
    ['type', 'text'],
    ['portal', 'text'],
    ['user_id', 'int'],
    ['email', 'text'],
    ['data', 'json'],
  ]),
  T('webhooks', ['url'], false, [
    ['url', 'text'],
    ['enqueued_through', 'int'],
    ['leased_by', 'text'],
    ['leased_until', 'time'],
  ]),
  T('webhook_deliveries', ['id'], true, [
    ['id', 'int'],
    ['webhook', 'text'],
    ['event_id', 'int'],
    ['user_id', 'int'],
    ['state', 'text'],
    ['attempts', 'int'],
    ['next_attempt_at', 'time'],
    ['last_error', 'text'],
    ['delivered_at', 'time'],
  ]),
];

/** Rows of one store, read from one consistent snapshot: the source of `store copy`. */
export interface StoreDump {
  /** The rows of a table in primary-key order, in batches. */
  rows(table: TableName): AsyncIterable<TableRow[]>;
  count(table: TableName): Promise<number>;
  /** The highest id each table with ids has ever handed out (also ids of rows removed since). */
  highWater(): Promise<Partial<Record<TableName, number>>>;
}

/** A store holding no record at all? (`store copy` refuses any other target.) */
export type TableCounts = Record<TableName, number>;

/** `store copy`'s refusal of a target that holds rows already: which tables, how many rows each. */
export function targetNotEmpty(location: string, held: readonly (readonly [TableName, number])[]): StoreError {
  const rows = held.map(([table, n]) => `${table} ${n}`).join(', ');
  return new StoreError('store_not_empty', `The target store ${location} is not empty (rows: ${rows}); copy only into a new, empty store. Nothing was copied.`);
}
