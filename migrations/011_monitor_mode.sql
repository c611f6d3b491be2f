-- Monitor mode, per tenant: every call is decided and logged as usual, and let through.
-- Its row keeps the action that would have been taken; its outcome is 'monitored'.
ALTER TABLE tenants ADD COLUMN mode TEXT NOT NULL DEFAULT 'enforce' CHECK (mode IN ('enforce', 'monitor'));

-- The counters count what happened: a monitored call went through, as an allowed one does.
-- (No call was monitored before this migration, so call_hours already agrees.)
DROP VIEW call_counts;
CREATE VIEW call_counts AS
SELECT id, tenant, at,
       1 AS total,
       score IS NOT NULL AS scanned,
       (action IN ('block', 'busy', 'disconnected') OR (action = 'challenge' AND IFNULL(outcome, '') IN ('failed', 'hungup'))) AS blocked,
       flagged,
       ((action = 'allow' AND flagged = 0) OR (action = 'challenge' AND IFNULL(outcome, '') = 'passed')) AS legitimate,
       action = 'challenge' AS challenged,
       (action = 'challenge' AND IFNULL(outcome, '') = 'passed') AS challenge_passed,
       (action = 'challenge' AND IFNULL(outcome, '') = 'failed') AS challenge_failed,
       action = 'forward' AS forwarded,
       (action = 'forward' AND IFNULL(outcome, '') = 'answered') AS forward_answered,
       action = 'voicemail' AS voicemail
  FROM (SELECT id, tenant, at, score, flagged, outcome,
               CASE WHEN outcome = 'monitored' THEN 'allow' ELSE action END AS action
          FROM calls);

-- What monitor mode would have stopped, counted straight from these index entries.
CREATE INDEX calls_monitored ON calls (tenant, at, action) WHERE outcome = 'monitored';
