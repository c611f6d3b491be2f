import { COPIED_TABLES } from './copied-tables';
import type { CopiedTable } from './copied-tables';
import { StoreUnavailable } from './postgres/store-unavailable';

/** Rows as arrays of values, in the order of the columns they were read for. */
export type RowBatch = readonly (readonly unknown[])[];

/** A store read from one consistent snapshot (a read transaction) for the whole copy. */
export interface CopySource {
  /** Where it is, for messages: never a password. */
  readonly label: string;
  columns(table: CopiedTable): Promise<readonly string[]>;
  count(table: CopiedTable): Promise<number>;
  /** The highest id the table's counter has handed out (rows since removed included), 0 if none. */
  lastId(table: CopiedTable): Promise<number>;
  /** The rows, a batch at a time, never the whole table at once. */
  rows(table: CopiedTable, columns: readonly string[]): AsyncIterable<RowBatch>;
  close(): Promise<void>;
}

/** An empty store written in one transaction: every row of the copy, or none. */
export interface CopyTarget {
  readonly label: string;
  /** Opens the transaction; the target's tables are kept from other writers until it ends. */
  begin(): Promise<void>;
  columns(table: CopiedTable): Promise<readonly string[]>;
  holdsData(table: CopiedTable): Promise<boolean>;
  clearSeeded(table: CopiedTable): Promise<void>;
  /** Writes every batch, telling `onRows` how many rows each held once it is handed on. */
  write(table: CopiedTable, columns: readonly string[], batches: AsyncIterable<RowBatch>, onRows: (rows: number) => void): Promise<void>;
  /** Sets the table's counter so that the next id is past `lastId` and past every row's id. */
  continueIdsAfter(table: CopiedTable, lastId: number): Promise<void>;
  count(table: CopiedTable): Promise<number>;
  commit(): Promise<void>;
  /** Undoes the transaction (and removes what the target made to hold it, a new file say). */
  rollback(): Promise<void>;
  close(): Promise<void>;
  /** What the target had to change on the way in (NUL characters PostgreSQL cannot hold, say), for the operator. */
  readonly notes: readonly string[];
}

export interface CopiedCount {
  readonly table: string;
  readonly rows: number;
}

/** How far the copy is: rows done of all rows, and the table being copied. */
export type CopyProgress = (done: number, total: number, table: string) => void;

/** The source and target hold different numbers of rows of a table after the copy: rolled back. */
export class CopyMismatch extends Error {
  override readonly name = 'CopyMismatch';
}

/**
 * Copies every table of COPIED_TABLES from `source` into `target` in the target's one
 * transaction: refused, with nothing written, unless the target holds no data; ids kept
 * and counters carried on past them; then every table's row count on the target checked
 * against the source's before COMMIT (a difference rolls everything back). Only the
 * columns both sides have are copied (the uid PostgreSQL's audit has and SQLite's lacks).
 */
export async function copyStore(source: CopySource, target: CopyTarget, onProgress: CopyProgress = () => {}): Promise<CopiedCount[]> {
  const counts = new Map<CopiedTable, number>();
  for (const table of COPIED_TABLES) counts.set(table, await source.count(table));
  const total = [...counts.values()].reduce((sum, rows) => sum + rows, 0);
  await target.begin();
  try {
    const holding = [];
    for (const table of COPIED_TABLES) if (await target.holdsData(table)) holding.push(table.name);
    if (holding.length > 0) {
      throw new StoreUnavailable(`${target.label} already holds data (${holding.join(', ')}): store copy fills only an empty store, so it wrote nothing`);
    }
    let done = 0;
    for (const table of COPIED_TABLES) {
      await target.clearSeeded(table);
      const wanted = await target.columns(table);
      const columns = (await source.columns(table)).filter((column) => wanted.includes(column));
      onProgress(done, total, table.name);
      await target.write(table, columns, source.rows(table, columns), (rows) => onProgress((done += rows), total, table.name));
      if (table.ids) await target.continueIdsAfter(table, await source.lastId(table));
    }
    for (const [table, expected] of counts) {
      const found = await target.count(table);
      if (found !== expected) {
        throw new CopyMismatch(`${table.name}: ${source.label} has ${expected} row(s) but ${target.label} would hold ${found}: rolled back, nothing was written`);
      }
    }
    await target.commit();
  } catch (error) {
    await target.rollback();
    if (error instanceof StoreUnavailable || error instanceof CopyMismatch) throw error; // these already say nothing was written
    throw new Error(`${error instanceof Error ? error.message : String(error)}: rolled back, nothing was written to ${target.label}`);
  }
  return COPIED_TABLES.map((table) => ({ table: table.name, rows: counts.get(table)! }));
}
