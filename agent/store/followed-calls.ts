import type { Database } from 'better-sqlite3';

/**
 * The calls other agents of a fleet logged, as far as history reads them (caller, time,
 * DID, tenant, outcome), kept in the agent's local copy beside its own log. Its own
 * table, not rows in `calls`: this agent's counters, hourly chart and /v1/stats stay
 * its own calls, and a followed row never stands in the way of this agent's log writer.
 * Only an agent with a PostgreSQL store has it (SQLite stores are one agent's history).
 */
const CREATE = `
  CREATE TABLE IF NOT EXISTS followed_calls (
    uid     TEXT PRIMARY KEY,
    at      INTEGER NOT NULL,
    tenant  TEXT NOT NULL,
    did     TEXT,
    caller  TEXT NOT NULL,
    outcome TEXT
  );
  CREATE INDEX IF NOT EXISTS followed_calls_by_caller ON followed_calls (caller, at, did);
  CREATE INDEX IF NOT EXISTS followed_calls_by_time ON followed_calls (at)`;

/** Before anything prepares a statement on it. */
export function createFollowedCalls(db: Database): void {
  db.exec(CREATE);
}

/** One followed row as FOLLOWED_CALL_SQL takes it. */
export interface FollowedCall {
  readonly uid: string;
  readonly at: number;
  readonly tenant: string;
  readonly did: string | null;
  readonly caller: string;
  readonly outcome: string | null;
}

/** The statements of the follower's writer thread, by index. */
export const FOLLOW = 0;
export const PRUNE = 1;
export const FOLLOWED_CALL_SQL: readonly [string, string] = [
  // A row this agent logged itself (in an earlier run: this run's are never followed) is in `calls` already: counted once.
  // Read again after its outcome changed: the outcome is updated.
  `INSERT INTO followed_calls (uid, at, tenant, did, caller, outcome)
   SELECT ?, ?, ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM calls WHERE uid = ?)
   ON CONFLICT (uid) DO UPDATE SET outcome = excluded.outcome`,
  // Past the velocity window only challenge outcomes still count, and those only within the history window.
  `DELETE FROM followed_calls WHERE at < ? AND (at < ? OR outcome IS NULL OR outcome NOT IN ('passed', 'failed'))`,
];

/** FOLLOWED_CALL_SQL[FOLLOW]'s parameters. */
export function followParameters(row: FollowedCall): readonly unknown[] {
  return [row.uid, row.at, row.tenant, row.did, row.caller, row.outcome, row.uid];
}

/** FOLLOWED_CALL_SQL[PRUNE]'s parameters: velocity rows go after `velocitySince`, challenge outcomes after `historySince`. */
export function pruneParameters(velocitySince: number, historySince: number): readonly unknown[] {
  return [velocitySince, historySince];
}
