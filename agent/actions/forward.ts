import type { E164 } from '../engine/types';
import type { ActionContext } from './context';
import type { Outcome } from './outcome';

/** Bridge to the rule's number, caller ID kept; if it fails the call takes its normal route. */
export async function forward({ call, decision }: ActionContext): Promise<Outcome> {
  const target = decision.target as E164;
  if ((await call.forward(target)) === 'answered') return { outcome: 'answered', detail: target };
  await call.continueRoute();
  return { outcome: 'forward_failed', detail: target };
}
