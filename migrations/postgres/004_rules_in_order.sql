-- The console's rules page by page deep into a million rules, each page read from an index
-- in the order it is shown, as on SQLite (whose index on scope carries the rowid, so it
-- already walks a scope by id; PostgreSQL's needs the id named):
--   a scope's rules by id (the rules list, a scope's numbers newest first);
--   a scope's addresses and URIs newest first, and its patterns longest first.
CREATE INDEX rules_by_scope_id ON rules (scope, id);
CREATE INDEX rules_shapes_by_scope ON rules (scope, id) WHERE kind <> 'number';
CREATE INDEX rules_patterns_in_order ON rules (scope, (COALESCE(span, 0)::bigint), id) WHERE kind <> 'number';
-- Its first column is rules_by_scope_id's.
DROP INDEX rules_by_scope;
