import type { E164 } from './types';

type Max = typeof import('libphonenumber-js/max');
let max: Max | undefined;

/** libphonenumber's full metadata (number types, validity): loaded only when a policy or the score asks. */
function full(): Max {
  max ??= require('libphonenumber-js/max') as Max;
  return max;
}

/** One number as full metadata reads it, each answer worked out when first asked; kept for recent numbers (a caller calls again; a replay asks twice). */
interface Judged {
  readonly parsed: ReturnType<Max['parsePhoneNumberFromString']>;
  type?: 'toll_free' | 'premium' | null;
  valid?: boolean;
}

const judged = new Map<string, Judged>();
const JUDGED_LIMIT = 20_000;

function judgedOf(e164: E164): Judged {
  let entry = judged.get(e164);
  if (!entry) {
    entry = { parsed: full().parsePhoneNumberFromString(e164) };
    if (judged.size >= JUDGED_LIMIT) judged.clear();
    judged.set(e164, entry);
  }
  return entry;
}

export function numberType(e164: E164): 'toll_free' | 'premium' | null {
  const entry = judgedOf(e164);
  if (entry.type === undefined) {
    const type = entry.parsed?.getType();
    entry.type = type === 'TOLL_FREE' ? 'toll_free' : type === 'PREMIUM_RATE' ? 'premium' : null;
  }
  return entry.type;
}

/** A number its country's plan could actually assign (not just one of a possible length). */
export function isValidNumber(e164: E164): boolean {
  const entry = judgedOf(e164);
  entry.valid ??= entry.parsed?.isValid() ?? false;
  return entry.valid;
}
