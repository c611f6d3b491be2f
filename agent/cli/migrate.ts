import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { openDatabase } from '../store/database';
import { sqliteSchemaVersion } from '../store/migrate';
import { migratePostgres, postgresMigrationsIn, postgresSchemaVersion } from '../store/postgres/migrate';
import { connectStore, requireSchema } from '../store/postgres/store-unavailable';
import { withContext } from './action';
import type { CliContext } from './context';

/**
 * Creates or upgrades the PostgreSQL schema of a fleet, saying what it applied. A schema
 * from a newer callguard is refused untouched, naming both versions.
 */
async function migratePostgresStore(url: string): Promise<void> {
  const store = await connectStore(url, { applicationName: 'callguard migrate' });
  try {
    const migrations = postgresMigrationsIn();
    const newest = Math.max(...migrations.map((migration) => migration.version));
    if ((await postgresSchemaVersion(store.pool)) > newest) await requireSchema(store, url, migrations); // throws, naming both
    const applied = await migratePostgres(store.pool, migrations);
    const names = migrations.filter((migration) => applied.includes(migration.version)).map((migration) => `${migration.version} ${migration.name}`);
    console.log(
      applied.length > 0
        ? `applied ${names.join(', ')} to PostgreSQL at ${store.address.label}: its schema is now at version ${newest}`
        : `PostgreSQL at ${store.address.label} is already at schema version ${newest}: nothing to apply`,
    );
  } finally {
    await store.pool.end();
  }
}

/** The SQLite file is brought up to date whenever a command opens it; this says so and from what version. */
function migrateSqliteFile(ctx: CliContext): void {
  const before = existsSync(ctx.dbPath) ? readVersion(ctx.dbPath) : 0;
  const after = sqliteSchemaVersion(ctx.db);
  console.log(
    after > before
      ? `migrated the SQLite file ${ctx.dbPath} from schema version ${before} to ${after} (every command does this when it opens the file)`
      : `the SQLite file ${ctx.dbPath} is already at schema version ${after}: nothing to apply (every command brings it up to date when it opens the file)`,
  );
}

function readVersion(path: string): number {
  const db = openDatabase(path, { readonly: true });
  try {
    return sqliteSchemaVersion(db);
  } finally {
    db.close();
  }
}

export function registerMigrate(program: Command): void {
  program
    .command('migrate')
    .description('create or upgrade the schema of the store: PostgreSQL (--store, CALLGUARD_STORE or store.url), else the SQLite file')
    .action(withContext((ctx) => (ctx.store.kind === 'postgres' ? migratePostgresStore(ctx.store.url) : migrateSqliteFile(ctx))));
}
