-- Every screened call or text: the decision, why, and what then happened.
CREATE TABLE calls (
  id             INTEGER PRIMARY KEY,
  uid            TEXT NOT NULL UNIQUE,       -- the agent's handle, so the outcome can follow the decision
  at             INTEGER NOT NULL,           -- ms since epoch
  kind           TEXT NOT NULL CHECK (kind IN ('call', 'sms')),
  source         TEXT NOT NULL,              -- freeswitch | asterisk | hook
  channel        TEXT,                       -- the PBX's id for the call
  tenant         TEXT NOT NULL,
  did            TEXT,
  caller         TEXT,                       -- E.164, when the caller had a number
  caller_raw     TEXT,                       -- as signalled, cut to 256 characters
  caller_name    TEXT,
  ip             TEXT,
  sip_from       TEXT,
  action         TEXT NOT NULL,
  target         TEXT,
  rule_id        INTEGER,
  category       TEXT,
  score          INTEGER,
  flagged        INTEGER NOT NULL DEFAULT 0,
  reasons        TEXT NOT NULL,              -- JSON array of sentences
  decided_us     INTEGER,                    -- how long the decision took
  outcome        TEXT,                       -- see agent/actions/outcome.ts
  outcome_detail TEXT,
  ended_at       INTEGER
);
CREATE INDEX calls_by_time ON calls (at);
CREATE INDEX calls_by_rule ON calls (rule_id, at) WHERE rule_id IS NOT NULL;
CREATE INDEX calls_by_caller ON calls (caller, at, did) WHERE caller IS NOT NULL;  -- covers velocity counts
CREATE INDEX calls_by_tenant ON calls (tenant, at);
