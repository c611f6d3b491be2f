-- Caller-name rules: kind 'name' (a glob on the normalised caller ID name; key: the
-- normalised glob, span: its count of literal characters) and 'name_word' (whole words
-- anywhere in the name; key: the normalised words). SQLite cannot change a CHECK in place,
-- so the rules table is rebuilt: same columns in the same order, same indexes, same ids,
-- and the id counter kept (ids are never reused: the call log names rules by id).
CREATE TABLE rules_new (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  scope      TEXT NOT NULL,
  kind       TEXT NOT NULL CHECK (kind IN ('number', 'prefix', 'anonymous', 'ip', 'sip', 'name', 'name_word')),
  key        TEXT NOT NULL,
  pattern    TEXT NOT NULL,
  span       INTEGER,
  action     TEXT NOT NULL CHECK (action IN ('allow', 'block', 'challenge', 'busy', 'disconnected', 'voicemail', 'forward')),
  target     TEXT,
  sms        INTEGER NOT NULL DEFAULT 0 CHECK (sms IN (0, 1)),
  note       TEXT,
  list       TEXT REFERENCES lists (name),
  expires_at INTEGER,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  when_text  TEXT,
  tz         TEXT,
  UNIQUE (key, kind, scope)
);
INSERT INTO rules_new (id, scope, kind, key, pattern, span, action, target, sms, note, list, expires_at, created_at, updated_at, when_text, tz)
  SELECT id, scope, kind, key, pattern, span, action, target, sms, note, list, expires_at, created_at, updated_at, when_text, tz FROM rules;
INSERT INTO sqlite_sequence (name, seq)
  SELECT 'rules_new', 0 WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'rules_new');
UPDATE sqlite_sequence SET seq = max(seq, IFNULL((SELECT seq FROM sqlite_sequence WHERE name = 'rules'), 0)) WHERE name = 'rules_new';
DROP TABLE rules;
ALTER TABLE rules_new RENAME TO rules;
CREATE INDEX rules_by_shape ON rules (kind, span) WHERE kind <> 'number';
CREATE INDEX rules_by_scope ON rules (scope);
CREATE INDEX rules_by_list ON rules (list) WHERE list IS NOT NULL;
CREATE INDEX rules_allowed ON rules (action) WHERE action = 'allow';
