/**
 * The SQL that adds or replaces rules on PostgreSQL, shared by `rules add` and imports: a
 * rule for the same match in the same scope is replaced (keeping its id and creation time),
 * as SQLite's RuleWriter does.
 */

/** The columns written, in the order each row's values come. */
export const RULE_INSERT = 'INSERT INTO rules (scope, kind, key, pattern, span, action, target, sms, note, list, expires_at, when_text, tz, created_at, updated_at)';

export const REPLACE_ON_CONFLICT = `ON CONFLICT (key, kind, scope) DO UPDATE SET
    pattern = excluded.pattern, span = excluded.span, action = excluded.action, target = excluded.target,
    sms = excluded.sms, note = excluded.note, list = excluded.list, expires_at = excluded.expires_at,
    when_text = excluded.when_text, tz = excluded.tz, updated_at = excluded.updated_at`;

/** A list comes into being with its first rule, enabled. */
export const ENSURE_LISTS = 'INSERT INTO lists (name, enabled, created_at) SELECT unnest($1::text[]), 1, $2::bigint ON CONFLICT (name) DO NOTHING';
