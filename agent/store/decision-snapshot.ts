import type { AllowOnlySetting, DidAllowOnly } from '../engine/allow-only';
import type { CallerHistory, CarrierRule, CategoryPolicy, DecisionView, ProtectionPolicy, ReputationSource, RuleShape } from '../engine/decision-store';
import { scoreSettings } from '../engine/score-settings';
import type { ScoreSettings } from '../engine/score-settings';
import { parseSchedule } from '../engine/time-window';
import type { Schedule } from '../engine/time-window';
import type { ActiveRule, Category, E164, PolicyAction } from '../engine/types';
import { NameIndex, isNameKind } from '../engine/names';
import { DEFAULT_TRUST_CALLBACKS_MS } from '../engine/trusted-callback';
import { REMEMBER_PASSES, TRUST_CALLBACKS } from './settings';

/** The small tables a decision reads, as rows from either backend (0/1 flags as stored). */
export interface SnapshotRows {
  /** `SELECT DISTINCT kind, span FROM rules WHERE kind <> 'number'`. */
  readonly shape: readonly { kind: string; span: number | null }[];
  readonly dids: readonly { number: string; tenant: string }[];
  /** The tenants in monitor mode. */
  readonly monitored: readonly string[];
  /** Allow-only settings (ALLOW_ONLY_SETTINGS), by scope (`tenant:acme`, `did:+1…`). */
  readonly allowOnly: readonly { scope: string; action: string }[];
  readonly policies: readonly { scope: string; category: string; action: PolicyAction; whenText: string | null; tz: string | null }[];
  /** The settings whose key starts with REMEMBER_PASSES. */
  readonly remember: readonly { key: string; value: string }[];
  /** The settings whose key starts with TRUST_CALLBACKS. */
  readonly trustCallbacks: readonly { key: string; value: string }[];
  readonly disabledLists: readonly string[];
  readonly protection: readonly (ProtectionPolicy & { enabled: number })[];
  /** By id. */
  readonly carrierRules: readonly CarrierRule[];
  readonly carrierPrefixLengths: readonly number[];
  readonly scoreSettings: readonly { key: string; value: string }[];
  /** In order (REPUTATION_SOURCES). */
  readonly reputationSources: readonly ReputationSource[];
  /** The caller-name rules (NAME_RULES), every scope: compiled into the snapshot's NameIndex. */
  readonly nameRules: readonly StoredActiveRule[];
}

/** The small tables, shaped for lookups. */
export interface Snapshot {
  readonly shape: RuleShape;
  readonly didTenants: Map<string, string>;
  readonly monitored: ReadonlySet<string>;
  /** Allow-only settings by scope. */
  readonly allowOnly: ReadonlyMap<string, DidAllowOnly>;
  readonly policies: Map<string, CategoryPolicy>;
  readonly disabledLists: Set<string>;
  readonly remember: Map<string, number>;
  /** Callback trust windows (ms, 0: off) by scope. */
  readonly trustCallbacks: Map<string, number>;
  readonly protection: Map<string, ProtectionPolicy | null>;
  readonly carrierRules: readonly CarrierRule[];
  /** Longest first. */
  readonly carrierPrefixLengths: readonly number[];
  readonly score: ScoreSettings;
  readonly reputationSources: readonly ReputationSource[];
  /** Caller-name rules by scope, compiled (their windows parsed once, here). */
  readonly names: NameIndex<ActiveRule>;
}

/** Every allow-only setting, of tenants and of DIDs, by scope: as both backends select it. */
export const ALLOW_ONLY_SETTINGS = `SELECT 'tenant:' || name AS scope, allow_only AS action FROM tenants WHERE allow_only IS NOT NULL
  UNION ALL SELECT 'did:' || number AS scope, allow_only AS action FROM dids WHERE allow_only IS NOT NULL`;

/** The reputation sources in order, as both backends select them. */
export const REPUTATION_SOURCES = 'SELECT name, url, timeout_ms AS "timeoutMs", weight FROM reputation_sources ORDER BY position, name';

/** A rule as both backends select it (RULE_COLUMNS): its window still text, sms 0/1. */
export type StoredActiveRule = Omit<ActiveRule, 'sms' | 'schedule'> & { sms: number; whenText: string | null; tz: string | null };

/** The columns of a StoredActiveRule; aliases quoted, as PostgreSQL folds bare ones to lower case. */
export const RULE_COLUMNS = 'id, scope, kind, key, pattern, action, target, sms, span, list, expires_at AS "expiresAt", updated_at AS "updatedAt", when_text AS "whenText", tz';

/** Every caller-name rule, as both backends select it (from the partial index of rules other than numbers). */
export const NAME_RULES = `SELECT ${RULE_COLUMNS} FROM rules WHERE kind IN ('name', 'name_word') AND kind <> 'number'`;

const schedules = new Map<string, Schedule>();

/** Windows as stored (checked when written), parsed once. */
export function scheduleOf(whenText: string | null, tz: string | null): Schedule | null {
  if (whenText === null || tz === null) return null;
  const key = `${tz}|${whenText}`;
  let schedule = schedules.get(key);
  if (!schedule) {
    schedule = parseSchedule(whenText, tz);
    if (schedules.size > 10_000) schedules.clear();
    schedules.set(key, schedule);
  }
  return schedule;
}

/** The rules among `rows` that count for a call: in one of `scopes`, not expired at `now`, not in a disabled list. */
export function activeRules(rows: readonly StoredActiveRule[], scopes: readonly string[], now: number, disabledLists: Set<string>): ActiveRule[] {
  const active: ActiveRule[] = [];
  for (const { whenText, tz, ...row } of rows) {
    if (!scopes.includes(row.scope)) continue;
    if (row.expiresAt !== null && row.expiresAt <= now) continue;
    if (row.list !== null && disabledLists.has(row.list)) continue;
    active.push({ ...row, sms: row.sms === 1, schedule: scheduleOf(whenText, tz) });
  }
  return active;
}

/** Which lookup keys rules of these kinds and spans can match. */
export function shapeOf(rules: readonly { kind: string; span: number | null }[]): RuleShape {
  const prefixLengths = new Set<number>();
  // Exact addresses (/32, /128) are always probed; the CIDR sizes rules use, besides.
  const networkBits = new Set<number>([32, 128]);
  for (const { kind, span } of rules) {
    if (kind === 'prefix' && span !== null) prefixLengths.add(span + 1);
    if (kind === 'ip' && span !== null) networkBits.add(span);
  }
  return {
    prefixLengths: [...prefixLengths].sort((a, b) => a - b),
    networkBits: [...networkBits].sort((a, b) => a - b),
    hasSip: rules.some((row) => row.kind === 'sip'),
    hasAnonymous: rules.some((row) => row.kind === 'anonymous'),
  };
}

export function snapshotOf(rows: SnapshotRows): Snapshot {
  return {
    shape: shapeOf(rows.shape),
    didTenants: new Map(rows.dids.map((row) => [row.number, row.tenant])),
    monitored: new Set(rows.monitored),
    allowOnly: new Map(rows.allowOnly.map((row) => [row.scope, row.action as DidAllowOnly])),
    policies: new Map(rows.policies.map((row) => [`${row.scope}|${row.category}`, { action: row.action, scope: row.scope, schedule: scheduleOf(row.whenText, row.tz) }])),
    remember: new Map(rows.remember.map((row) => [row.key.slice(REMEMBER_PASSES.length), Number(row.value)])),
    trustCallbacks: new Map(rows.trustCallbacks.map((row) => [row.key.slice(TRUST_CALLBACKS.length), Number(row.value)])),
    disabledLists: new Set(rows.disabledLists),
    protection: new Map(rows.protection.map(({ enabled, ...policy }) => [policy.scope, enabled === 1 ? policy : null])),
    carrierRules: rows.carrierRules,
    carrierPrefixLengths: [...rows.carrierPrefixLengths].sort((a, b) => b - a),
    score: scoreSettings(new Map(rows.scoreSettings.map((row) => [row.key, row.value]))),
    reputationSources: rows.reputationSources,
    names: new NameIndex(rows.nameRules.map(({ whenText, tz, ...row }) => ({ ...row, sms: row.sms === 1, schedule: scheduleOf(whenText, tz) }))),
  };
}

/** What a view looks up per call, beyond the snapshot: by index, never scanned. */
export interface PerCallLookups {
  rulesFor(keys: readonly string[], scopes: readonly string[], now: number, disabledLists: Set<string>): readonly ActiveRule[];
  history(number: E164, velocitySince: number, historySince: number): CallerHistory;
  lastPass(number: E164, tenant: string, since: number): number | null;
  /** The newest outbound call of the tenant to this number within [since, now], by index. */
  calledOn(tenant: string, number: E164, since: number, now: number): number | null;
  /** Longest matching prefix of the carrier table, probing only the lengths it has. */
  carrierOf(number: E164, lengths: readonly number[]): string | null;
}

/** The cached small tables, plus per-call lookups. */
export class SnapshotView implements DecisionView {
  readonly shape: RuleShape;
  readonly score: ScoreSettings;
  readonly reputationSources: readonly ReputationSource[];

  constructor(
    private readonly snapshot: Snapshot,
    private readonly lookups: PerCallLookups,
  ) {
    this.shape = snapshot.shape;
    this.score = snapshot.score;
    this.reputationSources = snapshot.reputationSources;
  }

  protection(tenant: string): ProtectionPolicy | null {
    const own = this.protectionIn(`tenant:${tenant}`);
    return own !== undefined ? own : (this.protectionIn('global') ?? null);
  }

  /** The setting stored for one scope (null: off); undefined when none is. */
  protectionIn(scope: string): ProtectionPolicy | null | undefined {
    return this.snapshot.protection.get(scope);
  }

  carrierRules(scopes: readonly string[]): readonly CarrierRule[] {
    return this.snapshot.carrierRules.filter((rule) => scopes.includes(rule.scope));
  }

  carrierOf(number: E164): string | null {
    return this.lookups.carrierOf(number, this.snapshot.carrierPrefixLengths);
  }

  history(number: E164, velocitySince: number, historySince: number): CallerHistory {
    return this.lookups.history(number, velocitySince, historySince);
  }

  tenantOfDid(did: E164): string {
    return this.snapshot.didTenants.get(did) ?? 'default';
  }

  monitors(tenant: string): boolean {
    return this.snapshot.monitored.has(tenant);
  }

  allowOnly(tenant: string, did: E164 | null): AllowOnlySetting | null {
    const { allowOnly } = this.snapshot;
    if (allowOnly.size === 0) return null;
    // A DID's own setting counts only while the DID is the tenant's (as the snapshot says).
    const own = did !== null && this.snapshot.didTenants.get(did) === tenant ? allowOnly.get(`did:${did}`) : undefined;
    if (own !== undefined) return { action: own, scope: `did:${did}` };
    const tenants = allowOnly.get(`tenant:${tenant}`);
    return tenants === undefined ? null : { action: tenants, scope: `tenant:${tenant}` };
  }

  categoryPolicies(tenant: string, category: Category): readonly CategoryPolicy[] {
    const { policies } = this.snapshot;
    const own = policies.get(`tenant:${tenant}|${category}`);
    const global = policies.get(`global|${category}`);
    return own && global ? [own, global] : own ? [own] : global ? [global] : [];
  }

  rememberPassesFor(tenant: string): number | null {
    const { remember } = this.snapshot;
    const ms = remember.get(`tenant:${tenant}`) ?? remember.get('global');
    return ms === undefined || ms <= 0 ? null : ms;
  }

  /** Every remembered-pass period set (ms), of any scope. */
  rememberedPeriods(): number[] {
    return [...this.snapshot.remember.values()];
  }

  lastPass(number: E164, tenant: string, since: number): number | null {
    return this.lookups.lastPass(number, tenant, since);
  }

  trustCallbacksFor(tenant: string): number | null {
    const { trustCallbacks } = this.snapshot;
    const ms = trustCallbacks.get(`tenant:${tenant}`) ?? trustCallbacks.get('global') ?? DEFAULT_TRUST_CALLBACKS_MS;
    return ms <= 0 ? null : ms;
  }

  calledOn(tenant: string, number: E164, since: number, now: number): number | null {
    return this.lookups.calledOn(tenant, number, since, now);
  }

  rulesFor(keys: readonly string[], scopes: readonly string[], now: number): readonly ActiveRule[] {
    const rules = this.lookups.rulesFor(keys, scopes, now, this.snapshot.disabledLists);
    // A name rule's key ("anonymous", "example.com") can equal a number or address key: it is not one.
    return rules.some((rule) => isNameKind(rule.kind)) ? rules.filter((rule) => !isNameKind(rule.kind)) : rules;
  }

  nameRulesFor(callerName: string | undefined, scopes: readonly string[], now: number): readonly ActiveRule[] {
    const { names, disabledLists } = this.snapshot;
    if (names.size === 0) return [];
    // Matched within `scopes` only; what is left is expiry and lists switched off.
    return names.matching(callerName, scopes).filter((rule) => (rule.expiresAt === null || rule.expiresAt > now) && (rule.list === null || !disabledLists.has(rule.list)));
  }
}
