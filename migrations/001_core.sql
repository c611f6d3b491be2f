-- Tenants own DIDs; `default` owns every DID not registered to another.
CREATE TABLE tenants (
  name       TEXT PRIMARY KEY,
  created_at INTEGER NOT NULL
);
INSERT INTO tenants (name, created_at) VALUES ('default', 0);

CREATE TABLE dids (
  number     TEXT PRIMARY KEY,               -- E.164
  tenant     TEXT NOT NULL REFERENCES tenants (name),
  created_at INTEGER NOT NULL
);
CREATE INDEX dids_by_tenant ON dids (tenant);

-- Named groups of rules, switched on and off as a whole.
CREATE TABLE lists (
  name       TEXT PRIMARY KEY,
  enabled    INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
  created_at INTEGER NOT NULL
);

CREATE TABLE rules (
  id         INTEGER PRIMARY KEY AUTOINCREMENT, -- never reused: the call log names rules by id
  scope      TEXT NOT NULL,                  -- global | tenant:<name> | did:<E.164>
  kind       TEXT NOT NULL CHECK (kind IN ('number', 'prefix', 'anonymous', 'ip', 'sip')),
  key        TEXT NOT NULL,                  -- what a caller's candidate keys are compared with
  pattern    TEXT NOT NULL,                  -- as the operator wrote it
  span       INTEGER,                        -- prefix digits or CIDR bits: longer wins
  action     TEXT NOT NULL CHECK (action IN ('allow', 'block', 'challenge', 'busy', 'disconnected', 'voicemail', 'forward')),
  target     TEXT,                           -- forward number or voicemail box
  sms        INTEGER NOT NULL DEFAULT 0 CHECK (sms IN (0, 1)),
  note       TEXT,
  list       TEXT REFERENCES lists (name),
  expires_at INTEGER,                        -- ms since epoch
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  UNIQUE (key, kind, scope)                  -- also the index every decision looks rules up by
);
-- Partial indexes: the million exact-number rules of a big import stay out of them.
CREATE INDEX rules_by_shape ON rules (kind, span) WHERE kind <> 'number';
CREATE INDEX rules_by_scope ON rules (scope);
CREATE INDEX rules_by_list ON rules (list) WHERE list IS NOT NULL;

-- What a tenant (or everyone: scope 'global') does with a category of caller.
CREATE TABLE category_policies (
  scope      TEXT NOT NULL,                  -- global | tenant:<name>
  category   TEXT NOT NULL,
  action     TEXT NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (scope, category)
);

-- Bumped by every change to what decisions read, so a running agent refreshes its caches.
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value INTEGER NOT NULL
);
INSERT INTO meta (key, value) VALUES ('generation', 0);
