import type { ActionContext } from './context';
import type { Outcome } from './outcome';

/**
 * Answer and ask for a key. The right key within the timeout continues the normal
 * route; a wrong key ends it at once; silence gets another try, up to the limit.
 */
export async function challenge({ call, settings }: ActionContext): Promise<Outcome> {
  const { digit: expected, timeoutMs, tries } = settings.challenge;
  await call.answer();
  let last: string | null = null;
  for (let attempt = 1; attempt <= tries; attempt++) {
    last = await call.promptForDigit('challenge', timeoutMs);
    if (last === expected) {
      await call.continueRoute();
      return { outcome: 'passed', detail: `pressed ${last}` };
    }
    if (last !== null) break;
  }
  await call.play('goodbye');
  await call.hangup('NORMAL_CLEARING');
  return { outcome: 'failed', detail: last === null ? `no key in ${tries} tries` : `pressed ${last}` };
}
