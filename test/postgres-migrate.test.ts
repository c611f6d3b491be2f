// The PostgreSQL schema: applied from the numbered files once, whoever starts first; a
// schema older or newer than this callguard refused with both versions named; and the
// change feed its triggers keep.
import { Pool } from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { BadInput } from '../agent/engine/bad-input';
import type { Migration } from '../agent/store/migrate';
import { checkPostgresSchema, migratePostgres, postgresMigrationsIn, postgresSchemaVersion } from '../agent/store/postgres/migrate';
import { pruneChanges } from '../agent/store/postgres/prune-changes';
import { numericTypes } from '../agent/store/postgres/pg-types';
import { freshDatabase } from './helpers/postgres';

const pools: Pool[] = [];
afterEach(async () => {
  await Promise.all(pools.splice(0).map((pool) => pool.end()));
});

async function database(): Promise<{ url: string; pool: Pool }> {
  const url = await freshDatabase();
  const pool = new Pool({ connectionString: url, max: 4, types: numericTypes });
  pools.push(pool);
  return { url, pool };
}

const SHIPPED = postgresMigrationsIn();
const NEWEST = Math.max(...SHIPPED.map((migration) => migration.version));

/** The shipped migrations and one more, as a later callguard would carry. */
const withNext = (version = NEWEST + 1): Migration[] => [...SHIPPED, { version, name: 'later', sql: 'CREATE TABLE later_feature (id integer PRIMARY KEY)' }];

async function thrown(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected it to throw');
}

describe('migratePostgres', () => {
  it('creates every table of the SQLite schema on a fresh database, then has nothing left to do', async () => {
    const { pool } = await database();
    expect(await migratePostgres(pool)).toEqual(SHIPPED.map((migration) => migration.version));
    const { rows } = await pool.query<{ table_name: string }>("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'");
    expect(rows.map((row) => row.table_name).sort()).toEqual(
      [
        'audit', 'call_counts', 'call_hours', 'calls', 'carrier_prefixes', 'carrier_rules', 'category_policies', 'changes', 'dids', 'lists', 'meta', 'outbound_calls', 'protection', 'reputation_sources', 'rules',
        'schema_migrations', 'score_settings', 'sessions', 'settings', 'tenants', 'tokens', 'token_tenants', 'user_tenants', 'users',
      ].sort(),
    );
    expect(await migratePostgres(pool)).toEqual([]);
    expect((await pool.query('SELECT version, name FROM schema_migrations ORDER BY version')).rows).toEqual(
      SHIPPED.map(({ version, name }) => ({ version, name })),
    );
    expect(await checkPostgresSchema(pool)).toBe(NEWEST);
  });

  it('applies only the migrations not yet recorded', async () => {
    const { pool } = await database();
    await migratePostgres(pool);
    expect(await migratePostgres(pool, withNext())).toEqual([NEWEST + 1]);
    expect(await postgresSchemaVersion(pool)).toBe(NEWEST + 1);
  });

  it('two agents migrating one fresh database at once apply each migration once', async () => {
    const { url, pool } = await database();
    const other = new Pool({ connectionString: url, max: 2 });
    pools.push(other);
    const [first, second] = await Promise.all([migratePostgres(pool), migratePostgres(other)]);
    expect([...first, ...second].sort((a, b) => a - b)).toEqual(SHIPPED.map((migration) => migration.version));
    expect((await pool.query('SELECT count(*) AS n FROM schema_migrations')).rows[0].n).toBe(SHIPPED.length);
    expect((await pool.query("SELECT count(*) AS n FROM tenants WHERE name = 'default'")).rows[0].n).toBe(1);
  });

  it('a migration that fails leaves nothing of itself behind and is not recorded', async () => {
    const { pool } = await database();
    await migratePostgres(pool);
    const broken: Migration = { version: NEWEST + 1, name: 'broken', sql: 'CREATE TABLE half_done (id integer); SELECT no_such_function()' };
    await expect(migratePostgres(pool, [...SHIPPED, broken])).rejects.toThrow(/no_such_function/);
    expect((await pool.query("SELECT to_regclass('half_done') AS t")).rows[0].t).toBeNull();
    expect(await postgresSchemaVersion(pool)).toBe(NEWEST);
  });
});

describe('checkPostgresSchema', () => {
  it('refuses a database with no schema yet, saying which command to run (without the password)', async () => {
    const { url, pool } = await database();
    const error = await thrown(checkPostgresSchema(pool, SHIPPED, url));
    expect(error).toBeInstanceOf(BadInput);
    expect(error.message).toMatch(new RegExp(`no callguard schema yet, this callguard needs ${NEWEST}: run \`callguard migrate --store postgres://postgres@127\\.0\\.0\\.1:\\d+/callguard_\\w+\``));
    expect(error.message).not.toContain(new URL(url).password);
  });

  it('refuses an older schema, naming both versions and the migrate command', async () => {
    const { url, pool } = await database();
    await migratePostgres(pool);
    const error = await thrown(checkPostgresSchema(pool, withNext(), url));
    expect(error).toBeInstanceOf(BadInput);
    expect(error.message).toContain(`the PostgreSQL schema is at version ${NEWEST}, this callguard needs ${NEWEST + 1}: run \`callguard migrate --store postgres://postgres@`);
    expect(error.message.split('\n')).toHaveLength(1);
  });

  it('refuses a schema from a newer callguard, naming both versions', async () => {
    const { pool } = await database();
    await migratePostgres(pool, withNext(NEWEST + 4));
    const error = await thrown(checkPostgresSchema(pool));
    expect(error).toBeInstanceOf(BadInput);
    expect(error.message).toBe(`the PostgreSQL schema is from a newer callguard (schema ${NEWEST + 4}); this one knows up to ${NEWEST}: upgrade callguard on this machine`);
  });
});

describe('the schema', () => {
  it('keeps the SQLite CHECKs and the uniqueness the log and the rules rely on', async () => {
    const { pool } = await database();
    await migratePostgres(pool);
    const rule = (kind: string, action: string, key = 'k') =>
      pool.query('INSERT INTO rules (scope, kind, key, pattern, action, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6)', ['global', kind, key, key, action, 1]);
    await rule('number', 'block');
    await expect(rule('number', 'allow')).rejects.toMatchObject({ code: '23505' }); // (key, kind, scope) unique
    await expect(rule('regex', 'block', 'x')).rejects.toMatchObject({ code: '23514' });
    await expect(rule('number', 'explode', 'y')).rejects.toMatchObject({ code: '23514' });
    await expect(
      pool.query("INSERT INTO protection (scope, enabled, threshold, action, updated_at) VALUES ('global', 1, 5, 'block', 0)"),
    ).rejects.toMatchObject({ code: '23514' });
    const audit = (uid: string) =>
      pool.query("INSERT INTO audit (uid, at, actor, verb, entity, key) VALUES ($1, 1, 'me', 'add', 'rule', '1') ON CONFLICT (uid) DO NOTHING", [uid]);
    expect((await audit('a-1')).rowCount).toBe(1);
    expect((await audit('a-1')).rowCount).toBe(0); // delivered twice, kept once
    // ids and ms timestamps are bigint, read as numbers like SQLite's
    const { rows } = await pool.query({ text: 'SELECT id, created_at FROM rules', types: numericTypes });
    expect(rows).toEqual([{ id: 1, created_at: 1 }]);
  });

  it('records each changed row of a decision table in the change feed, with one notification per statement', async () => {
    const { url, pool } = await database();
    await migratePostgres(pool);
    const listener = new Pool({ connectionString: url, max: 1 });
    pools.push(listener);
    const client = await listener.connect();
    const heard: string[] = [];
    client.on('notification', (message) => heard.push(message.payload ?? ''));
    await client.query('LISTEN callguard_changes');
    await pool.query(
      "INSERT INTO rules (scope, kind, key, pattern, action, created_at, updated_at) SELECT 'global', 'number', '+1404555' || lpad(i::text, 4, '0'), 'p', 'block', 0, 0 FROM generate_series(1, 1000) AS i",
    );
    await pool.query("INSERT INTO category_policies (scope, category, action, updated_at) VALUES ('tenant:acme', 'anonymous', 'block', 0)");
    await pool.query("UPDATE category_policies SET action = 'voicemail'");
    await pool.query("INSERT INTO calls (uid, at, kind, source, tenant, action, reasons) VALUES ('c1', 0, 'call', 'hook', 'default', 'allow', '[]')");
    await pool.query('TRUNCATE carrier_prefixes');
    const changes = await pool.query<{ seq: number; entity: string; key: string | null }>({ text: 'SELECT seq, entity, key FROM changes ORDER BY seq', types: numericTypes });
    expect(changes.rows.filter((row) => row.entity === 'rules')).toHaveLength(1000);
    expect(changes.rows.filter((row) => row.entity === 'rules').map((row) => row.key)).toContain('[1000]');
    expect(changes.rows.filter((row) => row.entity === 'category_policies').map((row) => row.key)).toEqual(['["tenant:acme", "anonymous"]', '["tenant:acme", "anonymous"]']);
    expect(changes.rows.filter((row) => row.entity === 'calls')).toEqual([]); // the log is not a decision table
    expect(changes.rows.at(-1)).toMatchObject({ entity: 'carrier_prefixes', key: null });
    const last = changes.rows.at(-1)!.seq;
    const deadline = Date.now() + 60_000;
    while (!heard.includes(String(last)) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(heard).toHaveLength(4); // one per statement that changed a decision table
    client.release();
  });

  it('pruning the feed records how far it went', async () => {
    const { pool } = await database();
    await migratePostgres(pool);
    await pool.query("INSERT INTO settings (key, value) VALUES ('a', '1'), ('b', '2')");
    expect(await pruneChanges(pool, Date.now() + 1000)).toBe(2);
    const { rows } = await pool.query({ text: "SELECT value FROM meta WHERE key = 'changes_pruned_through'", types: numericTypes });
    expect(rows[0].value).toBe(2);
    expect((await pool.query('SELECT count(*)::int AS n FROM changes')).rows[0].n).toBe(0);
  });
});
