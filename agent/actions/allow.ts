import type { ActionContext } from './context';
import type { Outcome } from './outcome';

/** Through to the normal route; a flagged call goes marked. */
export async function allow({ call, decision, settings }: ActionContext): Promise<Outcome> {
  if (decision.flagged) await call.markSuspected(settings.flag.namePrefix, settings.flag.variable);
  await call.continueRoute();
  return { outcome: 'continued', detail: decision.flagged ? 'flagged' : null };
}
