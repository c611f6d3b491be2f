import type { ActionContext } from './context';
import type { Outcome } from './outcome';

/**
 * Answer and ask a caller with no usable caller ID to key in their number; the call is
 * then screened again as that number (rules, categories and protection all apply) and
 * that decision is carried out. Keys that are not a phone number get another try, up to
 * the limit; then the caller is told goodbye.
 */
export async function identify({ call, settings, rescreen }: ActionContext): Promise<Outcome> {
  const { maxDigits, timeoutMs, digitTimeoutMs, tries } = settings.identify;
  await call.answer();
  let last: string | null = null;
  for (let attempt = 1; attempt <= tries; attempt++) {
    last = await call.promptForNumber('identify', { maxDigits, timeoutMs, digitTimeoutMs });
    if (last === null) continue;
    const again = await rescreen(last);
    if (again) return { outcome: 'identified', detail: `keyed in ${again.number}: ${again.decision.action}, ${again.outcome.outcome} (call ${again.uid})` };
  }
  await call.play('goodbye');
  await call.hangup('NORMAL_CLEARING');
  return { outcome: 'failed', detail: last === null ? `no number keyed in ${tries} tries` : `keyed ${last.slice(0, 20)}: not a phone number` };
}
