import type { RuleShape } from './decision-store';
import { coveringNetworkKeys } from './ip';
import { sipKeys } from './sip';
import type { E164 } from './types';

export interface CallerKeys {
  readonly number: E164 | null;
  readonly anonymous: boolean;
  readonly ip: string | undefined;
  readonly sipFrom: string | undefined;
}

/**
 * Every rule key that could match this caller: its number, each of its prefixes
 * whose length some rule uses, the networks covering its address, its From URI and
 * domain. Equality lookups on these replace any scan of the rules.
 */
export function candidateKeys(caller: CallerKeys, shape: RuleShape): string[] {
  const keys: string[] = [];
  if (caller.number) {
    keys.push(caller.number);
    for (const length of shape.prefixLengths) {
      if (length <= caller.number.length) keys.push(caller.number.slice(0, length));
    }
  }
  if (caller.anonymous && shape.hasAnonymous) keys.push('anonymous');
  if (caller.ip) keys.push(...coveringNetworkKeys(caller.ip, shape.networkBits));
  if (caller.sipFrom && shape.hasSip) keys.push(...sipKeys(caller.sipFrom));
  return keys;
}
