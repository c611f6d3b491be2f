import { chmodSync, closeSync, existsSync, openSync } from 'node:fs';
import BetterSqlite3 from 'better-sqlite3';
import type { Database } from 'better-sqlite3';
import { migrate } from './migrate';

export interface OpenOptions {
  readonly readonly?: boolean;
  /** How long a writer waits for another's lock before giving up. */
  readonly busyTimeoutMs?: number;
}

/** `--db`, else CALLGUARD_DB, else ./callguard.db. */
export function databasePath(flag: string | undefined): string {
  return flag || process.env.CALLGUARD_DB || 'callguard.db';
}

/** Rules and call logs are the operator's business: a new database file is owner-only from the first byte. */
export function createPrivately(path: string): void {
  if (existsSync(path) || path === ':memory:') return;
  closeSync(openSync(path, 'a', 0o600));
  chmodSync(path, 0o600);
}

/**
 * Opens (creating if needed, unless read-only) the database in WAL mode, so the CLI can
 * write while a running agent reads, and brings its schema up to date.
 */
export function openDatabase(path: string, options: OpenOptions = {}): Database {
  if (!options.readonly) createPrivately(path);
  const db = new BetterSqlite3(path, { readonly: options.readonly ?? false });
  db.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000))}`);
  if (!options.readonly) {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    migrate(db);
  }
  return db;
}
