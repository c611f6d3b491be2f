-- Reputation sources (SQLite's migration 015): an ordered list of services, each asked for
-- a score 0-100 of the caller, each with its own wait and the share of its score that
-- counts. They replace the single reputation_url score setting: one that was set becomes
-- the first source, named "reputation", with its timeout and weight.
CREATE TABLE reputation_sources (
  name       text PRIMARY KEY,
  position   integer NOT NULL,
  url        text NOT NULL,
  timeout_ms integer NOT NULL CHECK (timeout_ms BETWEEN 10 AND 10000),
  weight     double precision NOT NULL CHECK (weight BETWEEN 0 AND 1),
  created_at bigint NOT NULL
);
INSERT INTO reputation_sources (name, position, url, timeout_ms, weight, created_at)
  SELECT 'reputation', 1, value,
    COALESCE((SELECT value::integer FROM score_settings WHERE key = 'reputation_timeout_ms'), 200),
    COALESCE((SELECT value::double precision FROM score_settings WHERE key = 'reputation_weight'), 0.5),
    (extract(epoch FROM now()) * 1000)::bigint
  FROM score_settings WHERE key = 'reputation_url' AND value <> '';
DELETE FROM score_settings WHERE key IN ('reputation_url', 'reputation_timeout_ms', 'reputation_weight');
-- Every agent's local copy keeps the sources (agent/store/postgres/replicated-tables.ts).
SELECT changes_watch('reputation_sources', 'name');
