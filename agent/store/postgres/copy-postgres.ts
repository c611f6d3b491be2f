import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { callUid } from '../call-uid';
import { COPIED_TABLES } from '../copied-tables';
import type { CopiedTable } from '../copied-tables';
import { sqlIdentifier } from '../sql-identifier';
import type { CopySource, CopyTarget, RowBatch } from '../store-copy';
import type { PostgresStore } from './connect';
import { CopyTextEncoder } from './copy-text';
import { migratePostgres } from './migrate';
import { holdClient } from './pooled-client';
import type { HeldClient } from './pooled-client';
import { connectStore, requireSchema } from './store-unavailable';

/** Rows fetched from a cursor at a time. */
const FETCH_ROWS = 5_000;

const APPLICATION = 'callguard store copy';

/** Connects and takes the one connection the copy works on; the pool goes again if anything before that fails. */
async function openStore(url: string, prepare: (store: PostgresStore) => Promise<unknown>): Promise<{ store: PostgresStore; held: HeldClient }> {
  const store = await connectStore(url, { applicationName: APPLICATION, max: 1 });
  try {
    await prepare(store);
    return { store, held: await holdClient(store.pool) };
  } catch (error) {
    await store.pool.end();
    throw error;
  }
}

/** What reading and writing a PostgreSQL store for a copy share: one connection, the schema's columns, counts. */
abstract class PostgresCopyEnd {
  readonly label: string;

  constructor(
    private readonly store: PostgresStore,
    private readonly held: HeldClient,
  ) {
    this.label = `PostgreSQL at ${store.address.label}`;
  }

  protected get client(): PoolClient {
    return this.held.client;
  }

  async columns(table: CopiedTable): Promise<readonly string[]> {
    const { rows } = await this.client.query<{ column_name: string }>(
      'SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position',
      [table.name],
    );
    return rows.map((row) => row.column_name);
  }

  async count(table: CopiedTable): Promise<number> {
    const { rows } = await this.client.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${sqlIdentifier(table.name)}`);
    return rows[0]!.n;
  }

  async close(): Promise<void> {
    this.held.release();
    await this.store.pool.end();
  }
}

/** A PostgreSQL store read for a copy, in one REPEATABLE READ transaction: one instant of it, however long the copy takes. */
export class PostgresCopySource extends PostgresCopyEnd implements CopySource {
  /** Refuses a store whose schema this callguard cannot read (run `callguard migrate`, or upgrade). */
  static async open(url: string): Promise<PostgresCopySource> {
    const { store, held } = await openStore(url, (opened) => requireSchema(opened, url));
    const source = new PostgresCopySource(store, held);
    try {
      await held.client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    } catch (error) {
      await source.close();
      throw error;
    }
    return source;
  }

  async lastId(table: CopiedTable): Promise<number> {
    const { rows } = await this.client.query<{ id: number }>("SELECT coalesce(pg_sequence_last_value(pg_get_serial_sequence($1, 'id')::regclass), 0) AS id", [table.name]);
    return rows[0]!.id;
  }

  async *rows(table: CopiedTable, columns: readonly string[]): AsyncIterable<RowBatch> {
    const cursor = sqlIdentifier(`copy_${table.name}`);
    await this.client.query(`DECLARE ${cursor} NO SCROLL CURSOR FOR SELECT ${columns.map(sqlIdentifier).join(', ')} FROM ${sqlIdentifier(table.name)}`);
    for (;;) {
      const { rows } = await this.client.query<unknown[]>({ text: `FETCH ${FETCH_ROWS} FROM ${cursor}`, rowMode: 'array' });
      if (rows.length > 0) yield rows;
      if (rows.length < FETCH_ROWS) break;
    }
    await this.client.query(`CLOSE ${cursor}`);
  }
}

/**
 * A PostgreSQL store written by a copy, each table through COPY FROM STDIN in one
 * transaction. A database without callguard's schema is given it first (`callguard
 * migrate`, which the operator would otherwise have to run), as a new SQLite file is;
 * a schema from a newer callguard is refused. The change feed's triggers record the
 * copied rows, so agents already following this store load them.
 */
export class PostgresCopyTarget extends PostgresCopyEnd implements CopyTarget {
  private readonly encoder = new CopyTextEncoder();

  static async open(url: string): Promise<PostgresCopyTarget> {
    const { store, held } = await openStore(url, async (opened) => {
      await migratePostgres(opened.pool);
      await requireSchema(opened, url);
    });
    return new PostgresCopyTarget(store, held);
  }

  get notes(): readonly string[] {
    const removed = this.encoder.nulsRemoved;
    return removed > 0 ? [`removed ${removed} NUL character(s) from text values: PostgreSQL text cannot hold them`] : [];
  }

  async begin(): Promise<void> {
    await this.client.query('BEGIN');
    // No agent or command writes these tables until the copy is committed or rolled back.
    await this.client.query(`LOCK TABLE ${COPIED_TABLES.map((table) => sqlIdentifier(table.name)).join(', ')} IN EXCLUSIVE MODE`);
  }

  async holdsData(table: CopiedTable): Promise<boolean> {
    const { rowCount } = await this.client.query(`SELECT 1 FROM ${sqlIdentifier(table.name)}${table.seedsDefault ? " WHERE name <> 'default'" : ''} LIMIT 1`);
    return (rowCount ?? 0) > 0;
  }

  async clearSeeded(table: CopiedTable): Promise<void> {
    if (table.seedsDefault) await this.client.query(`DELETE FROM ${sqlIdentifier(table.name)} WHERE name = 'default'`);
  }

  async write(table: CopiedTable, columns: readonly string[], batches: AsyncIterable<RowBatch>, onRows: (rows: number) => void): Promise<void> {
    const at = table.postgresUid && !columns.includes('uid') ? columns.indexOf('at') : -1;
    const names = at >= 0 ? [...columns, 'uid'] : columns;
    const encoder = this.encoder;
    async function* lines(): AsyncIterable<string> {
      for await (const batch of batches) {
        let chunk = '';
        for (const row of batch) chunk += encoder.line(at >= 0 ? [...row, callUid(row[at] as number)] : row);
        yield chunk;
        onRows(batch.length);
      }
    }
    const copy = this.client.query(copyFrom(`COPY ${sqlIdentifier(table.name)} (${names.map(sqlIdentifier).join(', ')}) FROM STDIN`));
    try {
      await pipeline(Readable.from(lines()), copy);
    } catch (error) {
      const where = error instanceof Error && 'where' in error && typeof error.where === 'string' ? ` (${error.where})` : '';
      throw new Error(`copying ${table.name} into ${this.label} failed: ${error instanceof Error ? error.message : String(error)}${where}`);
    }
  }

  async continueIdsAfter(table: CopiedTable, lastId: number): Promise<void> {
    await this.client.query(
      `SELECT setval(pg_get_serial_sequence($1, 'id'), greatest(top, 1), top > 0)
         FROM (SELECT greatest($2::bigint, coalesce(max(id), 0)) AS top FROM ${sqlIdentifier(table.name)}) AS used`,
      [table.name, lastId],
    );
  }

  async commit(): Promise<void> {
    await this.client.query('COMMIT');
  }

  async rollback(): Promise<void> {
    await this.client.query('ROLLBACK').catch(() => undefined); // the connection may be gone: the error that led here is what counts
  }
}
