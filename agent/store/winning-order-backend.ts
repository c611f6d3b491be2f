import type { MatchKind } from '../engine/types';
import type { RuleRow } from './rules';
import type { Spanned } from './rules-in-winning-order';

/**
 * What the rules-in-winning-order walk (rules-in-winning-order.ts) asks of a backend: the
 * scopes it may walk, and each step's rules from where the last page ended. `kinds` are
 * never `number` where they stand beside `exactNumbers`. Ordered as SQLite orders text
 * (byte by byte) on either backend, so the same rules give the same pages and cursors.
 */
export interface WinningOrderBackend {
  /** Every tenant's name, in byte order: without the counts a tenant listing gathers. */
  tenantNames(): Promise<string[]>;
  /** The DID scopes (`did:<number>`) that hold rules, each once, in byte order. */
  didScopesWithRules(): Promise<string[]>;
  /** The scopes holding rules of these kinds (none of them `number`). */
  scopesWithShapes(kinds: readonly MatchKind[]): Promise<string[]>;
  /** A scope's number rules with ids below `beforeId`, newest first, at most `limit`. */
  exactNumbers(scope: string, beforeId: number, limit: number): Promise<RuleRow[]>;
  /** A scope's exact addresses and URIs of these kinds with ids below `beforeId`, newest first, at most `limit`. */
  exactShapes(kinds: readonly MatchKind[], scope: string, beforeId: number, limit: number): Promise<RuleRow[]>;
  /** A scope's patterns of these kinds below (span, id), longest span first, then newest, at most `limit`. */
  patterns(kinds: readonly MatchKind[], scope: string, below: { span: number; id: number }, limit: number): Promise<Spanned[]>;
}
