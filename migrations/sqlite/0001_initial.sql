-- The first schema of the portalctl store. Times are ISO 8601 UTC text.

CREATE TABLE portals (
  id            INTEGER PRIMARY KEY,
  slug          TEXT NOT NULL UNIQUE,
  name          TEXT NOT NULL,
  base_url      TEXT NOT NULL,
  admin_email   TEXT NOT NULL,
  register_url  TEXT NOT NULL,
  link_days     INTEGER NOT NULL DEFAULT 7 CHECK (link_days >= 1),
  removal_days  INTEGER NOT NULL DEFAULT 30 CHECK (removal_days >= 0),
  time_zone     TEXT,             -- zone the email states the expiry in; NULL = the machine's
  created_at    TEXT NOT NULL
);

-- A portal user profile. Unlinked while login_service is NULL.
CREATE TABLE users (
  id             INTEGER PRIMARY KEY,
  portal_id      INTEGER NOT NULL REFERENCES portals(id),
  first_name     TEXT NOT NULL,
  last_name      TEXT NOT NULL,
  email          TEXT NOT NULL,
  email_key      TEXT NOT NULL,   -- lower-cased, for case-insensitive uniqueness
  login_service  TEXT,
  username       TEXT,
  username_key   TEXT,
  linked_at      TEXT,
  removal_due_at TEXT,            -- NULL once linked
  created_at     TEXT NOT NULL,
  CHECK ((login_service IS NULL) = (username IS NULL))
);
CREATE UNIQUE INDEX users_portal_email ON users(portal_id, email_key);
CREATE UNIQUE INDEX users_portal_account ON users(portal_id, login_service, username_key)
  WHERE login_service IS NOT NULL;
CREATE INDEX users_removal ON users(removal_due_at) WHERE login_service IS NULL;
CREATE INDEX users_portal_name ON users(portal_id, last_name, first_name);

-- One registration email. At most one active registration per user.
CREATE TABLE registrations (
  id             INTEGER PRIMARY KEY,
  user_id        INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  email          TEXT NOT NULL,
  created_at     TEXT NOT NULL,
  sent_at        TEXT,            -- set when the email was accepted for delivery
  expires_at     TEXT NOT NULL,
  state          TEXT NOT NULL CHECK (state IN ('active', 'superseded', 'used')),
  superseded_at  TEXT,
  used_at        TEXT,
  used_service   TEXT,
  used_username  TEXT
);
CREATE UNIQUE INDEX registrations_one_active ON registrations(user_id) WHERE state = 'active';
CREATE INDEX registrations_user ON registrations(user_id, id);
CREATE INDEX registrations_active_expiry ON registrations(expires_at) WHERE state = 'active';

-- Digests of Step 2 tokens. A token is minted each time its email is handed to
-- the mail server; a retry mints a fresh one and retires the earlier one.
CREATE TABLE link_tokens (
  digest          BLOB PRIMARY KEY,
  registration_id INTEGER NOT NULL REFERENCES registrations(id) ON DELETE CASCADE,
  minted_at       TEXT NOT NULL,
  retired_at      TEXT
) WITHOUT ROWID;
CREATE INDEX link_tokens_registration ON link_tokens(registration_id);

-- The mail queue. The message is rendered at delivery time, so no readable
-- token is ever stored.
CREATE TABLE outbox (
  id              INTEGER PRIMARY KEY,
  registration_id INTEGER NOT NULL REFERENCES registrations(id) ON DELETE CASCADE,
  state           TEXT NOT NULL CHECK (state IN ('queued', 'sent', 'failed')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  last_error      TEXT,
  created_at      TEXT NOT NULL,
  updated_at      TEXT NOT NULL,
  sent_at         TEXT
);
CREATE INDEX outbox_pending ON outbox(state, id) WHERE state <> 'sent';
CREATE INDEX outbox_registration ON outbox(registration_id);

-- Every attempt to redeem a link that could be tied to a user, and its outcome.
CREATE TABLE link_attempts (
  id              INTEGER PRIMARY KEY,
  at              TEXT NOT NULL,
  user_id         INTEGER REFERENCES users(id) ON DELETE CASCADE,
  registration_id INTEGER REFERENCES registrations(id) ON DELETE CASCADE,
  service         TEXT NOT NULL,
  username        TEXT NOT NULL,
  outcome         TEXT NOT NULL,
  actor           TEXT NOT NULL
);
CREATE INDEX link_attempts_user ON link_attempts(user_id, id);

-- The audit trail. No foreign keys: a removed user's records stay.
CREATE TABLE audit (
  id          INTEGER PRIMARY KEY,
  at          TEXT NOT NULL,
  actor       TEXT NOT NULL,
  action      TEXT NOT NULL,
  portal      TEXT,
  user_id     INTEGER,
  user_email  TEXT,
  before      TEXT,             -- JSON
  after       TEXT              -- JSON
);
CREATE INDEX audit_user ON audit(user_id, id);
CREATE INDEX audit_at ON audit(at);
