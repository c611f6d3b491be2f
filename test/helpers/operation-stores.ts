/**
 * The store's two backends as the operations reach them, for suites that run the same
 * operations on each: a new SQLite file, or a new migrated PostgreSQL database of the test
 * cluster. Whatever is opened is closed and removed by `cleanups`.
 */
import { postgresBackends, sqliteBackends } from '../../agent/operations/store-backends';
import type { Backends } from '../../agent/operations/store-backends';
import type { CallEntry } from '../../agent/store/call-log';
import { openDatabase } from '../../agent/store/database';
import { logToPostgres, logToSqlite } from './call-writers';
import type { LoggedOutcome } from './call-writers';
import { migratedPostgres } from './postgres-agent';
import { makeTempDir } from './temp-db';

export interface OperationStore {
  /** The store's backends, as one actor sees them (whose name the audit trail records). */
  readonly as: (actor: string) => Backends;
  /** Rows of a query both dialects read alike (no parameters). */
  rows(sql: string): Promise<Record<string, unknown>[]>;
  /** Logs a call with its outcome, as the store's own writer does. */
  log(call: CallEntry, outcome: LoggedOutcome): Promise<void>;
}

/** `[name, open]` for each backend, for `describe.each`. */
export function operationStores(cleanups: (() => unknown)[]): [string, () => Promise<OperationStore>][] {
  return [
    [
      'SQLite',
      async () => {
        const dir = makeTempDir('callguard-store-');
        const db = openDatabase(dir.file('store.db'));
        cleanups.push(() => dir.remove(), () => db.close());
        const backends = sqliteBackends(db);
        return {
          as: (actor) => backends.as(actor),
          rows: async (sql) => db.prepare(sql).all() as Record<string, unknown>[],
          log: async (call, outcome) => logToSqlite(db, [call], [outcome]),
        };
      },
    ],
    [
      'PostgreSQL',
      async () => {
        const { pool } = await migratedPostgres(cleanups);
        const backends = postgresBackends(pool);
        return {
          as: (actor) => backends.as(actor),
          rows: async (sql) => (await pool.query(sql)).rows as Record<string, unknown>[],
          log: (call, outcome) => logToPostgres(pool, [call], [outcome]),
        };
      },
    ],
  ];
}

/** The BadInput a rejected promise carried: its message and field. */
export async function refusal(work: Promise<unknown>): Promise<{ message: string; field?: string | undefined }> {
  const error = await work.then(
    () => undefined,
    (caught: unknown) => caught as { message: string; field?: string },
  );
  if (!error) throw new Error('accepted');
  return { message: error.message, field: error.field };
}
