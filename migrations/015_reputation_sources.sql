-- Reputation sources: an ordered list of services, each asked for a score 0-100 of the
-- caller (agent/screening/reputation.ts), each with its own wait and the share of its
-- score that counts. They replace the single reputation_url score setting: one that was
-- set becomes the first source, named "reputation", with its timeout and weight.
CREATE TABLE reputation_sources (
  name       TEXT PRIMARY KEY,                                        -- a short slug
  position   INTEGER NOT NULL,                                        -- 1, 2, ...: the order shown and explained
  url        TEXT NOT NULL,                                           -- http(s) with {number}
  timeout_ms INTEGER NOT NULL CHECK (timeout_ms BETWEEN 10 AND 10000),
  weight     REAL NOT NULL CHECK (weight BETWEEN 0 AND 1),
  created_at INTEGER NOT NULL
);
INSERT INTO reputation_sources (name, position, url, timeout_ms, weight, created_at)
  SELECT 'reputation', 1, value,
    COALESCE((SELECT CAST(value AS INTEGER) FROM score_settings WHERE key = 'reputation_timeout_ms'), 200),
    COALESCE((SELECT CAST(value AS REAL) FROM score_settings WHERE key = 'reputation_weight'), 0.5),
    CAST(strftime('%s', 'now') AS INTEGER) * 1000
  FROM score_settings WHERE key = 'reputation_url' AND value <> '';
DELETE FROM score_settings WHERE key IN ('reputation_url', 'reputation_timeout_ms', 'reputation_weight');
