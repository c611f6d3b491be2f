import type { Pool, PoolClient } from 'pg';
import { parseDuration } from '../../engine/duration';
import { DEFAULT_RETENTION } from '../call-log-queries';
import { CALLGUARD_LOCK_SPACE, HOUSEKEEPING_LOCK } from './advisory-locks';
import { PostgresOutboundCallBackend } from './outbound-call-backend';
import { withPooledClient } from './pooled-client';
import { pruneChanges } from './prune-changes';

/**
 * How long the change feed keeps a change. An agent away longer than this finds the feed
 * pruned past its copy and reloads the decision tables in full, which costs seconds, not
 * correctness.
 */
export const CHANGES_KEPT_MS = 7 * 24 * 60 * 60_000;

/** Rows deleted per statement: each batch is a short transaction, never a lock on the whole log. */
const DELETE_BATCH = 10_000;

export interface HousekeepingResult {
  /** False when another agent of the fleet was doing it at the same moment. */
  readonly ran: boolean;
  readonly calls: number;
  readonly changes: number;
  /** Outbound calls past every tenant's callback trust window. */
  readonly outboundCalls: number;
}

/**
 * The fleet's share of what a SQLite agent does to its own file every hour: call-log rows
 * past the retention (`callguard log retention`, the same setting) and outbound calls past
 * every callback trust window are deleted, and the
 * change feed is kept to `CHANGES_KEPT_MS`. Every agent calls this; one at a time does the
 * work (a session advisory lock, tried, never waited for), so a fleet of any size costs the
 * server one pass.
 */
export async function keepFleetStoreTidy(pool: Pool, now = Date.now()): Promise<HousekeepingResult> {
  // A failure closes the connection, which releases the lock too.
  return withPooledClient(pool, async (client) => {
    const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS locked', [CALLGUARD_LOCK_SPACE, HOUSEKEEPING_LOCK]);
    if (!rows[0]!.locked) return { ran: false, calls: 0, changes: 0, outboundCalls: 0 };
    const calls = await pruneCalls(client, now - parseDuration(await retention(client), 'retention'));
    const outboundCalls = await new PostgresOutboundCallBackend(pool).prune(now);
    const changes = await pruneChanges(pool, now - CHANGES_KEPT_MS);
    await client.query('SELECT pg_advisory_unlock($1, $2)', [CALLGUARD_LOCK_SPACE, HOUSEKEEPING_LOCK]);
    return { ran: true, calls, changes, outboundCalls };
  });
}

async function retention(client: PoolClient): Promise<string> {
  const { rows } = await client.query<{ value: string }>("SELECT value FROM settings WHERE key = 'log_retention'");
  return rows[0]?.value ?? DEFAULT_RETENTION;
}

/** Deletes the calls logged before `before`, a batch at a time; returns how many. */
export async function pruneCalls(client: PoolClient, before: number): Promise<number> {
  let deleted = 0;
  for (;;) {
    const { rowCount } = await client.query('DELETE FROM calls WHERE id IN (SELECT id FROM calls WHERE at < $1 ORDER BY at LIMIT $2)', [before, DELETE_BATCH]);
    deleted += rowCount ?? 0;
    if ((rowCount ?? 0) < DELETE_BATCH) return deleted;
  }
}
