/**
 * The store's two backends side by side, for suites that run the same operations on
 * each: a new SQLite file, or a new migrated PostgreSQL database of the test cluster.
 * Whatever is opened is closed and removed by `cleanups`.
 */
import type { Database } from 'better-sqlite3';
import type { CategoryBackend } from '../../agent/store/category-backend';
import { openDatabase } from '../../agent/store/database';
import { PostgresCategoryBackend } from '../../agent/store/postgres/category-backend';
import { PostgresRuleBackend } from '../../agent/store/postgres/rule-backend';
import { PostgresTenantBackend } from '../../agent/store/postgres/tenant-backend';
import type { RuleBackend } from '../../agent/store/rule-backend';
import { SqliteCategoryBackend } from '../../agent/store/sqlite-category-backend';
import { SqliteRuleBackend } from '../../agent/store/sqlite-rule-backend';
import { SqliteTenantBackend } from '../../agent/store/sqlite-tenant-backend';
import type { TenantBackend } from '../../agent/store/tenant-backend';
import { migratedPostgres } from './postgres-agent';
import { makeTempDir } from './temp-db';

export interface Backend {
  readonly rules: RuleBackend;
  readonly tenants: TenantBackend;
  readonly categories: CategoryBackend;
  /** The audit entries about `entity`, oldest first. */
  audit(entity: string): Promise<{ actor: string; verb: string; entity: string; key: string }[]>;
  count(table: 'rules' | 'lists' | 'dids' | 'tenants' | 'category_policies'): Promise<number>;
  /** Runs SQL both dialects read alike (no parameters). */
  exec(sql: string): Promise<void>;
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
    audit: async (entity) => db.prepare('SELECT actor, verb, entity, key FROM audit WHERE entity = ? ORDER BY id').all(entity) as never,
    count: async (table) => db.prepare(`SELECT count(*) AS n FROM ${table}`).pluck().get() as number,
    exec: async (sql) => void db.exec(sql),
  };
};

const postgres: BackendOpener = async (actor, cleanups) => {
  const { pool } = await migratedPostgres(cleanups);
  return {
    rules: new PostgresRuleBackend(pool, actor),
    tenants: new PostgresTenantBackend(pool, actor),
    categories: new PostgresCategoryBackend(pool, actor),
    audit: async (entity) => (await pool.query('SELECT actor, verb, entity, key FROM audit WHERE entity = $1 ORDER BY id', [entity])).rows,
    count: async (table) => (await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0]!.n,
    exec: async (sql) => void (await pool.query(sql)),
  };
};

/** For describe.each: each backend by name. */
export const BACKENDS: [string, BackendOpener][] = [
  ['SQLite', sqlite],
  ['PostgreSQL', postgres],
];
