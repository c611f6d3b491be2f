import { BadInput } from '../engine/bad-input';
import { checkScoreSetting, scoreSettings } from '../engine/score-settings';
import type { ScoreSettings } from '../engine/score-settings';
import type { ProtectionRow } from '../store/protection';
import type { ProtectionBackend, ProtectionStores } from '../store/protection-backend';
import { maySee, requireChangeIn } from './acting';
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

/** What is in force, from the global setting and the tenant's own (a tenant's view; null for the global one). */
function viewFrom(tenant: string | null, global: ProtectionRow | undefined, own: ProtectionRow | undefined): ProtectionView {
  const inForce = own ?? global;
  return {
    tenant,
    enabled: inForce?.enabled ?? false,
    threshold: inForce?.threshold ?? DEFAULT_THRESHOLD,
    flagThreshold: inForce ? inForce.flagThreshold : DEFAULT_THRESHOLD - FLAG_BELOW,
    action: inForce?.action ?? 'block',
    from: inForce?.scope ?? 'default',
    own: own !== undefined,
    global: global ?? null,
  };
}

async function viewOf(protection: ProtectionBackend, tenant: string | null): Promise<ProtectionView> {
  const [global, own] = await Promise.all([protection.get('global'), tenant === null ? undefined : protection.get(`tenant:${tenant}`)]);
  return viewFrom(tenant, global, own);
}

/** Protection in force for a tenant the asker may see (or the global setting), with the score settings. */
export async function showProtection(stores: ProtectionStores, acting: Acting, tenant?: string): Promise<ProtectionView & { score: ScoreSettings }> {
  const name = await readableTenant(stores.tenants, acting, tenant);
  const [view, tuned] = await Promise.all([viewOf(stores.protection, name ?? null), stores.protection.tuned()]);
  return { ...view, score: scoreSettings(tuned) };
}

/** Protection of every tenant the asker may see, by name (the CLI's `protection show`). */
export async function protectionOfTenants(stores: ProtectionStores, acting: Acting): Promise<ProtectionView[]> {
  const [tenants, rows] = await Promise.all([stores.tenants.listTenants(), stores.protection.list()]);
  const byScope = new Map(rows.map((row) => [row.scope, row]));
  return tenants.filter((tenant) => maySee(acting, tenant.name)).map((tenant) => viewFrom(tenant.name, byScope.get('global'), byScope.get(`tenant:${tenant.name}`)));
}

/** The score settings in force: the defaults overlaid with what the operator stored. */
export async function scoreInForce(stores: ProtectionStores): Promise<ScoreSettings> {
  return scoreSettings(await stores.protection.tuned());
}

/** Changes one score setting (administrators only: the score applies to every tenant), audited as `acting`. */
export async function tuneScore(stores: ProtectionStores, acting: Acting, key: string, value: string): Promise<void> {
  const stored = checkScoreSetting(key, value);
  requireChangeIn(acting, null);
  await stores.protection.tune(key, stored);
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
 * The setting `setProtection` would store, checked, without storing it (a replay previews
 * it): what is not given is kept from the setting in force before (the tenant's own, else
 * the global one), else the defaults.
 */
export async function protectionRowFor(stores: ProtectionStores, acting: Acting, input: ProtectionInput): Promise<ProtectionRow> {
  const threshold = input.threshold === undefined ? undefined : score(input.threshold, 'threshold', 10, 'threshold');
  const flag = input.flagThreshold === undefined || input.flagThreshold === null ? input.flagThreshold : score(input.flagThreshold, 'flag threshold', 0, 'flagThreshold');
  if (input.action !== undefined && !(PROTECTION_ACTIONS as readonly string[]).includes(input.action)) {
    throw new BadInput(`bad protection action "${input.action}": expected block, challenge or voicemail`, 'action');
  }
  const scope = await changeableSettingScope(stores.tenants, acting, input.tenant);
  const before = (await stores.protection.get(scope)) ?? (await stores.protection.get('global'));
  const newThreshold = threshold ?? before?.threshold ?? DEFAULT_THRESHOLD;
  const flagThreshold = flag !== undefined ? flag : threshold !== undefined || !before ? Math.max(0, newThreshold - FLAG_BELOW) : before.flagThreshold;
  if (flagThreshold !== null && flagThreshold > newThreshold) {
    throw new BadInput(
      `flag threshold ${flagThreshold} is above the threshold ${newThreshold}: flagging must start at or below where blocking does`,
      flag !== undefined ? 'flagThreshold' : 'threshold',
    );
  }
  return {
    scope,
    enabled: input.enabled ?? before?.enabled ?? false,
    threshold: newThreshold,
    flagThreshold,
    action: (input.action as ProtectionAction | undefined) ?? before?.action ?? 'block',
  };
}

/** Sets protection for a tenant or globally (see protectionRowFor), audited as `acting`. */
export async function setProtection(stores: ProtectionStores, acting: Acting, input: ProtectionInput): Promise<ProtectionView> {
  const row = await protectionRowFor(stores, acting, input);
  await stores.protection.set(row);
  return viewOf(stores.protection, row.scope === 'global' ? null : row.scope.slice('tenant:'.length));
}
