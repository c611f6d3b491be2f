import { BadInput } from '../engine/bad-input';
import type { ReputationSource } from '../engine/decision-store';
import type { ReputationBackend, ReputationSourceRow } from '../store/reputation-backend';
import { Forbidden, NotFound, requireChangeIn } from './acting';
import type { Acting } from './acting';

export const DEFAULT_SOURCE_TIMEOUT_MS = 200;
export const DEFAULT_SOURCE_WEIGHT = 0.5;
const MAX_URL = 2000;

/** What the faces hand over: text from the CLI, numbers from the API. */
export interface SourceInput {
  readonly name: string;
  readonly url: string;
  readonly timeoutMs?: string | number | undefined;
  readonly weight?: string | number | undefined;
  /** 1 is first; not given: last. */
  readonly position?: string | number | undefined;
}

interface ReputationStores {
  readonly reputation: ReputationBackend;
}

/** A source's name: the score signal `reputation:<name>`, metric labels and /healthz show it. */
function sourceName(name: string): string {
  if (!/^[a-z0-9][a-z0-9_-]{0,31}$/.test(name)) {
    throw new BadInput(`bad reputation source name "${name}": expected a short slug (lower-case letters, digits, - and _, up to 32, not starting with - or _)`, 'name');
  }
  return name;
}

/** An http(s) URL with `{number}` where the caller goes (always URL-encoded there). */
function sourceUrl(url: string): string {
  let parsed: URL | null = null;
  try {
    parsed = url.length <= MAX_URL && !/[\u0000-\u0020\u007f]/.test(url) ? new URL(url.replaceAll('{number}', '0')) : null;
  } catch {
    // not a URL: refused below
  }
  if (!parsed || !['http:', 'https:'].includes(parsed.protocol) || !url.includes('{number}')) {
    throw new BadInput(`bad reputation source url "${url}": expected an http(s) URL containing {number}, up to ${MAX_URL} characters`, 'url');
  }
  return url;
}

/** A number from the CLI (text) or the API; bad input naming `field` when it is not one from `min` to `max` (whole when asked). */
function numberIn(value: string | number, field: string, what: string, min: number, max: number, whole: boolean): number {
  const number = typeof value === 'number' ? value : /^\s*$/.test(value) ? NaN : Number(value);
  if (!Number.isFinite(number) || number < min || number > max || (whole && !Number.isInteger(number))) {
    throw new BadInput(`bad ${what} "${value}": expected ${whole ? 'a whole number' : 'a number'} from ${min} to ${max}`, field);
  }
  return number;
}

function position(value: string | number): number {
  return numberIn(value, 'position', 'position', 1, 1000, true);
}

/** The sources apply to every tenant, and a URL may hold a service's key: for administrators only. */
function requireEveryTenant(acting: Acting): void {
  if (acting.tenants !== null) throw new Forbidden('reputation sources serve every tenant: administrators only');
}

/** The sources, in the order they are shown and explained. */
export async function listSources(stores: ReputationStores, acting: Acting): Promise<ReputationSourceRow[]> {
  requireEveryTenant(acting);
  return stores.reputation.sources();
}

/**
 * Adds a source, checked (nothing is written when any field is bad), audited as `acting`.
 * Its timeout is its own; an agent cuts it to fit its decision limit (reputationBudgetMs).
 */
export async function addSource(stores: ReputationStores, acting: Acting, input: SourceInput): Promise<ReputationSourceRow> {
  const source: ReputationSource = {
    name: sourceName(input.name),
    url: sourceUrl(input.url),
    timeoutMs: numberIn(input.timeoutMs ?? DEFAULT_SOURCE_TIMEOUT_MS, 'timeoutMs', 'timeout', 10, 10_000, true),
    weight: numberIn(input.weight ?? DEFAULT_SOURCE_WEIGHT, 'weight', 'weight', 0, 1, false),
  };
  const at = input.position === undefined ? null : position(input.position);
  requireChangeIn(acting, null);
  return stores.reputation.add(source, at);
}

export async function removeSource(stores: ReputationStores, acting: Acting, name: string): Promise<ReputationSourceRow> {
  requireChangeIn(acting, null);
  const removed = await stores.reputation.remove(name);
  if (!removed) throw new NotFound(`no reputation source "${name}"`);
  return removed;
}

/** Moves a source to `to` (1 is first; past the end: last). */
export async function moveSource(stores: ReputationStores, acting: Acting, name: string, to: string | number): Promise<ReputationSourceRow> {
  const at = position(to);
  requireChangeIn(acting, null);
  const moved = await stores.reputation.move(name, at);
  if (!moved) throw new NotFound(`no reputation source "${name}"`);
  return moved;
}
