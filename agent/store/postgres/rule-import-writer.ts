import type { PoolClient } from 'pg';
import type { RuleImportWriter } from '../rule-import';
import type { MatchSpec } from '../../engine/patterns';
import type { RuleOptions } from '../rules';
import { ENSURE_LISTS, REPLACE_ON_CONFLICT, RULE_INSERT } from './rule-upsert';

/** Rules per INSERT: 13 values each stays well under PostgreSQL's 65,535 parameters a statement. */
const BATCH_ROWS = 1_000;
const VALUES_PER_ROW = 13;

/**
 * An import's writer on PostgreSQL: rules held and written a batch at a time, each batch one
 * multi-row INSERT … ON CONFLICT on the import's transaction. The transaction, its audit
 * entry and the commit are the caller's.
 */
export class BatchedRuleWriter implements RuleImportWriter {
  /**
   * Held rules by match and scope. A later row for the same match and scope replaces the
   * earlier one where it stood, as SQLite's row-by-row upsert would (the first row's place
   * gives the id, the last row the values); one INSERT may not touch a row twice anyway.
   */
  private readonly held = new Map<string, [MatchSpec, RuleOptions]>();
  private readonly knownLists = new Set<string>();

  constructor(
    private readonly client: PoolClient,
    private readonly now: number,
  ) {}

  write(match: MatchSpec, options: RuleOptions): void {
    this.held.set(`${match.kind}\n${options.scope}\n${match.key}`, [match, options]);
  }

  get full(): boolean {
    return this.held.size >= BATCH_ROWS;
  }

  async flush(): Promise<void> {
    const rules = [...this.held.values()];
    this.held.clear();
    for (let at = 0; at < rules.length; at += BATCH_ROWS) await this.upsert(rules.slice(at, at + BATCH_ROWS));
  }

  private async upsert(rules: readonly [MatchSpec, RuleOptions][]): Promise<void> {
    const lists = [...new Set(rules.flatMap(([, { list }]) => (list === null || this.knownLists.has(list) ? [] : [list])))];
    if (lists.length > 0) {
      await this.client.query(ENSURE_LISTS, [lists, this.now]);
      for (const list of lists) this.knownLists.add(list);
    }
    const values: unknown[] = [this.now];
    const rows = rules.map(([match, options]) => {
      const first = values.length + 1;
      const { scope, action, target, sms, note, list, expiresAt, when, tz } = options;
      values.push(scope, match.kind, match.key, match.pattern, match.span, action, target, sms ? 1 : 0, note, list, expiresAt, when ?? null, tz ?? null);
      return `(${Array.from({ length: VALUES_PER_ROW }, (_, i) => `$${first + i}`).join(', ')}, $1, $1)`;
    });
    await this.client.query(`${RULE_INSERT} VALUES ${rows.join(', ')} ${REPLACE_ON_CONFLICT}`, values);
  }
}
