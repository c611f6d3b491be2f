import { numberType } from './full-metadata';
import { callingCodeOf, countryOf } from './numbers';
import type { AttestationFact, CallerIdentity, Category, E164 } from './types';

/** NANP area code + exchange: `+1` and six digits. */
function npaNxx(number: E164): string | null {
  return number.startsWith('+1') && number.length === 12 ? number.slice(0, 8) : null;
}

export interface CategoryInput {
  readonly caller: CallerIdentity;
  readonly did: E164 | null;
  /** An attestation that could not be seen never makes the caller unverified. */
  readonly attestation: AttestationFact;
  readonly country: string;
}

/**
 * Does `category` apply to this caller? Asked one category at a time so that
 * costly ones (number types) are looked at only when a policy needs them.
 */
export function inCategory(category: Category, input: CategoryInput): boolean {
  const { caller } = input;
  switch (category) {
    case 'anonymous':
      return caller.kind === 'anonymous';
    case 'invalid':
      return caller.kind === 'invalid';
    case 'unverified':
      return input.attestation === 'C' || input.attestation === 'failed';
  }
  if (caller.kind !== 'number') return false;
  switch (category) {
    case 'toll_free':
    case 'premium':
      return numberType(caller.e164) === category;
    case 'international': {
      const country = countryOf(caller.e164);
      return country ? country !== input.country : !caller.e164.startsWith('+' + callingCodeOf(input.country));
    }
    case 'neighbor': {
      const exchange = input.did && npaNxx(input.did);
      return !!exchange && npaNxx(caller.e164) === exchange;
    }
  }
}

export function describeCategory(category: Category, input: CategoryInput): string {
  switch (category) {
    case 'anonymous':
      return input.caller.kind === 'anonymous' ? `anonymous (${input.caller.why})` : 'anonymous';
    case 'invalid':
      return input.caller.kind === 'invalid' ? `invalid (${input.caller.why})` : 'invalid';
    case 'toll_free':
      return 'toll_free (a toll-free number)';
    case 'premium':
      return 'premium (a premium-rate number)';
    case 'international':
      return `international (outside ${input.country})`;
    case 'neighbor':
      return 'neighbor (same area code and exchange as the number called)';
    case 'unverified':
      return `unverified (attestation ${typeof input.attestation === 'string' ? input.attestation : 'not visible'})`;
  }
}
