import type { CarrierRuleRow, ProtectionRow } from './protection';
import type { RuleBackend } from './rule-backend';
import type { TenantBackend } from './tenant-backend';

/** Which allow rules a page of the allow list holds. */
export interface AllowRuleFilter {
  /** Only rules in one of these scopes; none: every scope. */
  readonly scopes?: readonly string[] | undefined;
  readonly afterId?: number | undefined;
  readonly limit: number;
}

/**
 * Robocall protection as its operations (agent/operations/protection.ts, carriers.ts,
 * allow-list.ts) reach it, on either backend: the settings per scope, the score settings,
 * the carrier rules and the prefix → carrier table. The operations validate and check
 * access first; each write here is one transaction with its audit entries.
 */
export interface ProtectionBackend {
  get(scope: string): Promise<ProtectionRow | undefined>;
  /** Every stored setting, by scope. */
  list(): Promise<ProtectionRow[]>;
  /** Adds or replaces the setting of `row.scope`. */
  set(row: ProtectionRow): Promise<void>;
  /** The score settings the operator stored (the defaults fill in the rest). */
  tuned(): Promise<Map<string, string>>;
  /** Stores one score setting, checked by the caller (checkScoreSetting). */
  tune(key: string, value: string): Promise<void>;
  /** Every carrier rule, by scope and pattern. */
  carriers(): Promise<CarrierRuleRow[]>;
  carrierById(id: number): Promise<CarrierRuleRow | undefined>;
  /** Adds a rule with a checked pattern (carrierPattern); BadInput (duplicateCarrier) and nothing written when `scope` has it already. */
  addCarrier(scope: string, pattern: string): Promise<CarrierRuleRow>;
  /** Removes carrier rules by id, all in one transaction; returns those there were, in the order asked. */
  removeCarrierIds(ids: readonly number[]): Promise<CarrierRuleRow[]>;
  /** Replaces the whole prefix table, all or nothing (the last of a repeated prefix wins); returns the rows read. */
  replacePrefixes(rows: Iterable<readonly [prefix: string, carrier: string]>, label?: string): Promise<number>;
  /** The allow list: ids of allow rules in id order, filtered in the store so block rules never become objects. */
  allowRuleIds(filter: AllowRuleFilter): Promise<number[]>;
}

/**
 * What the protection, carrier and allow-list operations work on: protection itself, the
 * rules (the allow list is allow rules; a DID's owner for access), and the tenants.
 */
export interface ProtectionStores {
  readonly protection: ProtectionBackend;
  readonly rules: RuleBackend;
  readonly tenants: Pick<TenantBackend, 'tenantExists' | 'listTenants'>;
}
