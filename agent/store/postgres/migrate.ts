import { join } from 'node:path';
import type { Pool } from 'pg';
import { BadInput } from '../../engine/bad-input';
import { migrationsIn } from '../migrate';
import type { Migration } from '../migrate';
import { packageRoot } from '../package-root';
import { CALLGUARD_LOCK_SPACE, MIGRATION_LOCK } from './advisory-locks';
import { withPooledClient } from './pooled-client';
import { storeAddress } from './store-address';

/** The PostgreSQL schema's numbered plain .sql files, named as SQLite's are. */
export function postgresMigrationsIn(dir = join(packageRoot(), 'migrations', 'postgres')): Migration[] {
  return migrationsIn(dir);
}

const CREATE_RECORD = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version    integer PRIMARY KEY,
  name       text NOT NULL,
  applied_at bigint NOT NULL
)`;

/**
 * Applies every migration not yet recorded, each in its own transaction under an
 * advisory lock, so that two agents starting at once cannot both apply one: the second
 * waits, then finds it recorded. Returns the versions this call applied.
 */
export async function migratePostgres(pool: Pool, migrations: readonly Migration[] = postgresMigrationsIn()): Promise<number[]> {
  const done: number[] = [];
  // A failure closes the connection, which rolls back the migration it was in.
  await withPooledClient(pool, async (client) => {
    for (const migration of migrations) {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1, $2)', [CALLGUARD_LOCK_SPACE, MIGRATION_LOCK]);
      await client.query(CREATE_RECORD);
      const applied = await client.query('SELECT 1 FROM schema_migrations WHERE version = $1', [migration.version]);
      if (applied.rowCount === 0) {
        await client.query(migration.sql);
        await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [migration.version, migration.name, Date.now()]);
        done.push(migration.version);
      }
      await client.query('COMMIT');
    }
  });
  return done;
}

/** The newest version recorded, 0 before the first migration. */
export async function postgresSchemaVersion(pool: Pool): Promise<number> {
  const present = await pool.query<{ present: boolean }>("SELECT to_regclass('schema_migrations') IS NOT NULL AS present");
  if (!present.rows[0]?.present) return 0;
  const newest = await pool.query<{ version: number | null }>('SELECT max(version) AS version FROM schema_migrations');
  return newest.rows[0]?.version ?? 0;
}

/**
 * Refuses a schema this callguard cannot work with, naming both versions and what to
 * do: older (run `callguard migrate`) or newer (from a newer callguard). Returns the
 * version when it is the one this callguard knows.
 */
export async function checkPostgresSchema(pool: Pool, migrations: readonly Migration[] = postgresMigrationsIn(), storeUrl?: string): Promise<number> {
  const needed = migrations.reduce((newest, migration) => Math.max(newest, migration.version), 0);
  const found = await postgresSchemaVersion(pool);
  const url = (storeUrl && storeAddress(storeUrl)?.safeUrl) || '<url>';
  if (found < needed) {
    const state = found === 0 ? 'has no callguard schema yet' : `is at version ${found}`;
    throw new BadInput(`the PostgreSQL schema ${state}, this callguard needs ${needed}: run \`callguard migrate --store ${url}\``);
  }
  if (found > needed) {
    throw new BadInput(`the PostgreSQL schema is from a newer callguard (schema ${found}); this one knows up to ${needed}: upgrade callguard on this machine`);
  }
  return found;
}
