-- The identify action (SQLite's migration 016): a caller with no usable number keys one in
-- and the call is screened again as that number, as a row of its own.

-- Allow-only mode may identify.
ALTER TABLE tenants DROP CONSTRAINT tenants_allow_only_check,
  ADD CONSTRAINT tenants_allow_only_check CHECK (allow_only IN ('challenge', 'identify', 'voicemail', 'busy', 'disconnected', 'block'));
ALTER TABLE dids DROP CONSTRAINT dids_allow_only_check,
  ADD CONSTRAINT dids_allow_only_check CHECK (allow_only IN ('challenge', 'identify', 'voicemail', 'busy', 'disconnected', 'block', 'off'));

-- The counters: a caller who keyed in no number (or hung up) was stopped, as after a failed
-- challenge; a call whose caller keyed one in is counted once, by the row of its second
-- screening, so the first (outcome 'identified') counts nothing. (No call was identified
-- before this migration, so call_hours already agrees.)
CREATE OR REPLACE FUNCTION call_counted(call_action text, call_outcome text, call_flagged integer, call_score integer)
RETURNS TABLE (
  total integer, scanned integer, blocked integer, flagged integer, legitimate integer, challenged integer,
  challenge_passed integer, challenge_failed integer, forwarded integer, forward_answered integer, voicemail integer
) LANGUAGE sql IMMUTABLE AS $$
  SELECT own::integer,
         (own AND call_score IS NOT NULL)::integer,
         (a IN ('block', 'busy', 'disconnected') OR (a IN ('challenge', 'identify') AND coalesce(call_outcome, '') IN ('failed', 'hungup')))::integer,
         call_flagged,
         ((a = 'allow' AND call_flagged = 0) OR (a = 'challenge' AND coalesce(call_outcome, '') = 'passed'))::integer,
         (a = 'challenge')::integer,
         (a = 'challenge' AND coalesce(call_outcome, '') = 'passed')::integer,
         (a = 'challenge' AND coalesce(call_outcome, '') = 'failed')::integer,
         (a = 'forward')::integer,
         (a = 'forward' AND coalesce(call_outcome, '') = 'answered')::integer,
         (a = 'voicemail')::integer
    FROM (SELECT CASE WHEN call_outcome = 'monitored' THEN 'allow' ELSE call_action END AS a,
                 coalesce(call_outcome, '') <> 'identified' AS own) AS effective
$$;
