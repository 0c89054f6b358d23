-- The portalctl store on PostgreSQL: the same tables, columns and keys as the
-- SQLite store at its migration 4 (migrations/sqlite/), in PostgreSQL's terms.
--  * Ids are identity columns: a sequence never hands out an id twice, so a
--    user, registration or outbox id is never reused, even after prune.
--  * Times are timestamptz; the store reads and writes them as ISO 8601 UTC.
--  * Keys (email_key, username_key, search_key, name_key) are computed by
--    portalctl (src/store/keys.ts) and compared byte for byte (COLLATE "C"),
--    so sorting and look-ups agree with the SQLite store whatever the
--    database's locale.
--  * JSON stays `json` (not jsonb): the text, and so the key order, is kept.
-- Applied in one transaction under an advisory lock (src/store/postgres/migrate.ts).

CREATE TABLE portals (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  slug          text COLLATE "C" NOT NULL UNIQUE,
  name          text NOT NULL,
  base_url      text NOT NULL,
  admin_email   text NOT NULL,
  register_url  text NOT NULL,
  link_days     integer NOT NULL DEFAULT 7 CHECK (link_days >= 1),
  removal_days  integer NOT NULL DEFAULT 30 CHECK (removal_days >= 0),
  time_zone     text,
  remind_days   text NOT NULL DEFAULT '2,5',
  warn_days     integer NOT NULL DEFAULT 7 CHECK (warn_days >= 0),
  created_at    timestamptz NOT NULL
);

CREATE TABLE users (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  portal_id      bigint NOT NULL REFERENCES portals(id),
  first_name     text NOT NULL,
  last_name      text NOT NULL,
  email          text NOT NULL,
  email_key      text COLLATE "C" NOT NULL,
  login_service  text COLLATE "C",
  username       text,
  username_key   text COLLATE "C",
  linked_at      timestamptz,
  removal_due_at timestamptz,
  created_at     timestamptz NOT NULL,
  search_key     text COLLATE "C" NOT NULL,
  name_key       text COLLATE "C" NOT NULL,
  CHECK ((login_service IS NULL) = (username IS NULL))
);
CREATE UNIQUE INDEX users_portal_email ON users(portal_id, email_key);
CREATE UNIQUE INDEX users_portal_account ON users(portal_id, login_service, username_key) WHERE login_service IS NOT NULL;
CREATE INDEX users_account ON users(login_service, username_key) WHERE login_service IS NOT NULL;
CREATE INDEX users_removal ON users(removal_due_at) WHERE login_service IS NULL;
CREATE INDEX users_portal_name ON users(portal_id, name_key);

CREATE TABLE registrations (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id         bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  email           text NOT NULL,
  created_at      timestamptz NOT NULL,
  sent_at         timestamptz,
  expires_at      timestamptz NOT NULL,
  state           text NOT NULL CHECK (state IN ('active', 'superseded', 'used')),
  superseded_at   timestamptz,
  used_at         timestamptz,
  used_service    text,
  used_username   text,
  expiry_recorded boolean NOT NULL DEFAULT false
);
CREATE UNIQUE INDEX registrations_one_active ON registrations(user_id) WHERE state = 'active';
CREATE INDEX registrations_user ON registrations(user_id, id);
CREATE INDEX registrations_active_expiry ON registrations(expires_at) WHERE state = 'active';
CREATE INDEX registrations_expiry_unrecorded ON registrations(expires_at) WHERE state = 'active' AND NOT expiry_recorded;

CREATE TABLE link_tokens (
  digest          bytea PRIMARY KEY,
  registration_id bigint NOT NULL REFERENCES registrations(id) ON DELETE CASCADE,
  minted_at       timestamptz NOT NULL,
  retired_at      timestamptz
);
CREATE INDEX link_tokens_registration ON link_tokens(registration_id);

CREATE TABLE outbox (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  registration_id bigint NOT NULL REFERENCES registrations(id) ON DELETE CASCADE,
  kind            text NOT NULL DEFAULT 'registration' CHECK (kind IN ('registration', 'reminder', 'removal_warning')),
  state           text NOT NULL CHECK (state IN ('queued', 'sent', 'failed')),
  attempts        integer NOT NULL DEFAULT 0,
  last_error      text,
  created_at      timestamptz NOT NULL,
  updated_at      timestamptz NOT NULL,
  sent_at         timestamptz,
  next_attempt_at timestamptz,
  claimed_by      text,
  claimed_at      timestamptz
);
CREATE INDEX outbox_pending ON outbox(state, id) WHERE state <> 'sent';
CREATE INDEX outbox_registration ON outbox(registration_id);

CREATE TABLE link_attempts (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at              timestamptz NOT NULL,
  user_id         bigint REFERENCES users(id) ON DELETE CASCADE,
  registration_id bigint REFERENCES registrations(id) ON DELETE CASCADE,
  service         text COLLATE "C" NOT NULL,
  username        text NOT NULL,
  outcome         text NOT NULL,
  actor           text NOT NULL,
  username_key    text COLLATE "C"
);
CREATE INDEX link_attempts_user ON link_attempts(user_id, id);
CREATE INDEX link_attempts_registration ON link_attempts(registration_id);
CREATE INDEX link_attempts_account ON link_attempts(service, username_key);

CREATE TABLE audit (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at          timestamptz NOT NULL,
  actor       text NOT NULL,
  action      text NOT NULL,
  portal      text,
  user_id     bigint,
  user_email  text,
  before      json,
  after       json
);
CREATE INDEX audit_user ON audit(user_id, id);
CREATE INDEX audit_at ON audit(at);
CREATE INDEX audit_user_email ON audit(lower(user_email));

CREATE TABLE link_views (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at              timestamptz NOT NULL,
  user_id         bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  registration_id bigint NOT NULL REFERENCES registrations(id) ON DELETE CASCADE,
  client_address  text,
  user_agent      text
);
CREATE INDEX link_views_user ON link_views(user_id, id);
CREATE INDEX link_views_registration ON link_views(registration_id);

-- The primary key makes each reminder or warning happen once (INSERT ... ON CONFLICT DO NOTHING).
CREATE TABLE notices (
  registration_id bigint NOT NULL REFERENCES registrations(id) ON DELETE CASCADE,
  kind            text NOT NULL CHECK (kind IN ('reminder', 'removal_warning')),
  step            integer NOT NULL,
  created_at      timestamptz NOT NULL,
  PRIMARY KEY (registration_id, kind, step)
);

-- The event log. Appends are serialised by a transaction-scoped advisory lock
-- (the store takes it before the first append of a transaction), so ids
-- become visible in increasing order and a reader's cursor never skips one.
CREATE TABLE events (
  id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at      timestamptz NOT NULL,
  type    text NOT NULL,
  portal  text NOT NULL,
  user_id bigint,
  email   text,
  data    json NOT NULL
);
CREATE INDEX events_user ON events(user_id, id);

CREATE TABLE webhooks (
  url              text COLLATE "C" PRIMARY KEY,
  enqueued_through bigint NOT NULL DEFAULT 0,
  leased_by        text,
  leased_until     timestamptz
);
CREATE TABLE webhook_deliveries (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  webhook         text COLLATE "C" NOT NULL REFERENCES webhooks(url) ON DELETE CASCADE,
  event_id        bigint NOT NULL,
  user_id         bigint,
  state           text NOT NULL CHECK (state IN ('pending', 'delivered', 'dead')),
  attempts        integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL,
  last_error      text,
  delivered_at    timestamptz,
  UNIQUE (webhook, event_id)
);
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries(webhook, state, id) WHERE state = 'pending';
