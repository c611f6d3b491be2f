import type { E164 } from './types';

type Max = typeof import('libphonenumber-js/max');
let max: Max | undefined;

/** libphonenumber's full metadata (number types, validity): loaded only when a policy or the score asks. */
function full(): Max {
  max ??= require('libphonenumber-js/max') as Max;
  return max;
}

export function numberType(e164: E164): 'toll_free' | 'premium' | null {
  const type = full().parsePhoneNumberFromString(e164)?.getType();
  return type === 'TOLL_FREE' ? 'toll_free' : type === 'PREMIUM_RATE' ? 'premium' : null;
}

/** A number its country's plan could actually assign (not just one of a possible length). */
export function isValidNumber(e164: E164): boolean {
  return full().isValidPhoneNumber(e164);
}
