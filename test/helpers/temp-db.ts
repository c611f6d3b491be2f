/**
 * Throw-away folders and database paths for tests, and read access to a callguard
 * database behind the CLI's back (for checks the CLI does not expose).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import type { Database } from 'better-sqlite3';

export interface TempDir {
  readonly dir: string;
  /** A path inside the folder (nothing is created). */
  file(name: string): string;
  remove(): void;
}

/** A fresh folder under the system temp dir. */
export function makeTempDir(prefix = 'callguard-test-'): TempDir {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return {
    dir,
    file: (name) => join(dir, name),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export interface TempDb extends TempDir {
  /** The database path (not created: the CLI creates it on first use). */
  readonly path: string;
}

/** A database path in its own fresh folder, so the -wal/-shm files go away with it. */
export function tempDb(name = 'callguard.db', prefix?: string): TempDb {
  const dir = makeTempDir(prefix);
  return { ...dir, path: dir.file(name) };
}

/** Opens an existing database read-only, runs `body`, and closes it again. */
export function withDatabase<T>(path: string, body: (db: Database) => T): T {
  const db = new BetterSqlite3(path, { readonly: true, fileMustExist: true });
  try {
    return body(db);
  } finally {
    db.close();
  }
}
