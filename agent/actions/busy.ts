import type { ActionContext } from './context';
import type { Outcome } from './outcome';

/** Cleared as user busy (17) before answer. */
export async function busy({ call }: ActionContext): Promise<Outcome> {
  await call.hangup('USER_BUSY');
  return { outcome: 'rejected', detail: 'USER_BUSY' };
}
