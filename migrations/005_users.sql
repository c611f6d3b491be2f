-- Who may use the web console and the REST API: people (users, signing in with a password
-- and holding browser sessions) and machines (bearer tokens). Secrets are kept only as hashes.
--
-- Grants name tenants with ON DELETE CASCADE: `callguard tenants remove --force` takes a
-- tenant's DIDs and rules with it, and now its grants too. A manager or viewer left with no
-- tenant sees nothing (the store never reads "no grants" as "everything"; only admins see all).

CREATE TABLE users (
  id            INTEGER PRIMARY KEY AUTOINCREMENT, -- never reused: sessions name users by id
  name          TEXT NOT NULL UNIQUE,              -- lower case, ^[a-z0-9][a-z0-9._-]{0,63}$
  role          TEXT NOT NULL CHECK (role IN ('admin', 'manager', 'viewer')),
  password_hash TEXT NOT NULL,                     -- scrypt$N$r$p$salt$hash (base64url)
  created_at    INTEGER NOT NULL,
  last_tenant   TEXT REFERENCES tenants (name) ON DELETE SET NULL -- the company picker's last choice
);

-- The tenants a manager or viewer may see (and a manager manage). Admins have no rows: they see all.
CREATE TABLE user_tenants (
  user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  tenant  TEXT NOT NULL REFERENCES tenants (name) ON DELETE CASCADE,
  PRIMARY KEY (user_id, tenant)
) WITHOUT ROWID;
CREATE INDEX user_tenants_by_tenant ON user_tenants (tenant); -- so removing a tenant finds its grants

CREATE TABLE tokens (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  name         TEXT NOT NULL UNIQUE,
  role         TEXT NOT NULL CHECK (role IN ('admin', 'manager', 'viewer')),
  token_hash   TEXT NOT NULL UNIQUE,               -- SHA-256 of the token, hex; also the lookup index
  created_at   INTEGER NOT NULL,
  last_used_at INTEGER                             -- updated at most once a minute
);

CREATE TABLE token_tenants (
  token_id INTEGER NOT NULL REFERENCES tokens (id) ON DELETE CASCADE,
  tenant   TEXT NOT NULL REFERENCES tenants (name) ON DELETE CASCADE,
  PRIMARY KEY (token_id, tenant)
) WITHOUT ROWID;
CREATE INDEX token_tenants_by_tenant ON token_tenants (tenant);

-- Browser sessions. The cookie carries the id; the table only its SHA-256, so a copy of the
-- database (a backup, say) holds no live session.
CREATE TABLE sessions (
  id_hash      TEXT PRIMARY KEY,                   -- SHA-256 of the session id, hex
  user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  csrf_secret  TEXT NOT NULL,
  created_at   INTEGER NOT NULL,
  last_seen_at INTEGER NOT NULL,
  expires_at   INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX sessions_by_expiry ON sessions (expires_at);
CREATE INDEX sessions_by_user ON sessions (user_id);
