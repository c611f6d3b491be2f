import type { Database, Statement } from 'better-sqlite3';
import { bumpGeneration } from '../generation';
import { sqlIdentifier } from '../sql-identifier';
import { REPLICATED_TABLES } from './replicated-tables';
import type { ReplicatedTable } from './replicated-tables';

/** A row's values in the local table's column order (see LocalCopy.columnsOf). */
export type Row = readonly unknown[];

/** Where the local copy stands in the change feed; null before its first load. */
export interface CopyPosition {
  readonly seq: number | null;
  readonly storeId: number | null;
}

/** One table's part of a batch of changes: the keys that changed, and those rows as they are now. */
export interface TableChanges {
  readonly table: ReplicatedTable;
  /** Primary-key values, in the table's key column order. */
  readonly keys: readonly (readonly unknown[])[];
  /** The rows of those keys that exist now (a key without a row was deleted). */
  readonly rows: readonly Row[];
}

/** Kept in the local copy's own meta table, beside SQLite's generation counter. */
const SEQ = 'replica_seq';
const STORE_ID = 'replica_store_id';
const STAGING = 'replica_staging';

/**
 * The SQLite side of a replica: the normal callguard schema, so the engine and
 * SqliteDecisionStore read it unchanged. Every change is applied synchronously in one
 * transaction that also bumps the generation, so a decision (on this connection or
 * another) sees all of a batch or none of it, and its caches are refreshed.
 */
export class LocalCopy {
  private readonly columns = new Map<string, readonly string[]>();
  private readonly readMeta: Statement;
  private readonly writeMeta: Statement;

  constructor(private readonly db: Database) {
    this.readMeta = db.prepare('SELECT value FROM meta WHERE key = ?').pluck();
    this.writeMeta = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value');
  }

  position(): CopyPosition {
    return { seq: (this.readMeta.get(SEQ) as number | undefined) ?? null, storeId: (this.readMeta.get(STORE_ID) as number | undefined) ?? null };
  }

  /** The local table's columns, which are also what is read from PostgreSQL. */
  columnsOf(table: ReplicatedTable): readonly string[] {
    let columns = this.columns.get(table.name);
    if (!columns) {
      columns = (this.db.prepare(`PRAGMA main.table_info(${sqlIdentifier(table.name)})`).all() as { name: string }[]).map((column) => column.name);
      if (columns.length === 0) throw new Error(`the local copy has no table ${table.name}`);
      this.columns.set(table.name, columns);
    }
    return columns;
  }

  /** Replaces the changed rows and moves to `seq`, all in one transaction. */
  applyChanges(changes: readonly TableChanges[], seq: number, storeId: number): void {
    this.db.transaction(() => {
      this.deferForeignKeys();
      // Every delete before any insert: a rule re-added under a new id takes its old one's unique (key, kind, scope).
      for (const { table, keys } of changes) {
        const remove = this.db.prepare(`DELETE FROM main.${sqlIdentifier(table.name)} WHERE ${table.key.map((key) => `${sqlIdentifier(key.column)} = ?`).join(' AND ')}`);
        for (const key of keys) remove.run(...key);
      }
      for (const { table, rows } of changes) {
        const insert = this.insertInto(`main.${sqlIdentifier(table.name)}`, this.columnsOf(table));
        for (const row of rows) insert.run(...row);
      }
      this.moveTo(seq, storeId);
      if (changes.some(({ table }) => !table.readPerCall)) bumpGeneration(this.db);
    })();
  }

  /**
   * Starts replacing every replicated table. The rows gather in a private temporary
   * database attached to this connection, each batch in its own short transaction, so
   * that decisions go on reading the old copy between batches; commit() then swaps them in.
   */
  beginFullLoad(): FullLoad {
    this.db.exec(`ATTACH DATABASE '' AS ${STAGING}`);
    try {
      for (const table of REPLICATED_TABLES) {
        const columns = this.columnsOf(table).map(sqlIdentifier).join(', ');
        this.db.exec(`CREATE TABLE ${STAGING}.${sqlIdentifier(table.name)} AS SELECT ${columns} FROM main.${sqlIdentifier(table.name)} WHERE 0`);
      }
    } catch (error) {
      this.db.exec(`DETACH DATABASE ${STAGING}`);
      throw error;
    }
    return new FullLoad(this.db, (table) => this.insertInto(`${STAGING}.${sqlIdentifier(table.name)}`, this.columnsOf(table)), (seq, storeId) => this.swapIn(seq, storeId));
  }

  private swapIn(seq: number, storeId: number): void {
    this.db.transaction(() => {
      this.deferForeignKeys();
      for (const table of REPLICATED_TABLES) {
        const columns = this.columnsOf(table).map(sqlIdentifier).join(', ');
        this.db.exec(`DELETE FROM main.${sqlIdentifier(table.name)}`);
        this.db.exec(`INSERT INTO main.${sqlIdentifier(table.name)} (${columns}) SELECT ${columns} FROM ${STAGING}.${sqlIdentifier(table.name)}`);
      }
      this.moveTo(seq, storeId);
      bumpGeneration(this.db);
    })();
  }

  private insertInto(table: string, columns: readonly string[]): Statement {
    return this.db.prepare(`INSERT INTO ${table} (${columns.map(sqlIdentifier).join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`);
  }

  private moveTo(seq: number, storeId: number): void {
    this.writeMeta.run(SEQ, seq);
    this.writeMeta.run(STORE_ID, storeId);
  }

  /**
   * PostgreSQL already holds these rows to their foreign keys; mid-batch, a DID may arrive
   * before its tenant, so the check waits for COMMIT. (Cascades still fire at once: the
   * local copy holds no users or tokens for a removed tenant to take with it.)
   */
  private deferForeignKeys(): void {
    this.db.pragma('defer_foreign_keys = ON');
  }
}

/** A full load under way: append() each batch as it arrives, then commit() or abandon(). */
export class FullLoad {
  private readonly inserts = new Map<string, Statement>();
  private finished = false;
  rows = 0;

  constructor(
    private readonly db: Database,
    private readonly insertFor: (table: ReplicatedTable) => Statement,
    private readonly swapIn: (seq: number, storeId: number) => void,
  ) {}

  append(table: ReplicatedTable, rows: readonly Row[]): void {
    let insert = this.inserts.get(table.name);
    if (!insert) {
      insert = this.insertFor(table);
      this.inserts.set(table.name, insert);
    }
    const statement = insert;
    this.db.transaction(() => {
      for (const row of rows) statement.run(...row);
    })();
    this.rows += rows.length;
  }

  commit(seq: number, storeId: number): void {
    try {
      this.swapIn(seq, storeId);
    } finally {
      this.abandon();
    }
  }

  /** Drops the staged rows; the old copy stays as it was. */
  abandon(): void {
    if (this.finished) return;
    this.finished = true;
    this.inserts.clear();
    this.db.exec(`DETACH DATABASE ${STAGING}`);
  }
}
