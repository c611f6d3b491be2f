import { decide } from '../engine/decide';
import type { EngineSettings } from '../engine/decide';
import type { DecisionStore } from '../engine/decision-store';
import type { CallFacts, Decision, E164 } from '../engine/types';
import type { ReputationClient } from './reputation';

/**
 * A decision that may consult the reputation service. The engine does no I/O, so the
 * call is decided once; only when protection scored it and a service is configured is
 * the number looked up and the call decided again with the answer. Allowed callers and
 * calls stopped by a rule or category never wait for the service.
 */
export async function decideWithReputation(facts: CallFacts, store: DecisionStore, settings: EngineSettings, client: ReputationClient): Promise<Decision> {
  return (await decideWithReputationFacts(facts, store, settings, client)).decision;
}

/** The same, with the facts the decision was made on (the reputation answer added, when one was asked): what the call log keeps for a replay. */
export async function decideWithReputationFacts(
  facts: CallFacts,
  store: DecisionStore,
  settings: EngineSettings,
  client: ReputationClient,
): Promise<{ decision: Decision; facts: CallFacts }> {
  const first = decide(facts, store, settings);
  const { reputation_url: url, reputation_timeout_ms: timeoutMs } = store.view().score;
  if (first.score === null || !url || !first.caller || facts.reputation) return { decision: first, facts };
  const reputation = await client.lookup(url, first.caller as E164, timeoutMs);
  const withReputation = { ...facts, reputation };
  return { decision: decide(withReputation, store, settings), facts: withReputation };
}

/** Decides one call from a store: the same question, whichever store answers it. */
export type CallDecider = (facts: CallFacts, settings: EngineSettings, reputation: ReputationClient) => Promise<Decision>;

/** A CallDecider over a DecisionStore the engine can read synchronously (the SQLite file, an agent's local copy). */
export function deciderOn(store: DecisionStore): CallDecider {
  return (facts, settings, reputation) => decideWithReputation(facts, store, settings, reputation);
}
