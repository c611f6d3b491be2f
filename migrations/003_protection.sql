-- Robocall protection per tenant (scope 'global' is the default for every tenant).
CREATE TABLE protection (
  scope          TEXT PRIMARY KEY,           -- global | tenant:<name>
  enabled        INTEGER NOT NULL CHECK (enabled IN (0, 1)),
  threshold      INTEGER NOT NULL CHECK (threshold BETWEEN 10 AND 100),
  flag_threshold INTEGER CHECK (flag_threshold BETWEEN 0 AND 100),
  action         TEXT NOT NULL CHECK (action IN ('block', 'challenge', 'voicemail')),
  updated_at     INTEGER NOT NULL
);

-- Carrier names (case-insensitive substrings) whose calls protection rejects.
CREATE TABLE carrier_rules (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  scope      TEXT NOT NULL,
  pattern    TEXT NOT NULL,                  -- lower case
  created_at INTEGER NOT NULL,
  UNIQUE (scope, pattern)
);

-- Number prefix (E.164, e.g. +1404555 or +14045551) → carrier, for calls that carry no carrier name.
CREATE TABLE carrier_prefixes (
  prefix  TEXT PRIMARY KEY,
  carrier TEXT NOT NULL
) WITHOUT ROWID;

-- Score points and windows that differ from the defaults in agent/engine/score-settings.ts.
CREATE TABLE score_settings (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);

-- Velocity and challenge history are counted per caller over a window, never by a scan.
CREATE INDEX calls_challenges ON calls (caller, at) WHERE outcome IN ('passed', 'failed');

-- Operator settings that are not rules: e.g. log_retention (a duration; old call-log rows are pruned).
CREATE TABLE settings (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
