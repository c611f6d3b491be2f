// Calls logged into a store as the agent's own writers log them, for suites that read the
// log back: SQLite's call log (agent/store/call-log.ts), and for PostgreSQL the shipper's
// delivery of a queued batch (agent/store/postgres/log-delivery.ts), many rows to a statement.
import type { Database } from 'better-sqlite3';
import type { Pool } from 'pg';
import type { Outcome } from '../../agent/actions/outcome';
import { CallLog } from '../../agent/store/call-log';
import type { CallEntry } from '../../agent/store/call-log';
import { deliverBatch } from '../../agent/store/postgres/log-delivery';
import { callRowOf, outcomeUpdateOf } from '../../agent/store/postgres/log-operations';
import { withPooledClient } from '../../agent/store/postgres/pooled-client';

/** What happened to a logged call, and when. */
export interface LoggedOutcome {
  readonly uid: string;
  readonly outcome: Outcome;
  readonly at: number;
}

/** Calls, then outcomes, written to the SQLite file in one go. */
export function logToSqlite(db: Database, calls: readonly CallEntry[], outcomes: readonly LoggedOutcome[]): void {
  const log = new CallLog(db);
  for (const call of calls) log.record(call);
  for (const { uid, outcome, at } of outcomes) log.finish(uid, outcome, at);
  log.close();
}

/** Calls, then outcomes, delivered to PostgreSQL as one batch from an agent's queue. */
export async function logToPostgres(pool: Pool, calls: readonly CallEntry[], outcomes: readonly LoggedOutcome[]): Promise<void> {
  const operations = [
    ...calls.map((call) => ({ kind: 'call' as const, json: JSON.stringify(callRowOf(call)) })),
    ...outcomes.map(({ uid, outcome, at }) => ({ kind: 'outcome' as const, json: JSON.stringify(outcomeUpdateOf(uid, outcome, at)) })),
  ].map((operation, i) => ({ ...operation, seq: i + 1 }));
  if (operations.length > 0) await withPooledClient(pool, (client) => deliverBatch(client, operations));
}
