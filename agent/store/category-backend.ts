import type { Category, PolicyAction } from '../engine/types';
import type { PolicyRow } from './categories';

/**
 * Category policies as the category operations (agent/operations/categories.ts) reach them,
 * on either backend; each write is one transaction with its audit entry.
 */
export interface CategoryBackend {
  /** The policies of these scopes only (e.g. global and one tenant's), by scope and category. */
  inScopes(scopes: readonly string[]): Promise<PolicyRow[]>;
  /** Every policy, by scope and category. */
  list(): Promise<PolicyRow[]>;
  /** Sets a policy, optionally only within a time window (checked by the caller). */
  set(scope: string, category: Category, action: PolicyAction, window: { when: string; tz: string } | null, now: number): Promise<void>;
  /** Removes a policy; false when there was none. */
  remove(scope: string, category: Category): Promise<boolean>;
}
