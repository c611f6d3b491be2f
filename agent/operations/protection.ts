import type { Database } from 'better-sqlite3';
import { BadInput } from '../engine/bad-input';
import { scoreSettings } from '../engine/score-settings';
import type { ScoreSettings } from '../engine/score-settings';
import { ProtectionStore } from '../store/protection';
import type { ProtectionRow } from '../store/protection';
import type { Acting } from './acting';
import { changeableSettingScope, readableTenant } from './tenant-access';

export const DEFAULT_THRESHOLD = 70;
/** Without a flag threshold, calls this far below the threshold go through marked. */
export const FLAG_BELOW = 20;
export const PROTECTION_ACTIONS = ['block', 'challenge', 'voicemail'] as const;
export type ProtectionAction = (typeof PROTECTION_ACTIONS)[number];

/** What is in force for a tenant (or globally), and where it comes from. */
export interface ProtectionView {
  readonly tenant: string | null;
  readonly enabled: boolean;
  readonly threshold: number;
  /** Calls from this score (below the threshold) go through marked as suspected spam; null: never. */
  readonly flagThreshold: number | null;
  readonly action: ProtectionAction;
  /** The scope of the setting in force: `tenant:<name>` (the tenant's own), `global` (inherited), or `default` (nothing stored: off). */
  readonly from: string;
  /** Whether the tenant has its own setting (false: it inherits the global one, or the default). */
  readonly own: boolean;
  /** The global setting, which every tenant without its own follows; null when none is stored. */
  readonly global: ProtectionRow | null;
}

/** A score from the CLI (text) or the API (a number): a whole number from `min` to 100, else bad input naming `field`. */
function score(value: string | number, what: string, min: number, field: string): number {
  const number = typeof value === 'number' ? value : /^\d{1,3}$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(number) || number < min || number > 100) throw new BadInput(`bad ${what} "${value}": expected a whole number from ${min} to 100`, field);
  return number;
}

function viewOf(store: ProtectionStore, tenant: string | null): ProtectionView {
  const global = store.get('global') ?? null;
  const own = tenant === null ? undefined : store.get(`tenant:${tenant}`);
  const inForce = own ?? global;
  return {
    tenant,
    enabled: inForce?.enabled ?? false,
    threshold: inForce?.threshold ?? DEFAULT_THRESHOLD,
    flagThreshold: inForce ? inForce.flagThreshold : DEFAULT_THRESHOLD - FLAG_BELOW,
    action: inForce?.action ?? 'block',
    from: inForce?.scope ?? 'default',
    own: own !== undefined,
    global,
  };
}

/** Protection in force for a tenant the asker may see (or the global setting), with the score settings. */
export function showProtection(db: Database, acting: Acting, tenant?: string): ProtectionView & { score: ScoreSettings } {
  const name = readableTenant(db, acting, tenant);
  const store = new ProtectionStore(db, acting.actor);
  return { ...viewOf(store, name ?? null), score: scoreSettings(store.tuned()) };
}

/** Protection of every tenant the asker may see (the CLI's `protection show`). */
export function protectionOfTenants(db: Database, acting: Acting, tenants: readonly string[]): ProtectionView[] {
  const store = new ProtectionStore(db, acting.actor);
  return tenants.filter((tenant) => readableTenant(db, acting, tenant) !== undefined).map((tenant) => viewOf(store, tenant));
}

export interface ProtectionInput {
  /** This tenant's own setting; none: the global one every tenant without its own follows (administrators only). */
  readonly tenant?: string | undefined;
  /** On or off; not given: as before (the tenant's own, else the global setting, else off). */
  readonly enabled?: boolean | undefined;
  /** 10-100; not given: as before, else 70. */
  readonly threshold?: string | number | undefined;
  /** 0-100, at or below the threshold, null for never; not given: threshold - 20 when the threshold changes, else as before. */
  readonly flagThreshold?: string | number | null | undefined;
  readonly action?: string | undefined;
}

/**
 * Sets protection for a tenant or globally; what is not given is kept from the setting in
 * force before (the tenant's own, else the global one), else the defaults. Audited as `acting`.
 */
export function setProtection(db: Database, acting: Acting, input: ProtectionInput): ProtectionView {
  const threshold = input.threshold === undefined ? undefined : score(input.threshold, 'threshold', 10, 'threshold');
  const flag = input.flagThreshold === undefined || input.flagThreshold === null ? input.flagThreshold : score(input.flagThreshold, 'flag threshold', 0, 'flagThreshold');
  if (input.action !== undefined && !(PROTECTION_ACTIONS as readonly string[]).includes(input.action)) {
    throw new BadInput(`bad protection action "${input.action}": expected block, challenge or voicemail`, 'action');
  }
  const scope = changeableSettingScope(db, acting, input.tenant);
  const store = new ProtectionStore(db, acting.actor);
  const before = store.get(scope) ?? store.get('global');
  const newThreshold = threshold ?? before?.threshold ?? DEFAULT_THRESHOLD;
  const flagThreshold = flag !== undefined ? flag : threshold !== undefined || !before ? Math.max(0, newThreshold - FLAG_BELOW) : before.flagThreshold;
  if (flagThreshold !== null && flagThreshold > newThreshold) {
    throw new BadInput(
      `flag threshold ${flagThreshold} is above the threshold ${newThreshold}: flagging must start at or below where blocking does`,
      flag !== undefined ? 'flagThreshold' : 'threshold',
    );
  }
  const row: ProtectionRow = {
    scope,
    enabled: input.enabled ?? before?.enabled ?? false,
    threshold: newThreshold,
    flagThreshold,
    action: (input.action as ProtectionAction | undefined) ?? before?.action ?? 'block',
  };
  store.set(row);
  return viewOf(store, scope === 'global' ? null : scope.slice('tenant:'.length));
}
