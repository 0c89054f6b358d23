-- outbox, rebuilt with the same columns, rows, ids and indexes; only its two
-- CHECKs are written as comparisons instead of IN lists. SQLite checks an IN
-- list of three values against a temporary table it builds for every row
-- written, and with two of them each insert allocated and freed about 100 KB
-- (a brk system call and fresh pages every time): ~100 us an insert instead
-- of ~2 us, most of the time a bulk invite spends recording its invitations.
-- Runs with foreign keys off (the runner turns them off around it).

CREATE TABLE outbox_next (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  registration_id INTEGER NOT NULL REFERENCES registrations(id) ON DELETE CASCADE,
  kind            TEXT NOT NULL DEFAULT 'registration' CHECK (kind = 'registration' OR kind = 'reminder' OR kind = 'removal_warning'),
  state           TEXT NOT NULL CHECK (state = 'queued' OR state = 'sent' OR state = 'failed'),
  attempts        INTEGER NOT NULL DEFAULT 0,
  last_error      TEXT,
  created_at      TEXT NOT NULL,
  updated_at      TEXT NOT NULL,
  sent_at         TEXT,
  next_attempt_at TEXT,
  claimed_by      TEXT,
  claimed_at      TEXT
);
INSERT INTO outbox_next (id, registration_id, kind, state, attempts, last_error, created_at, updated_at, sent_at, next_attempt_at, claimed_by, claimed_at)
  SELECT id, registration_id, kind, state, attempts, last_error, created_at, updated_at, sent_at, next_attempt_at, claimed_by, claimed_at
  FROM outbox;

-- Ids are never reused: the sequence goes on from where the old table's was,
-- also when its newest messages are gone (DROP TABLE forgets the old one's).
DELETE FROM sqlite_sequence WHERE name = 'outbox_next';
INSERT INTO sqlite_sequence (name, seq)
  SELECT 'outbox_next', max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'outbox'), 0), coalesce((SELECT max(id) FROM outbox_next), 0));

DROP TABLE outbox;
ALTER TABLE outbox_next RENAME TO outbox;
CREATE INDEX outbox_pending ON outbox(state, id) WHERE state <> 'sent';
CREATE INDEX outbox_registration ON outbox(registration_id);
