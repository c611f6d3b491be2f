-- Which PBX connection a call came through, by the name the config gives it (an agent may
-- serve several switches); NULL for calls asked about over the HTTP hook and for calls logged
-- before this column.
ALTER TABLE calls ADD COLUMN pbx TEXT;
