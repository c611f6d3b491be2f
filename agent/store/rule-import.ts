import type { MatchSpec } from '../engine/patterns';
import type { RuleOptions } from './rules';

/** Where an import writes its rules, inside the import's one transaction. */
export interface RuleImportWriter {
  /**
   * Adds or replaces (same match, same scope) one rule: written now, or held for the next
   * batch. The match and the options apart: a million rows are not copied into one object each.
   */
  write(match: MatchSpec, options: RuleOptions): void;
  /** Whether enough rules are held that a streaming import should flush before it reads on. */
  readonly full: boolean;
  /** Writes the rules held so far. */
  flush(): Promise<void>;
}

/**
 * The write of `rules import` (and the API's CSV import), on either backend. The import
 * operation (agent/operations/rules-csv.ts) parses, validates and checks access; the
 * backend only writes.
 */
export interface RuleImporting {
  /**
   * Runs an import in one transaction: `feed` writes through the writer and answers how
   * many rows it took; then what is still held is written, one audit entry added (`label`
   * and that count, as for every import) and all of it committed, or none of it if `feed`
   * throws. A feed that answers without waiting runs without yielding, so on the SQLite
   * file no other statement can land inside its transaction (on PostgreSQL its writer then
   * holds every row until the end: such a feed is for input already in memory).
   */
  importRules(label: string, now: number, feed: (writer: RuleImportWriter) => number | Promise<number>): Promise<number>;
}
