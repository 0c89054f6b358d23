-- Round two of the store:
--  * ids of users, registrations and outbox messages are never reused
--    (AUTOINCREMENT), even after prune or `users remove` empties the table;
--  * case-insensitive keys follow Unicode's case rules (portalctl_fold, the
--    function portalctl registers on every connection), and users carry keys
--    for search and for sorting by name;
--  * reminders, removal warnings, link views, lifecycle events and webhook
--    deliveries get their tables.
-- Runs with foreign keys off (the runner turns them off around it) so that
-- rebuilding a table does not cascade into its children.

PRAGMA application_id = 1349481076; -- "Port"

-- portals: reminder and warning schedule.
ALTER TABLE portals ADD COLUMN remind_days TEXT NOT NULL DEFAULT '2,5';
ALTER TABLE portals ADD COLUMN warn_days INTEGER NOT NULL DEFAULT 7 CHECK (warn_days >= 0);

-- users, rebuilt with AUTOINCREMENT and the new keys.
CREATE TABLE users_next (
  id             INTEGER PRIMARY KEY AUTOINCREMENT,
  portal_id      INTEGER NOT NULL REFERENCES portals(id),
  first_name     TEXT NOT NULL,
  last_name      TEXT NOT NULL,
  email          TEXT NOT NULL,
  email_key      TEXT NOT NULL,
  login_service  TEXT,
  username       TEXT,
  username_key   TEXT,
  linked_at      TEXT,
  removal_due_at TEXT,
  created_at     TEXT NOT NULL,
  search_key     TEXT NOT NULL,   -- folded "first last", address and username, for --search
  name_key       TEXT NOT NULL,   -- folded "last, first", for --sort name
  CHECK ((login_service IS NULL) = (username IS NULL))
);
INSERT INTO users_next (id, portal_id, first_name, last_name, email, email_key, login_service, username, username_key,
                        linked_at, removal_due_at, created_at, search_key, name_key)
  SELECT id, portal_id, first_name, last_name, email, portalctl_fold(email), login_service, username,
         CASE WHEN username IS NULL THEN NULL ELSE portalctl_fold(username) END,
         linked_at, removal_due_at, created_at,
         portalctl_search_key(first_name, last_name, email, username), portalctl_name_key(first_name, last_name)
  FROM users;
DROP TABLE users;
ALTER TABLE users_next RENAME TO users;
CREATE UNIQUE INDEX users_portal_email ON users(portal_id, email_key);
CREATE UNIQUE INDEX users_portal_account ON users(portal_id, login_service, username_key) WHERE login_service IS NOT NULL;
CREATE INDEX users_account ON users(login_service, username_key) WHERE login_service IS NOT NULL;
CREATE INDEX users_removal ON users(removal_due_at) WHERE login_service IS NULL;
CREATE INDEX users_portal_name ON users(portal_id, name_key);

-- registrations, rebuilt with AUTOINCREMENT; expiry_recorded marks the
-- registrations whose expiry an `expired` event has recorded.
CREATE TABLE registrations_next (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id         INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  email           TEXT NOT NULL,
  created_at      TEXT NOT NULL,
  sent_at         TEXT,
  expires_at      TEXT NOT NULL,
  state           TEXT NOT NULL CHECK (state IN ('active', 'superseded', 'used')),
  superseded_at   TEXT,
  used_at         TEXT,
  used_service    TEXT,
  used_username   TEXT,
  expiry_recorded INTEGER NOT NULL DEFAULT 0
);
INSERT INTO registrations_next (id, user_id, email, created_at, sent_at, expires_at, state, superseded_at, used_at,
                                used_service, used_username, expiry_recorded)
  SELECT id, user_id, email, created_at, sent_at, expires_at, state, superseded_at, used_at, used_service, used_username,
         CASE WHEN state = 'active' THEN 0 ELSE 1 END
  FROM registrations;
DROP TABLE registrations;
ALTER TABLE registrations_next RENAME TO registrations;
CREATE UNIQUE INDEX registrations_one_active ON registrations(user_id) WHERE state = 'active';
CREATE INDEX registrations_user ON registrations(user_id, id);
CREATE INDEX registrations_active_expiry ON registrations(expires_at) WHERE state = 'active';
CREATE INDEX registrations_expiry_unrecorded ON registrations(expires_at) WHERE state = 'active' AND expiry_recorded = 0;

-- outbox, rebuilt with AUTOINCREMENT; a kind per message and a backoff time.
CREATE TABLE outbox_next (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  registration_id INTEGER NOT NULL REFERENCES registrations(id) ON DELETE CASCADE,
  kind            TEXT NOT NULL DEFAULT 'registration' CHECK (kind IN ('registration', 'reminder', 'removal_warning')),
  state           TEXT NOT NULL CHECK (state IN ('queued', 'sent', 'failed')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  last_error      TEXT,
  created_at      TEXT NOT NULL,
  updated_at      TEXT NOT NULL,
  sent_at         TEXT,
  next_attempt_at TEXT,
  claimed_by      TEXT,
  claimed_at      TEXT
);
INSERT INTO outbox_next (id, registration_id, kind, state, attempts, last_error, created_at, updated_at, sent_at, claimed_by, claimed_at)
  SELECT id, registration_id, 'registration', state, attempts, last_error, created_at, updated_at, sent_at, claimed_by, claimed_at
  FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_next RENAME TO outbox;
CREATE INDEX outbox_pending ON outbox(state, id) WHERE state <> 'sent';
CREATE INDEX outbox_registration ON outbox(registration_id);

-- Ids that prune removed before this migration must not come back: start each
-- sequence above every id the audit trail has seen.
DELETE FROM sqlite_sequence WHERE name IN ('users', 'registrations', 'outbox');
INSERT INTO sqlite_sequence (name, seq) VALUES
  ('users', max(coalesce((SELECT max(id) FROM users), 0), coalesce((SELECT max(user_id) FROM audit), 0))),
  ('registrations', max(coalesce((SELECT max(id) FROM registrations), 0),
                        coalesce((SELECT max(CAST(json_extract(after, '$.registrationId') AS INTEGER)) FROM audit WHERE json_valid(after)), 0))),
  ('outbox', coalesce((SELECT max(id) FROM outbox), 0));

-- Link attempts: the account key for look-ups by account.
ALTER TABLE link_attempts ADD COLUMN username_key TEXT;
UPDATE link_attempts SET username_key = portalctl_fold(username);
CREATE INDEX link_attempts_account ON link_attempts(service, username_key);

-- Every time a Step 2 link is opened (by a person or a mail scanner): it never uses the link up.
CREATE TABLE link_views (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  at              TEXT NOT NULL,
  user_id         INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  registration_id INTEGER NOT NULL REFERENCES registrations(id) ON DELETE CASCADE,
  client_address  TEXT,
  user_agent      TEXT
);
CREATE INDEX link_views_user ON link_views(user_id, id);
CREATE INDEX link_views_registration ON link_views(registration_id);

-- Reminders and removal warnings sent (or being sent) for a registration: the
-- primary key makes each one happen once, whatever runs at the same time.
CREATE TABLE notices (
  registration_id INTEGER NOT NULL REFERENCES registrations(id) ON DELETE CASCADE,
  kind            TEXT NOT NULL CHECK (kind IN ('reminder', 'removal_warning')),
  step            INTEGER NOT NULL,
  created_at      TEXT NOT NULL,
  PRIMARY KEY (registration_id, kind, step)
) WITHOUT ROWID;

-- The lifecycle event log. No foreign keys: a removed user's events stay.
CREATE TABLE events (
  id      INTEGER PRIMARY KEY AUTOINCREMENT,
  at      TEXT NOT NULL,
  type    TEXT NOT NULL,
  portal  TEXT NOT NULL,
  user_id INTEGER,
  email   TEXT,
  data    TEXT NOT NULL            -- JSON object
);
CREATE INDEX events_user ON events(user_id, id);

-- Webhooks, by URL, with how far events have been queued for each, and a
-- lease so that one process at a time delivers a webhook (order per user).
CREATE TABLE webhooks (
  url              TEXT PRIMARY KEY,
  enqueued_through INTEGER NOT NULL DEFAULT 0,
  leased_by        TEXT,
  leased_until     TEXT
);
CREATE TABLE webhook_deliveries (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  webhook         TEXT NOT NULL REFERENCES webhooks(url) ON DELETE CASCADE,
  event_id        INTEGER NOT NULL,
  user_id         INTEGER,
  state           TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'dead')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at TEXT NOT NULL,
  last_error      TEXT,
  delivered_at    TEXT,
  UNIQUE (webhook, event_id)
);
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries(webhook, state, id) WHERE state = 'pending';
