import { BadInput } from '../engine/bad-input';
import { requireNumber } from '../engine/numbers';
import { parsePattern } from '../engine/patterns';
import type { MatchSpec } from '../engine/patterns';
import { sipKeys } from '../engine/sip';
import type { ActionName } from '../engine/types';
import type { CallLogBackend } from '../store/call-log-backend';
import type { LogRow } from '../store/call-log-queries';
import type { RuleBackend } from '../store/rule-backend';
import type { Acting } from './acting';
import { parseRuleOptions } from './rule-options';
import { addMatches } from './rules';

export type BlockBy = 'number' | 'ip' | 'sip';

export function parseBlockBy(text: string | undefined): BlockBy {
  const by = text ?? 'number';
  if (by !== 'number' && by !== 'ip' && by !== 'sip') throw new BadInput(`bad --by "${by}": expected number, ip or sip`);
  return by;
}

/** The caller of a logged call as a rule's match: its number, its signalling address, or its From URI. */
export function callerMatch(call: LogRow, by: BlockBy, country: string): MatchSpec {
  const value = by === 'number' ? call.caller : by === 'ip' ? call.ip : call.sipFrom;
  if (!value) {
    const what = by === 'number' ? 'caller number (it was anonymous or invalid)' : by === 'ip' ? 'signalling IP address' : 'SIP From URI';
    throw new BadInput(`call ${call.id} has no ${what}: try another --by`);
  }
  if (by !== 'sip') return parsePattern(value, country);
  const exact = sipKeys(value).find((key) => key.startsWith('sip:'));
  if (!exact) throw new BadInput(`call ${call.id}'s From URI ${JSON.stringify(value.slice(0, 80))} has no user@host to block`);
  return parsePattern(exact.slice('sip:'.length), country);
}

export interface BlockedCaller {
  readonly ruleId: number;
  readonly pattern: string;
  readonly scope: string;
  readonly action: ActionName;
}

/** How to block a logged call's caller: by what, and the rule's action, scope and texts as `rules add` takes them. */
export interface BlockHow {
  readonly by: BlockBy;
  /** As typed (`busy`, `voicemail:200`); none: block. */
  readonly action?: string | undefined;
  /** None: the call's own tenant. */
  readonly scope?: string | undefined;
  readonly sms?: boolean | undefined;
}

/**
 * Turns a logged call's caller into a rule (the CLI's `block` and the hook's
 * `block-last`) through the rule operations: checked like `rules add` (action, scope,
 * its tenant, whether `acting` may change it) and audited as `acting`.
 */
export async function blockCaller(rules: RuleBackend, acting: Acting, call: LogRow, how: BlockHow, country: string, now = Date.now()): Promise<BlockedCaller> {
  // The options first, as `rules add` checks them, then whether the call has what to block by.
  const options = parseRuleOptions({ action: how.action ?? 'block', scope: how.scope ?? `tenant:${call.tenant}`, sms: how.sms, note: `from call ${call.id}` }, country, now);
  const spec = callerMatch(call, how.by, country);
  const [rule] = await addMatches(rules, acting, [spec], options, country, now);
  return { ruleId: rule!.id, pattern: spec.pattern, scope: options.scope, action: options.action };
}

/** The newest call to a DID as typed: BadInput when the log has none. */
export async function lastCallTo(calls: Pick<CallLogBackend, 'lastTo'>, didText: string, country: string): Promise<LogRow> {
  const did = requireNumber(didText, country, 'DID');
  const call = await calls.lastTo(did);
  if (!call) throw new BadInput(`no call to ${did} in the call log`);
  return call;
}

/** What block-last works on: where the newest call is found, and where the rule goes. */
export interface BlockLastStores {
  readonly calls: Pick<CallLogBackend, 'lastTo'>;
  readonly rules: RuleBackend;
}

/** `block --last --did` and the hook's block-last: the newest caller to a DID, blocked for that call's tenant. */
export async function blockLastCaller(stores: BlockLastStores, acting: Acting, didText: string, country: string): Promise<BlockedCaller> {
  const call = await lastCallTo(stores.calls, didText, country);
  return blockCaller(stores.rules, acting, call, { by: 'number' }, country);
}
