import { PostgresCopySource, PostgresCopyTarget } from './postgres/copy-postgres';
import { SqliteCopySource, SqliteCopyTarget } from './sqlite-copy';
import { copyStore } from './store-copy';
import type { CopiedCount, CopyProgress, CopySource, CopyTarget } from './store-copy';

/** A URL (postgres://…; another scheme is refused as not PostgreSQL) rather than a SQLite file's path. */
const isUrl = (place: string) => /^[a-z][a-z0-9+.-]+:\/\//i.test(place) || /^postgres(ql)?:/i.test(place);

export interface CopyReport {
  readonly from: string;
  readonly to: string;
  readonly tables: readonly CopiedCount[];
  readonly notes: readonly string[];
}

/**
 * `callguard store copy`: everything from the store at `from` into the empty one at `to`,
 * each a SQLite file or a postgres:// URL, either way round. The source is opened first,
 * so that a mistyped one leaves no new target behind.
 */
export async function copyBetween(from: string, to: string, onProgress?: CopyProgress): Promise<CopyReport> {
  const source: CopySource = isUrl(from) ? await PostgresCopySource.open(from) : new SqliteCopySource(from);
  try {
    const target: CopyTarget = isUrl(to) ? await PostgresCopyTarget.open(to) : new SqliteCopyTarget(to);
    try {
      const tables = await copyStore(source, target, onProgress);
      return { from: source.label, to: target.label, tables, notes: target.notes };
    } finally {
      await target.close();
    }
  } finally {
    await source.close();
  }
}
