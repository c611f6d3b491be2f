-- Fleet-wide history: every agent follows the calls the others logged (velocity) and
-- their challenge outcomes (agent/store/postgres/fleet-history.ts). A call row carries
-- the transaction that last wrote what history reads: the one that inserted it, and the
-- one that set its outcome. A follower's next read takes the rows of the transactions
-- its last snapshot could not see (still running, or not begun), so none is missed
-- however the shippers' commits interleave (ids, given before commit, can commit out of
-- order and would be skipped by a follower going by id).
--
-- Added without a default first, so that existing rows are not rewritten (a follower
-- reads those by time when it starts); new rows get the default.
ALTER TABLE calls ADD COLUMN history_xact xid8;
ALTER TABLE calls ALTER COLUMN history_xact SET DEFAULT pg_current_xact_id();
CREATE INDEX calls_by_history_xact ON calls (history_xact);

CREATE FUNCTION calls_outcome_written() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.history_xact := pg_current_xact_id();
  RETURN NEW;
END $$;

CREATE TRIGGER calls_outcome_written BEFORE UPDATE OF outcome ON calls
  FOR EACH ROW WHEN (OLD.outcome IS DISTINCT FROM NEW.outcome) EXECUTE FUNCTION calls_outcome_written();
