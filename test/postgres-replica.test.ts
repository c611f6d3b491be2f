// Each agent's local copy of PostgreSQL's decision tables: loaded in full once, then
// kept current from the change feed (notifications, with a poll and a reconnect to catch
// what a lost notification missed), and changing real decisions through the same
// SqliteDecisionStore and engine an agent uses.
import type { Database } from 'better-sqlite3';
import { Pool } from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { decide } from '../agent/engine/decide';
import { parsePattern } from '../agent/engine/patterns';
import type { ActionName } from '../agent/engine/types';
import { openDatabase } from '../agent/store/database';
import { SqliteDecisionStore } from '../agent/store/decision-view';
import { migratePostgres } from '../agent/store/postgres/migrate';
import { numericTypes } from '../agent/store/postgres/pg-types';
import { pruneChanges } from '../agent/store/postgres/prune-changes';
import { PostgresReplica } from '../agent/store/postgres/replica';
import type { ReplicaOptions } from '../agent/store/postgres/replica';
import { PATIENCE_MS, until } from './helpers/patience';
import { freshDatabase } from './helpers/postgres';
import { makeTempDir } from './helpers/temp-db';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Only notifications (or a reconnect) can bring a change: the safety-net poll is an hour away. */
const NO_POLL: ReplicaOptions = { pollEveryMs: 3_600_000 };

async function store(): Promise<Pool> {
  const pool = new Pool({ connectionString: await freshDatabase(), max: 6, types: numericTypes });
  pool.on('error', () => undefined); // connections the tests terminate
  cleanups.push(() => pool.end());
  await migratePostgres(pool);
  return pool;
}

function localCopy(path = ':memory:'): Database {
  const db = openDatabase(path);
  cleanups.push(() => db.close());
  return db;
}

async function replicate(pool: Pool, db: Database, options: ReplicaOptions = {}): Promise<PostgresReplica> {
  const replica = await PostgresReplica.start(pool, db, undefined, options);
  cleanups.push(() => replica.stop());
  return replica;
}

/** A rule written straight into PostgreSQL, as any agent's CLI would store it. */
async function addRule(pool: Pool, pattern: string, action: ActionName, extra: { scope?: string; list?: string } = {}): Promise<number> {
  const { kind, key, span } = parsePattern(pattern, 'US');
  const { rows } = await pool.query(
    `INSERT INTO rules (scope, kind, key, pattern, span, action, list, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id`,
    [extra.scope ?? 'global', kind, key, pattern, span, action, extra.list ?? null, Date.now()],
  );
  return rows[0].id as number;
}

/** The feed's newest seq: what a replica must reach to hold everything committed so far. */
async function lastSeq(pool: Pool): Promise<number> {
  return (await pool.query('SELECT max(seq) AS seq FROM changes')).rows[0].seq as number;
}

async function inEffect(pool: Pool, replica: PostgresReplica): Promise<void> {
  await replica.caughtUp(await lastSeq(pool), PATIENCE_MS);
}

/** What the engine decides for a call from `from` to the DID `to`, reading the local copy. */
function decider(db: Database) {
  const decisions = new SqliteDecisionStore(db);
  return (from: string, to = '+15551230000') => decide({ kind: 'call', from, to }, decisions, { country: 'US', now: Date.now() });
}

const count = (db: Database, table: string) => db.prepare(`SELECT count(*) FROM ${table}`).pluck().get() as number;

describe('PostgresReplica', () => {
  it('loads every decision table in full on first start, and decides from it', async () => {
    const pool = await store();
    await pool.query("INSERT INTO tenants (name, created_at) VALUES ('acme', 1)");
    await pool.query("INSERT INTO dids (number, tenant, created_at) VALUES ('+15551230000', 'acme', 1)");
    await pool.query("INSERT INTO lists (name, enabled, created_at) VALUES ('spam', 1, 1)");
    const blocked = await addRule(pool, '404-555-1234', 'block', { scope: 'tenant:acme', list: 'spam' });
    await addRule(pool, '312*', 'busy');
    await pool.query("INSERT INTO category_policies (scope, category, action, updated_at) VALUES ('global', 'anonymous', 'voicemail', 1)");
    await pool.query("INSERT INTO protection (scope, enabled, threshold, action, updated_at) VALUES ('global', 1, 70, 'block', 1)");
    await pool.query("INSERT INTO carrier_rules (scope, pattern, created_at) VALUES ('global', 'robocarrier', 1)");
    await pool.query("INSERT INTO carrier_prefixes (prefix, carrier) VALUES ('+1404555', 'Bandwidth')");
    await pool.query("INSERT INTO score_settings (key, value) VALUES ('attestation_c', '35')");
    await pool.query("INSERT INTO settings (key, value) VALUES ('log_retention', '90d')");
    const db = localCopy();
    const replica = await replicate(pool, db, NO_POLL);
    expect(replica).toMatchObject({ fullLoads: 1, changeBatches: 0, seq: await lastSeq(pool) });
    for (const table of ['tenants', 'dids', 'lists', 'rules', 'category_policies', 'protection', 'carrier_rules', 'carrier_prefixes', 'score_settings', 'settings']) {
      const [inPostgres, local] = [(await pool.query(`SELECT count(*) AS n FROM ${table}`)).rows[0].n, count(db, table)];
      expect(local, table).toBe(inPostgres);
    }
    expect(db.prepare('SELECT id, scope, list, span, sms, created_at FROM rules WHERE id = ?').get(blocked)).toEqual({
      id: blocked, scope: 'tenant:acme', list: 'spam', span: null, sms: 0, created_at: expect.any(Number),
    });
    const call = decider(db);
    expect(call('404-555-1234')).toMatchObject({ action: 'block', ruleId: blocked, tenant: 'acme' });
    expect(call('312-555-0000')).toMatchObject({ action: 'busy' });
    expect(call('anonymous')).toMatchObject({ action: 'voicemail', category: 'anonymous' });
  });

  it('a rule added, changed and removed in PostgreSQL changes the next decision, by notification', async () => {
    const pool = await store();
    const db = localCopy();
    const replica = await replicate(pool, db, NO_POLL);
    const call = decider(db);
    expect(call('404-555-1234').action).toBe('allow');
    const heard = replica.notifications;

    const id = await addRule(pool, '404-555-1234', 'block');
    await inEffect(pool, replica);
    expect(call('404-555-1234')).toMatchObject({ action: 'block', ruleId: id });
    expect(replica.notifications).toBeGreaterThan(heard);

    await pool.query("UPDATE rules SET action = 'challenge', updated_at = $2 WHERE id = $1", [id, Date.now()]);
    await inEffect(pool, replica);
    expect(call('404-555-1234')).toMatchObject({ action: 'challenge', ruleId: id });

    await pool.query('DELETE FROM rules WHERE id = $1', [id]);
    await inEffect(pool, replica);
    expect(call('404-555-1234').action).toBe('allow');
    expect(count(db, 'rules')).toBe(0);
    expect(replica).toMatchObject({ fullLoads: 1, changeBatches: 3 });
  });

  it('a change to what decisions cache (a list switched off, a new prefix length, a DID moved) is seen at once', async () => {
    const pool = await store();
    const db = localCopy();
    const replica = await replicate(pool, db, NO_POLL);
    const call = decider(db);
    // In one transaction: the list and its rule, the tenant and its DID.
    const client = await pool.connect();
    cleanups.push(() => client.release());
    await client.query('BEGIN');
    await client.query("INSERT INTO lists (name, enabled, created_at) VALUES ('spam', 1, 1)");
    const { kind, key, span } = parsePattern('+1 404 55*', 'US');
    await client.query(
      "INSERT INTO rules (scope, kind, key, pattern, span, action, list, created_at, updated_at) VALUES ('tenant:acme', $1, $2, '404-55', $3, 'block', 'spam', 1, 1)",
      [kind, key, span],
    );
    await client.query("INSERT INTO tenants (name, created_at) VALUES ('acme', 1)");
    await client.query("INSERT INTO dids (number, tenant, created_at) VALUES ('+15551230000', 'acme', 1)");
    await client.query('COMMIT');
    await inEffect(pool, replica);
    expect(call('404-555-1234')).toMatchObject({ action: 'block', tenant: 'acme' });

    await pool.query("UPDATE lists SET enabled = 0 WHERE name = 'spam'");
    await inEffect(pool, replica);
    expect(call('404-555-1234').action).toBe('allow');

    await pool.query("UPDATE lists SET enabled = 1 WHERE name = 'spam'");
    await pool.query("UPDATE dids SET tenant = 'default'");
    await inEffect(pool, replica);
    expect(call('404-555-1234')).toMatchObject({ action: 'allow', tenant: 'default' });
  });

  it('an outbound call arrives in the copy without making decisions reload their cached tables; a rule still does', async () => {
    const pool = await store();
    const db = localCopy();
    const replica = await replicate(pool, db, NO_POLL);
    const generation = () => db.prepare("SELECT value FROM meta WHERE key = 'generation'").pluck().get() as number;
    const before = generation();
    await pool.query("INSERT INTO outbound_calls (tenant, number, caller, at) VALUES ('default', '+14045551234', NULL, $1)", [Date.now()]);
    await inEffect(pool, replica);
    expect(count(db, 'outbound_calls')).toBe(1);
    expect(generation()).toBe(before);
    await addRule(pool, '404-555-1234', 'block');
    await inEffect(pool, replica);
    expect(generation()).toBe(before + 1);
  });

  it('a change whose notification was missed is caught up by the poll', async () => {
    const pool = await store();
    const db = localCopy();
    const replica = await replicate(pool, db, { listen: false, pollEveryMs: 200 });
    await addRule(pool, '404-555-1234', 'block');
    await inEffect(pool, replica);
    expect(decider(db)('404-555-1234').action).toBe('block');
    expect(replica.notifications).toBe(0);
  });

  it('a LISTEN connection that is cut reconnects and catches up on what was committed meanwhile', async () => {
    const pool = await store();
    const db = localCopy();
    const replica = await replicate(pool, db, { ...NO_POLL, reconnectFirstMs: 50 });
    await until(() => replica.listenerPid !== null, 'the replica to LISTEN');
    const firstPid = replica.listenerPid!;
    await pool.query('SELECT pg_terminate_backend($1)', [firstPid]);
    await until(() => replica.listenerPid !== firstPid, 'the replica to notice its LISTEN connection is gone');
    const id = await addRule(pool, '404-555-1234', 'block'); // nobody is listening (or a new listener has just started)
    await inEffect(pool, replica);
    expect(decider(db)('404-555-1234')).toMatchObject({ action: 'block', ruleId: id });
    await until(() => replica.listenerPid !== null, 'the replica to LISTEN again');
    expect(replica.listenerPid).not.toBe(firstPid);
  });

  it('a replica restarted loads only what changed while it was down', async () => {
    const pool = await store();
    const dir = makeTempDir('callguard-replica-');
    cleanups.push(() => dir.remove());
    const path = dir.file('replica.db');
    const kept = await addRule(pool, '212-900-8000', 'block');
    const changed = await addRule(pool, '702-500-4000', 'block');
    const removed = await addRule(pool, '217*', 'block');

    const firstDb = openDatabase(path);
    const first = await PostgresReplica.start(pool, firstDb, undefined, NO_POLL);
    expect(first.fullLoads).toBe(1);
    await first.stop();
    firstDb.close();

    const added = await addRule(pool, '224*', 'voicemail');
    await pool.query("UPDATE rules SET action = 'busy' WHERE id = $1", [changed]);
    await pool.query('DELETE FROM rules WHERE id = $1', [removed]);
    await pool.query("INSERT INTO category_policies (scope, category, action, updated_at) VALUES ('global', 'anonymous', 'block', 1)");

    const db = localCopy(path);
    const replica = await replicate(pool, db, NO_POLL);
    expect(replica).toMatchObject({ fullLoads: 0, changeBatches: 1, seq: await lastSeq(pool) });
    expect(db.prepare('SELECT id, action FROM rules ORDER BY id').all()).toEqual([
      { id: kept, action: 'block' },
      { id: changed, action: 'busy' },
      { id: added, action: 'voicemail' },
    ]);
    const call = decider(db);
    expect(call('224-555-0000').action).toBe('voicemail');
    expect(call('217-555-0000').action).toBe('allow');
    expect(call('anonymous').action).toBe('block');
  });

  it('a replica further behind than the pruned feed, or copied from another database, loads in full', async () => {
    const pool = await store();
    const dir = makeTempDir('callguard-replica-');
    cleanups.push(() => dir.remove());
    const path = dir.file('replica.db');
    const firstDb = openDatabase(path);
    await (await PostgresReplica.start(pool, firstDb, undefined, NO_POLL)).stop();
    firstDb.close();

    const id = await addRule(pool, '404-555-1234', 'block');
    await pruneChanges(pool, Date.now() + 60_000);
    const db = openDatabase(path);
    const replica = await PostgresReplica.start(pool, db, undefined, NO_POLL);
    expect(replica).toMatchObject({ fullLoads: 1, changeBatches: 0 });
    expect(decider(db)('404-555-1234')).toMatchObject({ action: 'block', ruleId: id });
    await replica.stop();

    // The same local file pointed at another (empty) database: nothing of the first is kept.
    const other = await store();
    const moved = await replicate(other, db, NO_POLL);
    cleanups.push(() => db.close());
    expect(moved.fullLoads).toBe(1);
    expect(count(db, 'rules')).toBe(0);
    expect(decider(db)('404-555-1234').action).toBe('allow');
  });

  it('a 100,000-row import arrives with one notification and is in effect', async () => {
    const pool = await store();
    const db = localCopy();
    const replica = await replicate(pool, db, NO_POLL);
    const heard: number[] = [];
    replica.on('notification', (seq: number) => heard.push(seq));
    await pool.query(
      `INSERT INTO rules (scope, kind, key, pattern, action, created_at, updated_at)
       SELECT 'global', 'number', '+1404' || lpad(i::text, 7, '0'), '404' || lpad(i::text, 7, '0'), 'block', 1, 1 FROM generate_series(1, 100000) AS i`,
    );
    await inEffect(pool, replica);
    expect(count(db, 'rules')).toBe(100_000);
    expect(heard).toHaveLength(1);
    expect(decider(db)('404-005-4321').action).toBe('block');
    expect(decider(db)('405-005-4321').action).toBe('allow');
  });
});
