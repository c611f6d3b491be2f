-- Monitor mode, per tenant (SQLite's migration 011): every call is decided and logged as
-- usual, and let through. Its row keeps the action that would have been taken; its outcome
-- is 'monitored'.
ALTER TABLE tenants ADD COLUMN mode text NOT NULL DEFAULT 'enforce' CHECK (mode IN ('enforce', 'monitor'));

-- The counters count what happened: a monitored call went through, as an allowed one does.
-- (No call was monitored before this migration, so call_hours already agrees.)
CREATE OR REPLACE FUNCTION call_counted(call_action text, call_outcome text, call_flagged integer, call_score integer)
RETURNS TABLE (
  total integer, scanned integer, blocked integer, flagged integer, legitimate integer, challenged integer,
  challenge_passed integer, challenge_failed integer, forwarded integer, forward_answered integer, voicemail integer
) LANGUAGE sql IMMUTABLE AS $$
  SELECT 1,
         (call_score IS NOT NULL)::integer,
         (a IN ('block', 'busy', 'disconnected') OR (a = 'challenge' AND coalesce(call_outcome, '') IN ('failed', 'hungup')))::integer,
         call_flagged,
         ((a = 'allow' AND call_flagged = 0) OR (a = 'challenge' AND coalesce(call_outcome, '') = 'passed'))::integer,
         (a = 'challenge')::integer,
         (a = 'challenge' AND coalesce(call_outcome, '') = 'passed')::integer,
         (a = 'challenge' AND coalesce(call_outcome, '') = 'failed')::integer,
         (a = 'forward')::integer,
         (a = 'forward' AND coalesce(call_outcome, '') = 'answered')::integer,
         (a = 'voicemail')::integer
    FROM (SELECT CASE WHEN call_outcome = 'monitored' THEN 'allow' ELSE call_action END AS a) AS effective
$$;

-- What monitor mode would have stopped, counted straight from these index entries.
CREATE INDEX calls_monitored ON calls (tenant, at, action) WHERE outcome = 'monitored';
