/**
 * The names callguard and the inbound-mode dialplan snippet (dialplan/freeswitch/
 * callguard-inbound.xml) share: a test reads the snippet and checks it uses these.
 */

/** Set by the dialplan before `park`: the call has been handed to screening (the agent's event filter). */
export const SCREEN_MARK = 'callguard_screen';
/** `true` once callguard let the call through; `fail-open` when the dialplan sent it on without callguard. */
export const SCREENED_MARK = 'callguard_screened';
/**
 * Global variable holding the epoch second until which callguard counts as alive: the
 * dialplan parks a call for screening only while it lies in the future.
 */
export const ALIVE_UNTIL = 'callguard_alive_until';
/** The id of the scheduled transfer that sends a parked call on if callguard never takes it. */
export const FAIL_OPEN_TASK = 'callguard_fail_open_task';
/**
 * A failover pair in inbound mode: set by the dialplan before `park` to the letter of the
 * agent the call is parked for (a while its heartbeat is fresh, else b), so each agent's
 * event filter passes only its own calls and no call is screened by both.
 */
export const AGENT_MARK = 'callguard_agent';

import type { PairLetter } from '../pair';

/** The heartbeat of one agent of a pair (`callguard_alive_until_a`), or of a single agent. */
export const aliveVariable = (pairAs: PairLetter | null): string => (pairAs ? `${ALIVE_UNTIL}_${pairAs}` : ALIVE_UNTIL);
