-- The counters and the calls-per-hour chart (stats, the console's impact cards) on
-- PostgreSQL, as migrations/006–007 keep them on SQLite: call_hours sums what each call
-- counts for per tenant and UTC hour, kept as calls are logged, answered and pruned, so a
-- week or a quarter is read from a few hundred rows instead of counted from millions.
--
-- Kept by statement-level triggers reading the statement's transition tables: an agent's
-- shipper inserts (and later updates the outcomes of) thousands of calls per statement,
-- and each statement costs one aggregate upsert, not one per call.
--
-- Unlike SQLite's (one writer at a time), a row here also names its writer: the session
-- (server process) whose statements it sums. Every session adds to rows of its own, so
-- the shippers of a fleet never wait for one another's rollup rows: a shipper whose
-- transaction stalls (a network gone silent) holds back no other agent's calls, and no
-- two can deadlock. A reader sums the rows of an hour whatever their writer; an hour has
-- about one row per agent that logged calls in it.

-- What one call counts for (SQLite's call_counts view, migration 006): the one place these
-- are defined, read by the view below (the part of an hour call_hours cannot split), the
-- triggers and the backfill. A call without its outcome yet counts 0, never NULL.
CREATE FUNCTION call_counted(call_action text, call_outcome text, call_flagged integer, call_score integer)
RETURNS TABLE (
  total integer, scanned integer, blocked integer, flagged integer, legitimate integer, challenged integer,
  challenge_passed integer, challenge_failed integer, forwarded integer, forward_answered integer, voicemail integer
) LANGUAGE sql IMMUTABLE AS $$
  SELECT 1,
         (call_score IS NOT NULL)::integer,
         (call_action IN ('block', 'busy', 'disconnected') OR (call_action = 'challenge' AND coalesce(call_outcome, '') IN ('failed', 'hungup')))::integer,
         call_flagged,
         ((call_action = 'allow' AND call_flagged = 0) OR (call_action = 'challenge' AND coalesce(call_outcome, '') = 'passed'))::integer,
         (call_action = 'challenge')::integer,
         (call_action = 'challenge' AND coalesce(call_outcome, '') = 'passed')::integer,
         (call_action = 'challenge' AND coalesce(call_outcome, '') = 'failed')::integer,
         (call_action = 'forward')::integer,
         (call_action = 'forward' AND coalesce(call_outcome, '') = 'answered')::integer,
         (call_action = 'voicemail')::integer
$$;

CREATE VIEW call_counts AS
SELECT c.id, c.tenant, c.at, n.*
  FROM calls AS c CROSS JOIN LATERAL call_counted(c.action, c.outcome, c.flagged, c.score) AS n;

CREATE TABLE call_hours (
  tenant           text NOT NULL,
  hour             integer NOT NULL,          -- at / 3600000
  writer           integer NOT NULL,          -- pg_backend_pid() of the session that added these; 0: the backfill
  total            integer NOT NULL,
  scanned          integer NOT NULL,
  blocked          integer NOT NULL,
  flagged          integer NOT NULL,
  legitimate       integer NOT NULL,
  challenged       integer NOT NULL,
  challenge_passed integer NOT NULL,
  challenge_failed integer NOT NULL,
  forwarded        integer NOT NULL,
  forward_answered integer NOT NULL,
  voicemail        integer NOT NULL,
  PRIMARY KEY (hour, tenant, writer)
);

-- Adds what the statement's new rows count for and takes away what its old rows counted
-- for, summed per hour and tenant into this session's rows: one upsert for the whole
-- statement. Hours whose sums did not move (an update of something not counted) are left
-- alone.
CREATE FUNCTION call_hours_move() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  moved constant text := CASE TG_OP
    WHEN 'INSERT' THEN 'SELECT 1 AS sign, * FROM new_rows'
    WHEN 'DELETE' THEN 'SELECT -1 AS sign, * FROM old_rows'
    ELSE 'SELECT 1 AS sign, * FROM new_rows UNION ALL SELECT -1 AS sign, * FROM old_rows'
  END;
BEGIN
  EXECUTE format($upsert$
    INSERT INTO call_hours AS h
    SELECT tenant, hour, pg_backend_pid(), total, scanned, blocked, flagged, legitimate, challenged, challenge_passed,
           challenge_failed, forwarded, forward_answered, voicemail
      FROM (SELECT m.tenant, (m.at / 3600000)::integer,
                   sum(m.sign * n.total), sum(m.sign * n.scanned), sum(m.sign * n.blocked), sum(m.sign * n.flagged),
                   sum(m.sign * n.legitimate), sum(m.sign * n.challenged), sum(m.sign * n.challenge_passed),
                   sum(m.sign * n.challenge_failed), sum(m.sign * n.forwarded), sum(m.sign * n.forward_answered),
                   sum(m.sign * n.voicemail)
              FROM (%s) AS m CROSS JOIN LATERAL call_counted(m.action, m.outcome, m.flagged, m.score) AS n
             GROUP BY 1, 2
           ) AS summed (tenant, hour, total, scanned, blocked, flagged, legitimate, challenged, challenge_passed, challenge_failed,
                        forwarded, forward_answered, voicemail)
     WHERE (total, scanned, blocked, flagged, legitimate, challenged, challenge_passed, challenge_failed, forwarded, forward_answered, voicemail)
           <> (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    ON CONFLICT (hour, tenant, writer) DO UPDATE SET
      total = h.total + excluded.total, scanned = h.scanned + excluded.scanned, blocked = h.blocked + excluded.blocked,
      flagged = h.flagged + excluded.flagged, legitimate = h.legitimate + excluded.legitimate, challenged = h.challenged + excluded.challenged,
      challenge_passed = h.challenge_passed + excluded.challenge_passed, challenge_failed = h.challenge_failed + excluded.challenge_failed,
      forwarded = h.forwarded + excluded.forwarded, forward_answered = h.forward_answered + excluded.forward_answered,
      voicemail = h.voicemail + excluded.voicemail
  $upsert$, moved);
  RETURN NULL;
END $$;

-- TRUNCATE calls hands a trigger no rows: the rollup is emptied with the log.
CREATE FUNCTION call_hours_emptied() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM call_hours;
  RETURN NULL;
END $$;

-- No call is logged, answered or pruned between the backfill and the triggers: each call
-- is counted once, by one or the other. (Reads go on meanwhile.)
LOCK TABLE calls IN SHARE ROW EXCLUSIVE MODE;

INSERT INTO call_hours
SELECT tenant, (at / 3600000)::integer, 0, sum(total), sum(scanned), sum(blocked), sum(flagged), sum(legitimate), sum(challenged),
       sum(challenge_passed), sum(challenge_failed), sum(forwarded), sum(forward_answered), sum(voicemail)
  FROM call_counts GROUP BY 1, 2;

-- An outcome (answered, passed, failed …) arrives after the call was logged: the update's
-- old rows come off and its new ones go on. (A trigger reading transition tables cannot
-- name the columns it watches: every update of calls passes through, and one that changes
-- nothing counted moves nothing.)
CREATE TRIGGER call_hours_logged AFTER INSERT ON calls REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION call_hours_move();
CREATE TRIGGER call_hours_changed AFTER UPDATE ON calls REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION call_hours_move();
CREATE TRIGGER call_hours_pruned AFTER DELETE ON calls REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION call_hours_move();
CREATE TRIGGER call_hours_emptied AFTER TRUNCATE ON calls FOR EACH STATEMENT EXECUTE FUNCTION call_hours_emptied();
