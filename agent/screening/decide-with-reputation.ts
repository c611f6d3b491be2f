import { decide } from '../engine/decide';
import type { EngineSettings } from '../engine/decide';
import type { DecisionStore } from '../engine/decision-store';
import type { CallFacts, Decision, E164 } from '../engine/types';
import type { ReputationClient } from './reputation';

/**
 * A decision that may consult the reputation sources. The engine does no I/O, so the
 * call is decided once; only when protection scored it and sources are configured is
 * the number looked up and the call decided again with their answers. Allowed callers
 * and calls stopped by a rule or category never wait for a source.
 */
export async function decideWithReputation(facts: CallFacts, store: DecisionStore, settings: EngineSettings, client: ReputationClient): Promise<Decision> {
  return (await decideWithReputationFacts(facts, store, settings, client)).decision;
}

/** The same, with the facts the decision was made on (the reputation answers added, when they were asked): what the call log keeps for a replay. */
export async function decideWithReputationFacts(
  facts: CallFacts,
  store: DecisionStore,
  settings: EngineSettings,
  client: ReputationClient,
): Promise<{ decision: Decision; facts: CallFacts }> {
  const first = decide(facts, store, settings);
  const sources = store.view().reputationSources;
  if (first.score === null || sources.length === 0 || !first.caller || facts.reputation) return { decision: first, facts };
  const reputation = await client.lookup(sources, first.caller as E164);
  const withReputation = { ...facts, reputation };
  return { decision: decide(withReputation, store, settings), facts: withReputation };
}

/** Decides one call from a store: the same question, whichever store answers it. */
export type CallDecider = (facts: CallFacts, settings: EngineSettings, reputation: ReputationClient) => Promise<Decision>;

/** A CallDecider over a DecisionStore the engine can read synchronously (the SQLite file, an agent's local copy). */
export function deciderOn(store: DecisionStore): CallDecider {
  return (facts, settings, reputation) => decideWithReputation(facts, store, settings, reputation);
}
