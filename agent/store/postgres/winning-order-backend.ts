import type { Pool } from 'pg';
import type { MatchKind } from '../../engine/types';
import { toRow } from '../rules';
import type { RuleRow } from '../rules';
import { EXACT } from '../rules-in-winning-order';
import type { Spanned } from '../rules-in-winning-order';
import type { WinningOrderBackend } from '../winning-order-backend';
import { ROW_COLUMNS } from './rule-backend';

/** The columns of a RuleRow, and the span the walk pages by. */
const COLUMNS = `${ROW_COLUMNS}, span`;

/**
 * WinningOrderBackend on a fleet's PostgreSQL. Spans and ids compare as bigint, since a walk
 * starts below Number.MAX_SAFE_INTEGER; names order byte by byte (COLLATE "C"), as SQLite's do.
 */
export class PostgresWinningOrderBackend implements WinningOrderBackend {
  constructor(private readonly pool: Pool) {}

  async tenantNames(): Promise<string[]> {
    return (await this.pool.query<{ name: string }>('SELECT name FROM tenants ORDER BY name COLLATE "C"')).rows.map((row) => row.name);
  }

  /**
   * Each scope holding rules found once by hopping along the index on (scope, id) from one
   * scope to the next (PostgreSQL has no skip scan of its own): one probe per scope, however
   * many rules each holds.
   */
  async didScopesWithRules(): Promise<string[]> {
    const { rows } = await this.pool.query<{ scope: string }>(`
      WITH RECURSIVE scopes (scope) AS (
        (SELECT scope FROM rules ORDER BY scope LIMIT 1)
        UNION ALL
        SELECT (SELECT rules.scope FROM rules WHERE rules.scope > scopes.scope ORDER BY rules.scope LIMIT 1) FROM scopes WHERE scopes.scope IS NOT NULL
      )
      SELECT scope FROM scopes WHERE left(scope, 4) = 'did:' ORDER BY scope COLLATE "C"`);
    return rows.map((row) => row.scope);
  }

  async scopesWithShapes(kinds: readonly MatchKind[]): Promise<string[]> {
    const { rows } = await this.pool.query<{ scope: string }>("SELECT DISTINCT scope FROM rules WHERE kind <> 'number' AND kind = ANY($1)", [kinds]);
    return rows.map((row) => row.scope);
  }

  async exactNumbers(scope: string, beforeId: number, limit: number): Promise<RuleRow[]> {
    return (await this.select("scope = $1 AND kind = 'number' AND id < $2::bigint ORDER BY id DESC LIMIT $3", [scope, beforeId, limit])).map(({ rule }) => rule);
  }

  async exactShapes(kinds: readonly MatchKind[], scope: string, beforeId: number, limit: number): Promise<RuleRow[]> {
    return (await this.select(`kind <> 'number' AND kind = ANY($1) AND scope = $2 AND ${EXACT} AND id < $3::bigint ORDER BY id DESC LIMIT $4`, [kinds, scope, beforeId, limit])).map(
      ({ rule }) => rule,
    );
  }

  patterns(kinds: readonly MatchKind[], scope: string, below: { span: number; id: number }, limit: number): Promise<Spanned[]> {
    return this.select(
      `kind <> 'number' AND kind = ANY($1) AND scope = $2 AND NOT ${EXACT}
         AND (COALESCE(span, 0)::bigint, id) < ($3::bigint, $4::bigint) ORDER BY COALESCE(span, 0)::bigint DESC, id DESC LIMIT $5`,
      [kinds, scope, below.span, below.id, limit],
    );
  }

  private async select(condition: string, values: unknown[]): Promise<Spanned[]> {
    const { rows } = await this.pool.query<Record<string, unknown>>(`SELECT ${COLUMNS} FROM rules WHERE ${condition}`, values);
    return rows.map(({ span, ...rest }) => ({ rule: toRow(rest), span: span as number | null }));
  }
}
