import type { Database } from 'better-sqlite3';

/**
 * Whether the agent can still write its call log: a write that changes nothing, so it
 * costs no disk I/O but meets every refusal a real write would (closed connection,
 * read-only file or mount, `PRAGMA query_only`). A database busy with another writer,
 * such as a CLI import, is writable, only not this instant.
 */
export function isDatabaseWritable(db: Database): boolean {
  if (!db.open || db.readonly) return false;
  try {
    db.prepare("UPDATE settings SET value = value WHERE key = ''").run();
    return true;
  } catch (error) {
    return error instanceof Error && 'code' in error && String(error.code).startsWith('SQLITE_BUSY');
  }
}
