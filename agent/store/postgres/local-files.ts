/** The files an agent keeps beside its SQLite path when its store is PostgreSQL. */
export interface FleetFiles {
  /** The local copy of the decision tables (PostgresReplica), this agent's own recent calls, and the other agents' calls that history counts (followed_calls). */
  readonly replica: string;
  /** Call-log rows on their way to PostgreSQL (LogQueue). */
  readonly queue: string;
}

/**
 * Named after the SQLite file (`--db`, CALLGUARD_DB, `db`), so that the operator's state
 * directory holds them, and never that file itself: a full load replaces every replicated
 * table of the copy, which must not be an SQLite store someone still uses.
 */
export function fleetFiles(sqlitePath: string): FleetFiles {
  const base = sqlitePath.replace(/\.(db|sqlite3?)$/i, '');
  return { replica: `${base}.replica.db`, queue: `${base}.log-queue.db` };
}
