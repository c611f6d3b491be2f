import type { ActionContext } from './context';
import type { Outcome } from './outcome';

/** Early media, the three SIT tones and "not in service", cleared as unallocated number (1). */
export async function disconnected({ call }: ActionContext): Promise<Outcome> {
  await call.earlyMedia();
  await call.play('not-in-service');
  await call.hangup('UNALLOCATED_NUMBER');
  return { outcome: 'rejected', detail: 'UNALLOCATED_NUMBER' };
}
