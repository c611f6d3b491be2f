-- Numbers a tenant's users called (the switch's outbound-call hook, POST /v1/called): a
-- callback from one of them within the tenant's trust window skips categories and
-- protection. One row per outbound call, never overwritten, so a replay judges each logged
-- call with the outbound calls as they stood at its moment. Pruned past the longest window.
CREATE TABLE outbound_calls (
  id     INTEGER PRIMARY KEY AUTOINCREMENT,
  tenant TEXT NOT NULL,
  number TEXT NOT NULL,   -- the number dialled, E.164
  caller TEXT,            -- who dialled it, E.164 when it was a number
  at     INTEGER NOT NULL
);
-- The lookup a decision makes: this tenant, this number, the newest call in the window.
CREATE INDEX outbound_calls_lookup ON outbound_calls (tenant, number, at);
CREATE INDEX outbound_calls_by_time ON outbound_calls (at);
