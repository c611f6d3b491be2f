import type { ActionName } from '../engine/types';
import { allow } from './allow';
import { block } from './block';
import { busy } from './busy';
import { CallerGone } from './call-control';
import { challenge } from './challenge';
import type { ActionContext } from './context';
import { disconnected } from './disconnected';
import { forward } from './forward';
import { identify } from './identify';
import type { Outcome } from './outcome';
import { voicemail } from './voicemail';

const ACTIONS: Record<ActionName, (context: ActionContext) => Promise<Outcome>> = {
  allow,
  block,
  challenge,
  busy,
  disconnected,
  voicemail,
  forward,
  identify,
};

/** Carries a decision out on a call; a caller who leaves half way is an outcome, not an error. */
export async function carryOut(context: ActionContext): Promise<Outcome> {
  try {
    if (context.decision.monitored) {
      const through = await allow(context);
      return through.outcome === 'continued' ? { outcome: 'monitored', detail: `monitor mode: would have been ${context.decision.action}` } : through;
    }
    return await ACTIONS[context.decision.action](context);
  } catch (error) {
    if (error instanceof CallerGone) return { outcome: 'hungup', detail: error.during };
    throw error;
  }
}
