import type { Database } from 'better-sqlite3';
import type { MatchKind } from '../engine/types';
import { ROW_COLUMNS, toRow } from './rules';
import type { RuleRow } from './rules';

/**
 * Where a page of rules in winning order ended: the scope, then the group (0: exact
 * numbers, addresses and URIs; 1: patterns), the pattern's span and the rule id.
 */
export interface WinningPosition {
  readonly scope: string;
  readonly group: 0 | 1;
  readonly span: number;
  readonly id: number;
}

/** An exact match, as the engine's pickRule counts one (agent/engine/pick-rule.ts). */
const EXACT = "(kind = 'number' OR (kind = 'ip' AND span IS NULL) OR (kind = 'sip' AND substr(key, 1, 4) = 'sip:'))";

/**
 * The rules of `kinds` in `scopes` (given narrowest first) in the order they win a call,
 * a page at a time: scope by scope, exact matches before patterns, exact ones newest first,
 * patterns longest first, then newest. Each query walks an index from where the last page
 * ended, so a page deep in a million rules costs what the first one does.
 */
export function rulesInWinningOrder(
  db: Database,
  scopes: readonly string[],
  kinds: readonly MatchKind[],
  after: WinningPosition | undefined,
  limit: number,
): { rules: RuleRow[]; next: WinningPosition | null } {
  const found: { rule: RuleRow; position: WinningPosition }[] = [];
  const wanted = limit + 1; // one more tells whether there is a next page
  const start = after === undefined ? 0 : scopes.indexOf(after.scope);
  const others = kinds.filter((kind) => kind !== 'number');
  // The few scopes holding anything but exact numbers, found at once, so that scopes without
  // such rules cost no query (a thousand companies, none with an address rule).
  const shaped = new Set(
    others.length === 0
      ? []
      : (db
          .prepare(`SELECT DISTINCT scope FROM rules INDEXED BY rules_by_shape WHERE kind <> 'number' AND kind IN (${others.map(() => '?').join(', ')})`)
          .pluck()
          .all(...others) as string[]),
  );
  for (let i = Math.max(start, 0); i < scopes.length && found.length < wanted; i++) {
    const scope = scopes[i]!;
    if (!kinds.includes('number') && !shaped.has(scope)) continue;
    const from = after !== undefined && after.scope === scope ? after : undefined;
    if (from === undefined || from.group === 0) {
      const beforeId = from?.id ?? Number.MAX_SAFE_INTEGER;
      const exact: Spanned[] = [];
      const room = wanted - found.length;
      if (kinds.includes('number')) {
        exact.push(...select(db, `INDEXED BY rules_by_scope WHERE scope = ? AND kind = 'number' AND id < ? ORDER BY id DESC LIMIT ?`, [scope, beforeId, room]));
      }
      if (shaped.has(scope)) {
        exact.push(...select(db, `INDEXED BY rules_by_shape WHERE kind <> 'number' AND kind IN (${others.map(() => '?').join(', ')}) AND scope = ? AND ${EXACT} AND id < ? ORDER BY id DESC LIMIT ?`, [...others, scope, beforeId, room]));
      }
      exact.sort((a, b) => b.rule.id - a.rule.id);
      for (const { rule } of exact.slice(0, room)) found.push({ rule, position: { scope, group: 0, span: 0, id: rule.id } });
    }
    if (shaped.has(scope) && found.length < wanted) {
      const [span, id] = from?.group === 1 ? [from.span, from.id] : [Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER];
      const patterns = select(
        db,
        `INDEXED BY rules_by_shape WHERE kind <> 'number' AND kind IN (${others.map(() => '?').join(', ')}) AND scope = ? AND NOT ${EXACT}
           AND (IFNULL(span, 0), id) < (?, ?) ORDER BY IFNULL(span, 0) DESC, id DESC LIMIT ?`,
        [...others, scope, span, id, wanted - found.length],
      );
      for (const { rule, span } of patterns) found.push({ rule, position: { scope, group: 1, span: span ?? 0, id: rule.id } });
    }
  }
  const more = found.length > limit;
  const page = found.slice(0, limit);
  return { rules: page.map((entry) => entry.rule), next: more ? page[page.length - 1]!.position : null };
}

interface Spanned {
  readonly rule: RuleRow;
  /** Prefix digits or network bits: what orders patterns. */
  readonly span: number | null;
}

function select(db: Database, tail: string, params: readonly (string | number)[]): Spanned[] {
  return (db.prepare(`SELECT ${ROW_COLUMNS}, span FROM rules ${tail}`).all(...params) as Record<string, unknown>[]).map(({ span, ...rest }) => ({
    rule: toRow(rest),
    span: span as number | null,
  }));
}
