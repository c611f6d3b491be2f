import { existsSync, rmSync } from 'node:fs';
import type { Database } from 'better-sqlite3';
import type { CopiedTable } from './copied-tables';
import { openDatabase } from './database';
import { bumpGeneration } from './generation';
import { StoreUnavailable } from './postgres/store-unavailable';
import { sqlIdentifier } from './sql-identifier';
import type { CopySource, CopyTarget, RowBatch } from './store-copy';

/** Rows handed on at a time: large enough to keep a COPY stream busy, small enough to stay a few hundred kB. */
const BATCH_ROWS = 2_000;

function columnsOf(db: Database, table: CopiedTable): string[] {
  return (db.prepare(`PRAGMA main.table_info(${sqlIdentifier(table.name)})`).all() as { name: string }[]).map((column) => column.name);
}

function countOf(db: Database, table: CopiedTable): number {
  return db.prepare(`SELECT count(*) FROM ${sqlIdentifier(table.name)}`).pluck().get() as number;
}

const labelOf = (path: string) => `the SQLite file ${path}`;

/**
 * A SQLite file read for a copy, opened as every command opens it (its schema brought up
 * to date) and read in one read transaction: a running agent may go on logging calls,
 * and the copy sees the file as it was when the copy began.
 */
export class SqliteCopySource implements CopySource {
  readonly label: string;
  private readonly db: Database;

  constructor(path: string) {
    this.label = labelOf(path);
    // openDatabase would make a new, empty file: a mistyped source must not be copied as "nothing".
    if (!existsSync(path)) throw new StoreUnavailable(`there is no SQLite file at ${path} to copy from`);
    this.db = openDatabase(path);
    this.db.exec('BEGIN');
  }

  async columns(table: CopiedTable): Promise<readonly string[]> {
    return columnsOf(this.db, table);
  }

  async count(table: CopiedTable): Promise<number> {
    return countOf(this.db, table);
  }

  async lastId(table: CopiedTable): Promise<number> {
    return (this.db.prepare('SELECT seq FROM sqlite_sequence WHERE name = ?').pluck().get(table.name) as number | undefined) ?? 0;
  }

  async *rows(table: CopiedTable, columns: readonly string[]): AsyncIterable<RowBatch> {
    const rows = this.db.prepare(`SELECT ${columns.map(sqlIdentifier).join(', ')} FROM ${sqlIdentifier(table.name)}`).raw().iterate() as IterableIterator<unknown[]>;
    let batch: unknown[][] = [];
    for (const row of rows) {
      batch.push(row);
      if (batch.length === BATCH_ROWS) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length > 0) yield batch;
  }

  async close(): Promise<void> {
    this.db.close();
  }
}

/**
 * A SQLite file written by a copy: made with the normal migrations if it is not there,
 * filled in one IMMEDIATE transaction, removed again if the copy that made it fails.
 * Inserting calls fills call_hours through the schema's own triggers.
 */
export class SqliteCopyTarget implements CopyTarget {
  readonly label: string;
  readonly notes: readonly string[] = [];
  private readonly made: boolean;
  private readonly db: Database;

  constructor(private readonly path: string) {
    this.label = labelOf(path);
    this.made = !existsSync(path);
    this.db = openDatabase(path);
  }

  async begin(): Promise<void> {
    this.db.exec('BEGIN IMMEDIATE');
  }

  async columns(table: CopiedTable): Promise<readonly string[]> {
    return columnsOf(this.db, table);
  }

  async holdsData(table: CopiedTable): Promise<boolean> {
    const found = this.db.prepare(`SELECT 1 FROM ${sqlIdentifier(table.name)}${table.seedsDefault ? " WHERE name <> 'default'" : ''} LIMIT 1`).get();
    return found !== undefined;
  }

  async clearSeeded(table: CopiedTable): Promise<void> {
    if (table.seedsDefault) this.db.prepare(`DELETE FROM ${sqlIdentifier(table.name)} WHERE name = 'default'`).run();
  }

  async write(table: CopiedTable, columns: readonly string[], batches: AsyncIterable<RowBatch>, onRows: (rows: number) => void): Promise<void> {
    const insert = this.db.prepare(`INSERT INTO ${sqlIdentifier(table.name)} (${columns.map(sqlIdentifier).join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`);
    for await (const batch of batches) {
      for (const row of batch) insert.run(...row);
      onRows(batch.length);
    }
  }

  /** Only AUTOINCREMENT tables keep a counter (sqlite_sequence); calls takes max(id) + 1 as SQLite always does. */
  async continueIdsAfter(table: CopiedTable, lastId: number): Promise<void> {
    const counted = this.db.prepare("SELECT sql LIKE '%AUTOINCREMENT%' FROM sqlite_master WHERE type = 'table' AND name = ?").pluck().get(table.name);
    if (!counted || lastId <= 0) return;
    const raised = this.db.prepare('UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = ?').run(lastId, table.name);
    if (raised.changes === 0) this.db.prepare('INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)').run(table.name, lastId);
  }

  async count(table: CopiedTable): Promise<number> {
    return countOf(this.db, table);
  }

  async commit(): Promise<void> {
    bumpGeneration(this.db); // an agent already reading this file refreshes its caches
    this.db.exec('COMMIT');
  }

  async rollback(): Promise<void> {
    if (this.db.inTransaction) this.db.exec('ROLLBACK');
    if (!this.made) return;
    this.db.close();
    for (const file of [this.path, `${this.path}-wal`, `${this.path}-shm`]) rmSync(file, { force: true });
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
