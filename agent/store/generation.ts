import type { Database } from 'better-sqlite3';

/** Writes made through this process's own connections (SQLite's data_version only counts others'). */
const localWrites = new WeakMap<Database, number>();

/** Call inside every transaction that changes what decisions read. */
export function bumpGeneration(db: Database): void {
  db.prepare("UPDATE meta SET value = value + 1 WHERE key = 'generation'").run();
  localWrites.set(db, (localWrites.get(db) ?? 0) + 1);
}

/** Runs `work` in one IMMEDIATE transaction that also bumps the generation: readers see all of it or none, and refresh their caches. */
export function changeDecisionTables<T>(db: Database, work: () => T): T {
  return db
    .transaction(() => {
      const result = work();
      bumpGeneration(db);
      return result;
    })
    .immediate();
}

/**
 * A cheap "has anything changed?" probe for a reader: PRAGMA data_version moves
 * when another connection commits, the local counter when this one did.
 */
export function changeProbe(db: Database): () => string {
  const dataVersion = db.prepare('PRAGMA data_version').pluck();
  const generation = db.prepare("SELECT value FROM meta WHERE key = 'generation'").pluck();
  let lastDataVersion = -1;
  let lastGeneration = -1;
  return () => {
    const version = dataVersion.get() as number;
    if (version !== lastDataVersion) {
      lastDataVersion = version;
      lastGeneration = generation.get() as number;
    }
    return `${lastGeneration}:${localWrites.get(db) ?? 0}`;
  };
}
