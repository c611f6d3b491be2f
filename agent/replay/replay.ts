import { callbackLookupOf, decide, ruleKeysOf } from '../engine/decide';
import type { CallbackLookup } from '../engine/trusted-callback';
import { parseDuration } from '../engine/duration';
import type { Decision } from '../engine/types';
import type { ReplayRange } from '../store/call-log-sql';
import type { SnapshotView } from '../store/decision-snapshot';
import { FORMER_REPUTATION_SOURCE, FORMER_REPUTATION_WEIGHT, factsOfLoggedCall } from './logged-call';
import type { LoggedCall } from './logged-call';
import { NO_CHANGE, isNoChange } from './proposal';
import type { Proposal } from './proposal';
import { ReplayHistory } from './replay-history';
import { ReplayView } from './replay-view';
import type { AnonymousCallerIds } from '../engine/numbers';

/** The store's decision tables, read once for a whole replay. */
export interface ReplayTables {
  readonly view: SnapshotView;
  /**
   * A store read asynchronously (PostgreSQL) answers a lookup it has not read yet with
   * nothing and notes it: this reads what was noted, false when there was nothing.
   */
  readonly readMissing?: () => Promise<boolean>;
  /** Reads the rules of these keys at once, for the decisions of one page. */
  readonly preloadRules: (keys: readonly string[]) => void | Promise<void>;
  /** Reads the outbound calls of these lookups at once, likewise. */
  readonly preloadCallbacks: (lookups: readonly CallbackLookup[]) => void | Promise<void>;
}

/** Where the logged calls come from: those of `range`, in time order (then id), a page at a time. */
export type LoggedCallPages = (range: ReplayRange) => AsyncIterable<readonly LoggedCall[]>;

export interface ReplayPeriod {
  readonly from: number;
  readonly until: number;
}

/** One logged call decided twice: as things are, and as they would be with the proposal. */
export interface Replayed {
  readonly call: LoggedCall;
  readonly before: Decision;
  readonly after: Decision;
  /** Its facts were all kept (false: logged before they were, replayed with its columns). */
  readonly complete: boolean;
}

/** Rounds of reads a page may need (a decision asks for three or four things in turn). */
const MAX_READ_ROUNDS = 20;
const DAY_MS = 86_400_000;

/**
 * Replays the logged calls of `period` through the real engine twice, as things are and with
 * `proposal`, each at its own moment with the caller's history as it stood then (counted
 * from the log: earlier calls, and challenges that had ended). Reads only; `each` is handed
 * every call replayed, in time order.
 */
export async function replay(
  tables: ReplayTables,
  pages: LoggedCallPages,
  period: ReplayPeriod,
  proposal: Proposal,
  each: (replayed: Replayed) => void,
  country: string,
  anonymous?: AnonymousCallerIds,
): Promise<void> {
  const score = tables.view.score;
  const velocityMs = parseDuration(score.velocity_window, 'velocity_window');
  const historyMs = parseDuration(score.history_window, 'history_window');
  const challengesMs = Math.max(historyMs, rememberedFor(tables.view));
  const lookback = Math.max(velocityMs, challengesMs);
  const history = new ReplayHistory({ callsMs: velocityMs, challengesMs });
  // Migration 015 carried the single service's weight over to the source it made.
  const formerWeight = tables.view.reputationSources.find((source) => source.name === FORMER_REPUTATION_SOURCE)?.weight ?? FORMER_REPUTATION_WEIGHT;
  const asThings = new ReplayView(tables.view, history, NO_CHANGE);
  const proposed = new ReplayView(tables.view, history, proposal);
  // No change decides each call once: both sides are that decision (a plain pass, and the check that a replay is faithful).
  const twice = !isNoChange(proposal);
  const decideAt = (view: ReplayView, call: LoggedCall, facts: ReturnType<typeof factsOfLoggedCall>['facts']) => {
    view.now = call.at;
    return decide(facts, view, { country, now: call.at, anonymous });
  };
  for await (const page of pages({ from: period.from - lookback, until: period.until, velocitySince: period.from - velocityMs })) {
    const replayed = page.filter((call) => call.at >= period.from);
    const facts = replayed.map((call) => factsOfLoggedCall(call, formerWeight));
    const keys = new Set<string>();
    for (const { facts: callFacts } of facts) for (const shape of [asThings.shape, proposed.shape]) for (const key of ruleKeysOf(callFacts, shape, country, anonymous)) keys.add(key);
    await tables.preloadRules([...keys]);
    // Both views trust callbacks alike (a proposal does not change the windows).
    await tables.preloadCallbacks(replayed.flatMap((call, i) => callbackLookupOf(facts[i]!.facts, asThings, { country, now: call.at, anonymous }) ?? []));
    if (tables.readMissing) {
      // Asked once over the page, then read together: the decisions that count come after.
      for (let round = 0; ; round++) {
        replayed.forEach((call, i) => {
          decideAt(asThings, call, facts[i]!.facts);
          if (twice) decideAt(proposed, call, facts[i]!.facts);
        });
        if (!(await tables.readMissing())) break;
        if (round === MAX_READ_ROUNDS) throw new Error(`the replay kept asking the store for more after ${MAX_READ_ROUNDS} rounds of reads`);
      }
    }
    let next = 0;
    for (const call of page) {
      if (call.at >= period.from) {
        const { facts: callFacts, complete } = facts[next++]!;
        const before = decideAt(asThings, call, callFacts);
        each({ call, before, after: twice ? decideAt(proposed, call, callFacts) : before, complete });
      }
      if (call.caller !== null) history.add(call.caller, { at: call.at, did: call.did, tenant: call.tenant, outcome: call.outcome, endedAt: call.endedAt });
    }
  }
}

/** The longest time a passed challenge is remembered for, by any tenant (at least a day, for the history it reads). */
function rememberedFor(view: SnapshotView): number {
  return Math.max(DAY_MS, ...view.rememberedPeriods());
}
