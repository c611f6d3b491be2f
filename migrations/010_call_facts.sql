-- The facts of a call that its other columns do not keep, as JSON (agent/store/logged-facts.ts):
-- the number dialled as signalled, privacy, STIR/SHAKEN attestation, carrier and the
-- reputation answer. With them a logged call can be decided again exactly as it was. NULL
-- for calls logged before this column.
ALTER TABLE calls ADD COLUMN facts TEXT;
