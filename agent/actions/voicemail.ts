import type { ActionContext } from './context';
import type { Outcome } from './outcome';

/** Straight to voicemail; nobody's phone rings. */
export async function voicemail({ call, decision }: ActionContext): Promise<Outcome> {
  await call.voicemail(decision.target);
  return { outcome: 'voicemail', detail: decision.target };
}
