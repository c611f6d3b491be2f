/**
 * The store's two backends side by side, for suites that run the same operations on
 * each: a new SQLite file, or a new migrated PostgreSQL database of the test cluster.
 * Whatever is opened is closed and removed by `cleanups`.
 */
import type { Database } from 'better-sqlite3';
import type { AuditReader } from '../../agent/store/audit-reader';
import type { CallEntry } from '../../agent/store/call-log';
import type { CallLogBackend } from '../../agent/store/call-log-backend';
import type { CategoryBackend } from '../../agent/store/category-backend';
import { PostgresAuditReader } from '../../agent/store/postgres/audit-reader';
import { PostgresCallLogBackend } from '../../agent/store/postgres/call-log-backend';
import { SqliteAuditReader } from '../../agent/store/sqlite-audit-reader';
import { SqliteCallLogBackend } from '../../agent/store/sqlite-call-log-backend';
import { logToPostgres, logToSqlite } from './call-writers';
import type { LoggedOutcome } from './call-writers';
import { openDatabase } from '../../agent/store/database';
import { PostgresCategoryBackend } from '../../agent/store/postgres/category-backend';
import { PostgresProtectionBackend } from '../../agent/store/postgres/protection-backend';
import { PostgresRuleBackend } from '../../agent/store/postgres/rule-backend';
import { PostgresTenantBackend } from '../../agent/store/postgres/tenant-backend';
import { PostgresUserBackend } from '../../agent/store/postgres/user-backend';
import { PostgresWinningOrderBackend } from '../../agent/store/postgres/winning-order-backend';
import type { ProtectionBackend } from '../../agent/store/protection-backend';
import type { RuleBackend } from '../../agent/store/rule-backend';
import { SqliteCategoryBackend } from '../../agent/store/sqlite-category-backend';
import { SqliteProtectionBackend } from '../../agent/store/sqlite-protection-backend';
import { SqliteRuleBackend } from '../../agent/store/sqlite-rule-backend';
import { SqliteTenantBackend } from '../../agent/store/sqlite-tenant-backend';
import { SqliteUserBackend } from '../../agent/store/sqlite-user-backend';
import { SqliteWinningOrderBackend } from '../../agent/store/sqlite-winning-order-backend';
import type { TenantBackend } from '../../agent/store/tenant-backend';
import type { UserBackend } from '../../agent/store/user-backend';
import type { WinningOrderBackend } from '../../agent/store/winning-order-backend';
import { migratedPostgres } from './postgres-agent';
import { makeTempDir } from './temp-db';

export interface Backend {
  readonly rules: RuleBackend;
  readonly tenants: TenantBackend;
  readonly categories: CategoryBackend;
  readonly calls: CallLogBackend;
  readonly auditTrail: AuditReader;
  /** Logs calls, then outcomes, as the store's own writer does (test/helpers/call-writers.ts). */
  logCalls(calls: readonly CallEntry[], outcomes?: readonly LoggedOutcome[]): Promise<void>;
  /** Users, tokens and sessions; `clock` (ms since the epoch) for token use and session expiry. */
  users(clock?: () => number): UserBackend;
  readonly winningOrder: WinningOrderBackend;
  readonly protection: ProtectionBackend;
  /** The audit entries about `entity`, oldest first. */
  audit(entity: string): Promise<{ actor: string; verb: string; entity: string; key: string }[]>;
  count(table: 'rules' | 'lists' | 'dids' | 'tenants' | 'category_policies'): Promise<number>;
  /** Runs SQL both dialects read alike (no parameters). */
  exec(sql: string): Promise<void>;
  /** The rows of a query both dialects read alike (no parameters). */
  rows(sql: string): Promise<Record<string, unknown>[]>;
}

export type BackendOpener = (actor: string, cleanups: (() => unknown)[]) => Promise<Backend>;

const sqlite: BackendOpener = async (actor, cleanups) => {
  const dir = makeTempDir('callguard-backend-');
  const db: Database = openDatabase(dir.file('store.db'));
  cleanups.push(() => dir.remove(), () => db.close());
  return {
    rules: new SqliteRuleBackend(db, actor),
    tenants: new SqliteTenantBackend(db, actor),
    categories: new SqliteCategoryBackend(db, actor),
    calls: new SqliteCallLogBackend(db, actor),
    auditTrail: new SqliteAuditReader(db),
    logCalls: async (calls, outcomes = []) => logToSqlite(db, calls, outcomes),
    users: (clock) => new SqliteUserBackend(db, actor, clock),
    winningOrder: new SqliteWinningOrderBackend(db),
    protection: new SqliteProtectionBackend(db, actor),
    audit: async (entity) => db.prepare('SELECT actor, verb, entity, key FROM audit WHERE entity = ? ORDER BY id').all(entity) as never,
    count: async (table) => db.prepare(`SELECT count(*) AS n FROM ${table}`).pluck().get() as number,
    exec: async (sql) => void db.exec(sql),
    rows: async (sql) => db.prepare(sql).all() as Record<string, unknown>[],
  };
};

const postgres: BackendOpener = async (actor, cleanups) => {
  const { pool } = await migratedPostgres(cleanups);
  return {
    rules: new PostgresRuleBackend(pool, actor),
    tenants: new PostgresTenantBackend(pool, actor),
    categories: new PostgresCategoryBackend(pool, actor),
    calls: new PostgresCallLogBackend(pool, actor),
    auditTrail: new PostgresAuditReader(pool),
    logCalls: (calls, outcomes = []) => logToPostgres(pool, calls, outcomes),
    users: (clock) => new PostgresUserBackend(pool, actor, clock),
    winningOrder: new PostgresWinningOrderBackend(pool),
    protection: new PostgresProtectionBackend(pool, actor),
    audit: async (entity) => (await pool.query('SELECT actor, verb, entity, key FROM audit WHERE entity = $1 ORDER BY id', [entity])).rows,
    count: async (table) => (await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0]!.n,
    exec: async (sql) => void (await pool.query(sql)),
    rows: async (sql) => (await pool.query(sql)).rows,
  };
};

/** For describe.each: each backend by name. */
export const BACKENDS: [string, BackendOpener][] = [
  ['SQLite', sqlite],
  ['PostgreSQL', postgres],
];
