import type { ActionContext } from './context';
import type { Outcome } from './outcome';

/** Early media, "calls from this number are not accepted", cleared as call rejected (21). */
export async function block({ call }: ActionContext): Promise<Outcome> {
  await call.earlyMedia();
  await call.play('not-accepted');
  await call.hangup('CALL_REJECTED');
  return { outcome: 'rejected', detail: 'CALL_REJECTED' };
}
