import type { ClientBase, QueryArrayConfig, QueryConfig } from 'pg';
import { sqlIdentifier } from '../sql-identifier';
import type { Row } from './local-copy';
import { numericTypes } from './pg-types';
import type { ReplicatedTable } from './replicated-tables';

/**
 * Reading the change feed and the rows it names (migrations/postgres/001_schema.sql).
 * Every query here runs inside the caller's REPEATABLE READ transaction, so the feed
 * and the rows are read at one instant: what is loaded is exactly the state as of the
 * last seq seen.
 */

/** The channel the feed's triggers notify on; the payload is a seq. */
export const CHANGES_CHANNEL = 'callguard_changes';

/**
 * A query that outlives this is taken for a network gone silent: the connection is
 * dropped and the work retried. A hang detector, far above any real query's time.
 */
export const QUERY_TIMEOUT_MS = 60_000;

/** The newest seq, or how far the feed was pruned if that is further (an empty feed). */
export const LAST_SEQ_SQL = `SELECT greatest((SELECT coalesce(max(seq), 0) FROM changes),
  (SELECT value FROM meta WHERE key = 'changes_pruned_through')) AS seq`;

export interface FeedState {
  readonly storeId: number;
  readonly prunedThrough: number;
  readonly lastSeq: number;
}

export interface ChangeSummary {
  readonly rows: number;
  /** TRUNCATEs: the whole table changed. */
  readonly wholeTables: number;
}

export interface ChangedKey {
  readonly entity: string;
  /** JSON array of the row's primary key; null for a whole table. */
  readonly key: string | null;
}


/** pg's QueryConfig has no per-query timeout in its types, though pg honours one. */
function withTimeout<T extends QueryConfig | QueryArrayConfig>(config: T): T {
  return { ...config, types: numericTypes, query_timeout: QUERY_TIMEOUT_MS } as T;
}

export function feedQuery(text: string, values: unknown[] = []): QueryConfig {
  return withTimeout({ text, values });
}

export async function readFeedState(client: ClientBase): Promise<FeedState> {
  const { rows } = await client.query<{ store_id: number; pruned_through: number; last_seq: number }>(
    feedQuery(`SELECT (SELECT value FROM meta WHERE key = 'store_id') AS store_id,
      (SELECT value FROM meta WHERE key = 'changes_pruned_through') AS pruned_through,
      (${LAST_SEQ_SQL}) AS last_seq`),
  );
  const row = rows[0];
  if (!row || row.store_id === null) throw new Error('the PostgreSQL store has no store_id in its meta table: run `callguard migrate`');
  return { storeId: row.store_id, prunedThrough: row.pruned_through, lastSeq: row.last_seq };
}

export async function summarizeChanges(client: ClientBase, afterSeq: number, throughSeq: number): Promise<ChangeSummary> {
  const { rows } = await client.query<{ rows: number; whole_tables: number }>(
    feedQuery('SELECT count(*) AS rows, count(*) FILTER (WHERE key IS NULL) AS whole_tables FROM changes WHERE seq > $1 AND seq <= $2', [afterSeq, throughSeq]),
  );
  return { rows: rows[0]?.rows ?? 0, wholeTables: rows[0]?.whole_tables ?? 0 };
}

/** Each changed row once, however often it changed in between. */
export async function changedKeys(client: ClientBase, afterSeq: number, throughSeq: number): Promise<ChangedKey[]> {
  const { rows } = await client.query<ChangedKey>(feedQuery('SELECT DISTINCT entity, key FROM changes WHERE seq > $1 AND seq <= $2', [afterSeq, throughSeq]));
  return rows;
}

/** The rows of these keys as they are now; keys without a row were deleted. */
export async function rowsByKey(client: ClientBase, table: ReplicatedTable, columns: readonly string[], keys: readonly (readonly unknown[])[]): Promise<Row[]> {
  // One array per key column, unnested side by side: a join on the primary key's index, any number of keys.
  const wanted = table.key.map((key, i) => `$${i + 1}::${key.type}[]`).join(', ');
  const names = table.key.map((_, i) => `k${i}`);
  const on = table.key.map((key, i) => `t.${sqlIdentifier(key.column)} = wanted.${names[i]}`).join(' AND ');
  const text = `SELECT ${columns.map((column) => `t.${sqlIdentifier(column)}`).join(', ')}
    FROM ${sqlIdentifier(table.name)} AS t JOIN unnest(${wanted}) AS wanted (${names.join(', ')}) ON ${on}`;
  const values = table.key.map((_, i) => keys.map((key) => key[i]));
  const { rows } = await client.query<unknown[]>(withTimeout({ text, values, rowMode: 'array' }));
  return rows;
}

/**
 * Every row of a table through a cursor, `batchRows` at a time; the next batch is asked
 * for before this one is handed on, so PostgreSQL and the local insert overlap.
 */
export async function streamTable(
  client: ClientBase,
  table: ReplicatedTable,
  columns: readonly string[],
  batchRows: number,
  onBatch: (rows: Row[]) => void,
): Promise<void> {
  const cursor = sqlIdentifier(`replica_${table.name}`);
  await client.query(feedQuery(`DECLARE ${cursor} NO SCROLL CURSOR FOR SELECT ${columns.map(sqlIdentifier).join(', ')} FROM ${sqlIdentifier(table.name)}`));
  const fetch = () => client.query<unknown[]>(withTimeout({ text: `FETCH ${batchRows} FROM ${cursor}`, rowMode: 'array' }));
  let next = fetch();
  for (;;) {
    const { rows } = await next;
    if (rows.length < batchRows) {
      if (rows.length > 0) onBatch(rows);
      break;
    }
    next = fetch();
    // If the batch is refused locally, the fetch already sent must not become an unhandled rejection.
    try {
      onBatch(rows);
    } catch (error) {
      await next.catch(() => undefined);
      throw error;
    }
  }
  await client.query(feedQuery(`CLOSE ${cursor}`));
}
