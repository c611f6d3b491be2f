// The fleet's hourly housekeeping on a real PostgreSQL: call-log rows past the retention
// and old change-feed rows go, one agent at a time.
import { Pool } from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { CALLGUARD_LOCK_SPACE, HOUSEKEEPING_LOCK } from '../agent/store/postgres/advisory-locks';
import { CHANGES_KEPT_MS, keepFleetStoreTidy } from '../agent/store/postgres/fleet-housekeeping';
import { migratePostgres } from '../agent/store/postgres/migrate';
import { numericTypes } from '../agent/store/postgres/pg-types';
import { freshDatabase } from './helpers/postgres';

const DAY_MS = 24 * 60 * 60_000;
const NOW = Date.UTC(2026, 11, 5, 12);

const pools: Pool[] = [];
afterEach(async () => {
  await Promise.all(pools.splice(0).map((pool) => pool.end()));
});

async function store(): Promise<Pool> {
  const pool = new Pool({ connectionString: await freshDatabase(), max: 4, types: numericTypes });
  pools.push(pool);
  await migratePostgres(pool);
  return pool;
}

/** `count` call-log rows at `at`, each with its own uid under `tag`. */
async function logCalls(pool: Pool, tag: string, count: number, at: number): Promise<void> {
  await pool.query(
    `INSERT INTO calls (uid, at, kind, source, tenant, action, reasons)
     SELECT $1 || n, $2, 'call', 'test', 'default', 'allow', '[]' FROM generate_series(1, $3) AS n`,
    [tag, at, count],
  );
}

async function callsByTag(pool: Pool): Promise<Record<string, number>> {
  const { rows } = await pool.query<{ tag: string; n: number }>("SELECT split_part(uid, '-', 1) AS tag, count(*)::int AS n FROM calls GROUP BY 1 ORDER BY 1");
  return Object.fromEntries(rows.map((row) => [row.tag, row.n]));
}

describe('fleet housekeeping', () => {
  it('deletes call-log rows past the retention, in batches, and keeps the rest', async () => {
    const pool = await store();
    await pool.query("INSERT INTO settings (key, value) VALUES ('log_retention', '30d')");
    await logCalls(pool, 'old-', 25_000, NOW - 31 * DAY_MS); // more than one batch
    await logCalls(pool, 'edge-', 3, NOW - 29 * DAY_MS);
    await logCalls(pool, 'new-', 5, NOW - 60_000);

    const result = await keepFleetStoreTidy(pool, NOW);

    expect(result).toMatchObject({ ran: true, calls: 25_000 });
    expect(await callsByTag(pool)).toEqual({ edge: 3, new: 5 });
  });

  it('keeps 90 days when no retention was set', async () => {
    const pool = await store();
    await logCalls(pool, 'old-', 2, NOW - 91 * DAY_MS);
    await logCalls(pool, 'kept-', 2, NOW - 89 * DAY_MS);
    expect((await keepFleetStoreTidy(pool, NOW)).calls).toBe(2);
    expect(await callsByTag(pool)).toEqual({ kept: 2 });
  });

  it('prunes the change feed older than a week and records how far, so a longer-absent agent reloads in full', async () => {
    const pool = await store();
    await pool.query("INSERT INTO changes (at, entity, key) VALUES ($1, 'rules', '[1]'), ($1, 'rules', '[2]'), ($2, 'rules', '[3]')", [NOW - CHANGES_KEPT_MS - DAY_MS, NOW - DAY_MS]);
    const { rows: before } = await pool.query<{ seq: number; key: string }>('SELECT seq, key FROM changes ORDER BY seq');

    const result = await keepFleetStoreTidy(pool, NOW);

    expect(result.changes).toBe(2);
    const { rows: left } = await pool.query<{ key: string }>('SELECT key FROM changes ORDER BY seq');
    expect(left.map((row) => row.key)).toEqual(['[3]']);
    const { rows: meta } = await pool.query<{ value: number }>("SELECT value FROM meta WHERE key = 'changes_pruned_through'");
    expect(meta[0]!.value).toBe(before[1]!.seq);
  });

  it('one agent at a time: while another holds the turn, nothing is deleted; afterwards the next pass does it', async () => {
    const pool = await store();
    await logCalls(pool, 'old-', 4, NOW - 100 * DAY_MS);
    const other = await pool.connect();
    try {
      await other.query('SELECT pg_advisory_lock($1, $2)', [CALLGUARD_LOCK_SPACE, HOUSEKEEPING_LOCK]);
      expect(await keepFleetStoreTidy(pool, NOW)).toEqual({ ran: false, calls: 0, changes: 0, outboundCalls: 0 });
      expect(await callsByTag(pool)).toEqual({ old: 4 });
      await other.query('SELECT pg_advisory_unlock($1, $2)', [CALLGUARD_LOCK_SPACE, HOUSEKEEPING_LOCK]);
    } finally {
      other.release();
    }
    expect(await keepFleetStoreTidy(pool, NOW)).toMatchObject({ ran: true, calls: 4 });
    // The turn was given back: a second pass runs too, finding nothing left.
    expect(await keepFleetStoreTidy(pool, NOW)).toEqual({ ran: true, calls: 0, changes: 0, outboundCalls: 0 });
  });
});
