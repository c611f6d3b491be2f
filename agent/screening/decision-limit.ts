/** How long a decision may take before the fail mode applies instead (config decisionLimitMs). */
export const DEFAULT_DECISION_LIMIT_MS = 250;

/** What deciding takes besides the reputation lookups, with room to spare. */
const DECISION_MARGIN_MS = 50;

/**
 * The longest a call waits for any reputation source: the sources are asked at once, and a
 * source's own timeout is cut to this, so that a slow source costs its signal, never the
 * decision (200 ms under the default limit).
 */
export function reputationBudgetMs(decisionLimitMs: number): number {
  return Math.max(10, decisionLimitMs - DECISION_MARGIN_MS);
}
