/** A table `callguard store copy` carries from one store to another. */
export interface CopiedTable {
  readonly name: string;
  /** Its `id` is handed out by a counter (SQLite AUTOINCREMENT or rowid, a PostgreSQL identity) that the copy carries on. */
  readonly ids: boolean;
  /** A freshly made schema already holds the `default` row (tenants): not data, and replaced by the source's. */
  readonly seedsDefault?: boolean;
  /**
   * PostgreSQL's table has a `uid` column that SQLite's lacks (an agent's queue delivers
   * such rows, found again by it): rows coming from SQLite are given one.
   */
  readonly postgresUid?: boolean;
}

/**
 * Every table both schemas hold (migrations/*.sql, migrations/postgres/001_schema.sql),
 * parents before children so that each foreign key finds its row. Left out, as each side
 * makes its own: SQLite's meta (the generation counter), call_hours (on either side its
 * triggers rebuild it as the calls are inserted, by COPY too), PostgreSQL's meta (the
 * store id), changes (the feed) and schema_migrations. Left out as well: console sessions, which hold each
 * session's CSRF secret in the clear; signing in again after a move costs little.
 */
export const COPIED_TABLES: readonly CopiedTable[] = [
  { name: 'tenants', ids: false, seedsDefault: true },
  { name: 'lists', ids: false },
  { name: 'dids', ids: false },
  { name: 'rules', ids: true },
  { name: 'category_policies', ids: false },
  { name: 'protection', ids: false },
  { name: 'carrier_rules', ids: true },
  { name: 'carrier_prefixes', ids: false },
  { name: 'score_settings', ids: false },
  { name: 'settings', ids: false },
  { name: 'reputation_sources', ids: false },
  { name: 'outbound_calls', ids: true },
  { name: 'users', ids: true },
  { name: 'user_tenants', ids: false },
  { name: 'tokens', ids: true },
  { name: 'token_tenants', ids: false },
  { name: 'calls', ids: true },
  { name: 'audit', ids: true, postgresUid: true },
];
