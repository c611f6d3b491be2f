import type { Database } from 'better-sqlite3';
import type { MatchKind } from '../engine/types';
import { ROW_COLUMNS, toRow } from './rules';
import type { RuleRow } from './rules';
import { EXACT } from './rules-in-winning-order';
import type { Spanned } from './rules-in-winning-order';
import { TenantStore } from './tenants';
import type { WinningOrderBackend } from './winning-order-backend';

/** A `?` for each kind (a function declaration, so the SQL check in test/security.test.ts can follow it). */
function placeholders(kinds: readonly MatchKind[]): string {
  return kinds.map(() => '?').join(', ');
}

/** WinningOrderBackend on the SQLite file: each step walks the index it names. */
export class SqliteWinningOrderBackend implements WinningOrderBackend {
  constructor(private readonly db: Database) {}

  async tenantNames(): Promise<string[]> {
    return new TenantStore(this.db, 'system').names();
  }

  async didScopesWithRules(): Promise<string[]> {
    return this.db.prepare("SELECT DISTINCT scope FROM rules WHERE scope >= 'did:' AND scope < 'did;' ORDER BY scope").pluck().all() as string[];
  }

  async scopesWithShapes(kinds: readonly MatchKind[]): Promise<string[]> {
    return this.db.prepare(`SELECT DISTINCT scope FROM rules INDEXED BY rules_by_shape WHERE kind <> 'number' AND kind IN (${placeholders(kinds)})`).pluck().all(...kinds) as string[];
  }

  async exactNumbers(scope: string, beforeId: number, limit: number): Promise<RuleRow[]> {
    return this.select(`INDEXED BY rules_by_scope WHERE scope = ? AND kind = 'number' AND id < ? ORDER BY id DESC LIMIT ?`, [scope, beforeId, limit]).map(({ rule }) => rule);
  }

  async exactShapes(kinds: readonly MatchKind[], scope: string, beforeId: number, limit: number): Promise<RuleRow[]> {
    return this.select(`INDEXED BY rules_by_shape WHERE kind <> 'number' AND kind IN (${placeholders(kinds)}) AND scope = ? AND ${EXACT} AND id < ? ORDER BY id DESC LIMIT ?`, [
      ...kinds,
      scope,
      beforeId,
      limit,
    ]).map(({ rule }) => rule);
  }

  async patterns(kinds: readonly MatchKind[], scope: string, below: { span: number; id: number }, limit: number): Promise<Spanned[]> {
    return this.select(
      `INDEXED BY rules_by_shape WHERE kind <> 'number' AND kind IN (${placeholders(kinds)}) AND scope = ? AND NOT ${EXACT}
         AND (IFNULL(span, 0), id) < (?, ?) ORDER BY IFNULL(span, 0) DESC, id DESC LIMIT ?`,
      [...kinds, scope, below.span, below.id, limit],
    );
  }

  private select(tail: string, params: readonly (string | number)[]): Spanned[] {
    return (this.db.prepare(`SELECT ${ROW_COLUMNS}, span FROM rules ${tail}`).all(...params) as Record<string, unknown>[]).map(({ span, ...rest }) => ({
      rule: toRow(rest),
      span: span as number | null,
    }));
  }
}
