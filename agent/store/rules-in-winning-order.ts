import type { MatchKind } from '../engine/types';
import type { RuleRow } from './rules';
import type { WinningOrderBackend } from './winning-order-backend';

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

/** A pattern rule with what orders it: prefix digits or network bits. */
export interface Spanned {
  readonly rule: RuleRow;
  readonly span: number | null;
}

/** An exact match, as the engine's pickRule (and pickNameRule, for an exact caller name) counts one; SQL both backends read alike. */
export const EXACT = "(kind = 'number' OR (kind = 'ip' AND span IS NULL) OR (kind = 'sip' AND substr(key, 1, 4) = 'sip:') OR (kind = 'name' AND key NOT LIKE '%*%'))";

/**
 * The rules of `kinds` in `scopes` (given narrowest first) in the order they win a call,
 * a page at a time: scope by scope, exact matches before patterns, exact ones newest first,
 * patterns longest first, then newest. Each query walks an index from where the last page
 * ended, so a page deep in a million rules costs what the first one does. The walk is the
 * same on either backend; only its queries are each backend's.
 */
export async function rulesInWinningOrder(
  rules: WinningOrderBackend,
  scopes: readonly string[],
  kinds: readonly MatchKind[],
  after: WinningPosition | undefined,
  limit: number,
): Promise<{ rules: RuleRow[]; next: WinningPosition | null }> {
  const found: { rule: RuleRow; position: WinningPosition }[] = [];
  const wanted = limit + 1; // one more tells whether there is a next page
  const start = after === undefined ? 0 : scopes.indexOf(after.scope);
  const others = kinds.filter((kind) => kind !== 'number');
  // The few scopes holding anything but exact numbers, found at once, so that scopes without
  // such rules cost no query (a thousand companies, none with an address rule).
  const shaped = new Set(others.length === 0 ? [] : await rules.scopesWithShapes(others));
  for (let i = Math.max(start, 0); i < scopes.length && found.length < wanted; i++) {
    const scope = scopes[i]!;
    if (!kinds.includes('number') && !shaped.has(scope)) continue;
    const from = after !== undefined && after.scope === scope ? after : undefined;
    if (from === undefined || from.group === 0) {
      const beforeId = from?.id ?? Number.MAX_SAFE_INTEGER;
      const room = wanted - found.length;
      const exact = [
        ...(kinds.includes('number') ? await rules.exactNumbers(scope, beforeId, room) : []),
        ...(shaped.has(scope) ? await rules.exactShapes(others, scope, beforeId, room) : []),
      ].sort((a, b) => b.id - a.id);
      for (const rule of exact.slice(0, room)) found.push({ rule, position: { scope, group: 0, span: 0, id: rule.id } });
    }
    if (shaped.has(scope) && found.length < wanted) {
      const below = from?.group === 1 ? { span: from.span, id: from.id } : { span: Number.MAX_SAFE_INTEGER, id: Number.MAX_SAFE_INTEGER };
      for (const { rule, span } of await rules.patterns(others, scope, below, wanted - found.length)) {
        found.push({ rule, position: { scope, group: 1, span: span ?? 0, id: rule.id } });
      }
    }
  }
  const more = found.length > limit;
  const page = found.slice(0, limit);
  return { rules: page.map((entry) => entry.rule), next: more ? page[page.length - 1]!.position : null };
}
