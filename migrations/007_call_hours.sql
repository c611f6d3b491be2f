-- What each logged call adds to the counters (the impact cards) and the calls-per-hour chart:
-- the one place these are defined, read both by the triggers below and by the query that
-- counts the part of an hour the hourly table cannot split. (IFNULL: a call without its
-- outcome yet counts 0, never NULL.)
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
  FROM calls;

-- Those counts summed per company and UTC hour, kept as calls are logged, answered and
-- pruned, so a week or a quarter is read from a few hundred rows instead of counted from
-- millions.
CREATE TABLE call_hours (
  tenant           TEXT NOT NULL,
  hour             INTEGER NOT NULL,         -- at / 3600000
  total            INTEGER NOT NULL,
  scanned          INTEGER NOT NULL,
  blocked          INTEGER NOT NULL,
  flagged          INTEGER NOT NULL,
  legitimate       INTEGER NOT NULL,
  challenged       INTEGER NOT NULL,
  challenge_passed INTEGER NOT NULL,
  challenge_failed INTEGER NOT NULL,
  forwarded        INTEGER NOT NULL,
  forward_answered INTEGER NOT NULL,
  voicemail        INTEGER NOT NULL,
  PRIMARY KEY (hour, tenant)
) WITHOUT ROWID;

INSERT INTO call_hours
SELECT tenant, at / 3600000, SUM(total), SUM(scanned), SUM(blocked), SUM(flagged), SUM(legitimate), SUM(challenged),
       SUM(challenge_passed), SUM(challenge_failed), SUM(forwarded), SUM(forward_answered), SUM(voicemail)
  FROM call_counts GROUP BY tenant, at / 3600000;

-- Inserting (id, sign) here adds (sign 1) or takes away (sign -1) one call's counts: the
-- triggers on calls below say when, this one says how, once.
CREATE VIEW call_hours_move AS SELECT 0 AS id, 0 AS sign;

CREATE TRIGGER call_hours_move INSTEAD OF INSERT ON call_hours_move BEGIN
  INSERT INTO call_hours
  SELECT tenant, at / 3600000, NEW.sign * total, NEW.sign * scanned, NEW.sign * blocked, NEW.sign * flagged,
         NEW.sign * legitimate, NEW.sign * challenged, NEW.sign * challenge_passed, NEW.sign * challenge_failed,
         NEW.sign * forwarded, NEW.sign * forward_answered, NEW.sign * voicemail
    FROM call_counts WHERE id = NEW.id
  ON CONFLICT (hour, tenant) DO UPDATE SET
    total = total + excluded.total, scanned = scanned + excluded.scanned, blocked = blocked + excluded.blocked,
    flagged = flagged + excluded.flagged, legitimate = legitimate + excluded.legitimate, challenged = challenged + excluded.challenged,
    challenge_passed = challenge_passed + excluded.challenge_passed, challenge_failed = challenge_failed + excluded.challenge_failed,
    forwarded = forwarded + excluded.forwarded, forward_answered = forward_answered + excluded.forward_answered,
    voicemail = voicemail + excluded.voicemail;
END;

CREATE TRIGGER call_hours_logged AFTER INSERT ON calls BEGIN
  INSERT INTO call_hours_move VALUES (NEW.id, 1);
END;

CREATE TRIGGER call_hours_pruned BEFORE DELETE ON calls BEGIN
  INSERT INTO call_hours_move VALUES (OLD.id, -1);
END;

-- An outcome (answered, passed, failed …) arrives after the call was logged: its old counts
-- come off before the change and its new ones go on after it.
CREATE TRIGGER call_hours_before_change BEFORE UPDATE OF outcome, action, flagged, score, tenant, at ON calls BEGIN
  INSERT INTO call_hours_move VALUES (OLD.id, -1);
END;

CREATE TRIGGER call_hours_after_change AFTER UPDATE OF outcome, action, flagged, score, tenant, at ON calls BEGIN
  INSERT INTO call_hours_move VALUES (NEW.id, 1);
END;
