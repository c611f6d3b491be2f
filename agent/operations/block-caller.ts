import type { Database } from 'better-sqlite3';
import { BadInput } from '../engine/bad-input';
import { requireNumber } from '../engine/numbers';
import { parsePattern } from '../engine/patterns';
import type { MatchSpec } from '../engine/patterns';
import { sipKeys } from '../engine/sip';
import type { ActionName } from '../engine/types';
import { CallLogQueries } from '../store/call-log-queries';
import type { LogRow } from '../store/call-log-queries';
import { RuleStore } from '../store/rules';

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

/**
 * Turns a logged call's caller into a rule (the CLI's `block` and the hook's
 * `block-last`): block by default, for the call's own tenant by default, audited as `actor`.
 */
export function blockCaller(
  db: Database,
  call: LogRow,
  how: { by: BlockBy; action: ActionName; scope: string | null; sms: boolean },
  country: string,
  actor: string,
): BlockedCaller {
  const spec = callerMatch(call, how.by, country);
  const scope = how.scope ?? `tenant:${call.tenant}`;
  const [ruleId] = new RuleStore(db, actor).add([
    { ...spec, scope, action: how.action, target: null, sms: how.sms, note: `from call ${call.id}`, list: null, expiresAt: null },
  ]);
  return { ruleId: ruleId!, pattern: spec.pattern, scope, action: how.action };
}


/** `block --last --did` and the hook's block-last: the newest caller to a DID, blocked for that call's tenant. */
export function blockLastCaller(db: Database, didText: string, country: string, actor: string): BlockedCaller {
  const did = requireNumber(didText, country, 'DID');
  const call = new CallLogQueries(db).lastTo(did);
  if (!call) throw new BadInput(`no call to ${did} in the call log`);
  return blockCaller(db, call, { by: 'number', action: 'block', scope: null, sms: false }, country, actor);
}
