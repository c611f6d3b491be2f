-- The identify action (agent/actions/identify.ts): a caller with no usable number keys one
-- in and the call is screened again as that number, as a row of its own.

-- Allow-only mode may identify: the CHECKs of migration 012 are made again with it. A
-- column's own CHECK goes with the column, so each setting is kept aside, the column
-- dropped and added back, and the setting put back.
CREATE TEMP TABLE allow_only_kept AS
  SELECT 'tenant' AS kind, name AS key, allow_only FROM tenants WHERE allow_only IS NOT NULL
  UNION ALL SELECT 'did', number, allow_only FROM dids WHERE allow_only IS NOT NULL;
ALTER TABLE tenants DROP COLUMN allow_only;
ALTER TABLE tenants ADD COLUMN allow_only TEXT CHECK (allow_only IN ('challenge', 'identify', 'voicemail', 'busy', 'disconnected', 'block'));
ALTER TABLE dids DROP COLUMN allow_only;
ALTER TABLE dids ADD COLUMN allow_only TEXT CHECK (allow_only IN ('challenge', 'identify', 'voicemail', 'busy', 'disconnected', 'block', 'off'));
UPDATE tenants SET allow_only = (SELECT allow_only FROM allow_only_kept WHERE kind = 'tenant' AND key = tenants.name)
 WHERE name IN (SELECT key FROM allow_only_kept WHERE kind = 'tenant');
UPDATE dids SET allow_only = (SELECT allow_only FROM allow_only_kept WHERE kind = 'did' AND key = dids.number)
 WHERE number IN (SELECT key FROM allow_only_kept WHERE kind = 'did');
DROP TABLE allow_only_kept;

-- The counters: a caller who keyed in no number (or hung up) was stopped, as after a failed
-- challenge; a call whose caller keyed one in is counted once, by the row of its second
-- screening, so the first (outcome 'identified') counts nothing. (No call was identified
-- before this migration, so call_hours already agrees.)
DROP VIEW call_counts;
CREATE VIEW call_counts AS
SELECT id, tenant, at,
       own AS total,
       own AND score IS NOT NULL AS scanned,
       (action IN ('block', 'busy', 'disconnected') OR (action IN ('challenge', 'identify') AND IFNULL(outcome, '') IN ('failed', 'hungup'))) AS blocked,
       flagged,
       ((action = 'allow' AND flagged = 0) OR (action = 'challenge' AND IFNULL(outcome, '') = 'passed')) AS legitimate,
       action = 'challenge' AS challenged,
       (action = 'challenge' AND IFNULL(outcome, '') = 'passed') AS challenge_passed,
       (action = 'challenge' AND IFNULL(outcome, '') = 'failed') AS challenge_failed,
       action = 'forward' AS forwarded,
       (action = 'forward' AND IFNULL(outcome, '') = 'answered') AS forward_answered,
       action = 'voicemail' AS voicemail
  FROM (SELECT id, tenant, at, score, flagged, outcome,
               IFNULL(outcome, '') <> 'identified' AS own,
               CASE WHEN outcome = 'monitored' THEN 'allow' ELSE action END AS action
          FROM calls);
