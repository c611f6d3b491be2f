-- Time windows: a rule or category policy takes part only while one of its windows is open.
ALTER TABLE rules ADD COLUMN when_text TEXT;            -- e.g. 'mon-fri 09:00-17:00, sat 10:00-14:00'
ALTER TABLE rules ADD COLUMN tz TEXT;                   -- IANA zone the window is read in
ALTER TABLE category_policies ADD COLUMN when_text TEXT;
ALTER TABLE category_policies ADD COLUMN tz TEXT;

-- `callguard block --last --did <number>` finds the newest call to a DID.
CREATE INDEX calls_by_did ON calls (did, at) WHERE did IS NOT NULL;

-- Every change an operator makes: when, who, what, before and after.
CREATE TABLE audit (
  id      INTEGER PRIMARY KEY AUTOINCREMENT,
  at      INTEGER NOT NULL,
  actor   TEXT NOT NULL,                -- OS user of the CLI, or the HTTP token's name
  verb    TEXT NOT NULL,                -- add | remove | change | import
  entity  TEXT NOT NULL,                -- tenant | did | rule | list | category | protection | carrier | setting
  key     TEXT NOT NULL,                -- which one
  before  TEXT,                         -- JSON, null when it did not exist
  after   TEXT                          -- JSON, null when it no longer exists
);
CREATE INDEX audit_by_time ON audit (at);
