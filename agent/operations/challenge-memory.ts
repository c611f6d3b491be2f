import { REMEMBER_PASSES } from '../store/settings';
import type { Acting } from './acting';
import { setScopedDuration } from './scoped-duration';
import type { ScopedDurationStores } from './scoped-duration';

/**
 * How long a passed challenge lets the caller through without another (`30d`, or `off`),
 * for a tenant or for every tenant without its own setting. Returns the scope and the
 * milliseconds stored (0: not remembered).
 */
export function rememberPasses(
  stores: ScopedDurationStores,
  acting: Acting,
  input: { duration: string; tenant?: string | undefined },
): Promise<{ scope: string; ms: number }> {
  return setScopedDuration(stores, acting, REMEMBER_PASSES, input);
}
