import type { E164 } from '../engine/types';

/** One outbound call the switch reported: `number` was dialled for `tenant` at `at` (ms). */
export interface OutboundCall {
  readonly tenant: string;
  readonly number: E164;
  /** Who dialled, when it was a number (null: an extension). */
  readonly caller: E164 | null;
  readonly at: number;
}

/**
 * Where the outbound-call hook (agent/operations/called-numbers.ts) writes, on either
 * backend. Rows are kept one per call, never overwritten: a replay reads them as they
 * stood at each logged call's moment.
 */
export interface OutboundCallBackend {
  /** The tenant a DID is registered to; null when it is no DID of the store. */
  tenantOfDid(number: E164): Promise<string | null>;
  tenantExists(name: string): Promise<boolean>;
  record(call: OutboundCall): Promise<void>;
  /** Deletes the outbound calls older at `now` than the longest trust window of any tenant (30 days at least); returns how many. */
  prune(now: number): Promise<number>;
}
