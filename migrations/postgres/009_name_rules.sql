-- Caller-name rules (SQLite's migration 013): kind 'name' (a glob on the normalised caller
-- ID name; key: the normalised glob, span: its count of literal characters) and 'name_word'
-- (whole words anywhere in the name; key: the normalised words).
ALTER TABLE rules DROP CONSTRAINT rules_kind_check;
ALTER TABLE rules ADD CONSTRAINT rules_kind_check CHECK (kind IN ('number', 'prefix', 'anonymous', 'ip', 'sip', 'name', 'name_word'));
