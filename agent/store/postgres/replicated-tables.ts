/** A primary-key column of a replicated table, with its PostgreSQL type (to look rows up by it). */
export interface KeyColumn {
  readonly column: string;
  readonly type: 'text' | 'bigint';
}

export interface ReplicatedTable {
  readonly name: string;
  /** In the order of the change feed's JSON array keys. */
  readonly key: readonly KeyColumn[];
  /**
   * Read by index on each decision, never held in the decision tables' cached snapshot: a
   * change to it alone need not make every agent reload them (an outbound call per call).
   */
  readonly readPerCall?: true;
}

const text = (column: string): KeyColumn => ({ column, type: 'text' });
const bigint = (column: string): KeyColumn => ({ column, type: 'bigint' });

/**
 * What each agent keeps a local copy of: every table decisions read
 * (agent/store/decision-view.ts) and tenants, which DIDs name. The same tables, with the
 * same keys, are watched by the change feed (migrations/postgres/001_schema.sql).
 */
export const REPLICATED_TABLES: readonly ReplicatedTable[] = [
  { name: 'tenants', key: [text('name')] },
  { name: 'dids', key: [text('number')] },
  { name: 'lists', key: [text('name')] },
  { name: 'rules', key: [bigint('id')] },
  { name: 'category_policies', key: [text('scope'), text('category')] },
  { name: 'protection', key: [text('scope')] },
  { name: 'carrier_rules', key: [bigint('id')] },
  { name: 'carrier_prefixes', key: [text('prefix')] },
  { name: 'score_settings', key: [text('key')] },
  { name: 'settings', key: [text('key')] },
  { name: 'reputation_sources', key: [text('name')] },
  { name: 'outbound_calls', key: [bigint('id')], readPerCall: true },
];

export function replicatedTable(name: string): ReplicatedTable | undefined {
  return REPLICATED_TABLES.find((table) => table.name === name);
}
