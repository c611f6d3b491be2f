-- Allow-only mode, per tenant and per DID (SQLite's migration 012): only callers an allow
-- rule lets through ring; every other caller (one no number or address rule matches) gets
-- the chosen action. A tenant's setting: NULL is off. A DID's setting overrides its
-- tenant's: NULL follows the tenant, 'off' is not allow-only whatever the tenant says.
ALTER TABLE tenants ADD COLUMN allow_only text CHECK (allow_only IN ('challenge', 'voicemail', 'busy', 'disconnected', 'block'));
ALTER TABLE dids ADD COLUMN allow_only text CHECK (allow_only IN ('challenge', 'voicemail', 'busy', 'disconnected', 'block', 'off'));
