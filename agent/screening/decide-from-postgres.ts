import type { Pool } from 'pg';
import { decide } from '../engine/decide';
import type { Decision } from '../engine/types';
import { PostgresDecisionReads } from '../store/postgres/decision-reads';
import { decideWithReputation } from './decide-with-reputation';
import type { CallDecider } from './decide-with-reputation';

/** Each round reads what the one before asked for; a decision needs three or four. */
const MAX_ROUNDS = 20;

/**
 * Decides one call straight from a fleet's PostgreSQL (explain away from an agent): the
 * engine runs on what has been read until it asks for nothing new, then once more with
 * the reputation sources, so each is asked once for a settled decision (later rounds read
 * the client's cache).
 */
export function decideFromPostgres(pool: Pool): CallDecider {
  return async (facts, settings, reputation) => {
    const reads = await PostgresDecisionReads.open(pool);
    const settle = async (run: () => Decision | Promise<Decision>): Promise<Decision> => {
      for (let round = 0; round < MAX_ROUNDS; round++) {
        const decision = await run();
        if (!(await reads.readMissing())) return decision;
      }
      throw new Error(`a decision kept asking for more after ${MAX_ROUNDS} rounds of reads`);
    };
    await settle(() => decide(facts, reads, settings));
    return settle(() => decideWithReputation(facts, reads, settings, reputation));
  };
}
