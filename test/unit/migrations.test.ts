import { describe, expect, it } from 'vitest';
import { copyFileSync, mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { latestSchemaVersion, migrate, MIGRATIONS_DIR, openDatabase } from '../../src/store/db.js';

describe('migrations', () => {
  it('upgrades a store made by an earlier version in place, keeping its data', () => {
    const dir = mkdtempSync(join(tmpdir(), 'portalctl-mig-'));
    try {
      const old = join(dir, 'v1');
      mkdirSync(old);
      copyFileSync(join(MIGRATIONS_DIR, '0001_initial.sql'), join(old, '0001_initial.sql'));
      const path = join(dir, 'p.db');
      const v1 = new Database(path);
      migrate(v1, old);
      expect(v1.pragma('user_version', { simple: true })).toBe(1);
      v1.prepare(
        `INSERT INTO portals (slug, name, base_url, admin_email, register_url, created_at) VALUES ('g','G','https://g.example.org','a@example.org','https://g.example.org/register','2026-01-01T00:00:00Z')`,
      ).run();
      v1.close();

      const db = openDatabase(path);
      expect(db.pragma('user_version', { simple: true })).toBe(latestSchemaVersion());
      expect(latestSchemaVersion()).toBeGreaterThanOrEqual(2);
      expect((db.prepare('SELECT slug FROM portals').get() as { slug: string }).slug).toBe('g');
      expect(db.prepare("SELECT name FROM pragma_table_info('outbox') WHERE name = 'claimed_by'").get()).toBeTruthy();
      db.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('applies versions in numeric order, not text order', () => {
    const dir = mkdtempSync(join(tmpdir(), 'portalctl-mig-'));
    try {
      writeFileSync(join(dir, '0002_b.sql'), 'CREATE TABLE b (x); INSERT INTO a VALUES (2);');
      writeFileSync(join(dir, '10_c.sql'), 'INSERT INTO a VALUES (10);');
      writeFileSync(join(dir, '1_a.sql'), 'CREATE TABLE a (v);');
      const db = new Database(':memory:');
      migrate(db, dir);
      expect(db.pragma('user_version', { simple: true })).toBe(10);
      expect((db.prepare('SELECT group_concat(v) AS v FROM a').get() as { v: string }).v).toBe('2,10');
      db.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
