import type { Decision } from '../engine/types';
import type { Replayed } from './replay';

/** What a call met, for the report: the action, with an allowed call marked as suspected spam told apart. */
export type Verdict = Decision['action'] | 'flag';

/** Verdicts that stop a call: the caller never reaches anyone. */
const STOPPING: ReadonlySet<Verdict> = new Set(['block', 'busy', 'disconnected']);
/** Logged outcomes of a call someone took: through to its route, or a forward answered. */
const TAKEN = new Set(['continued', 'answered']);
const TOP_CALLERS = 10;
/** Changed calls kept for --list and the calls at risk, newest last. */
const LIST_LIMIT = 10_000;

export const verdictOf = (decision: Decision): Verdict => (decision.action === 'allow' && decision.flagged ? 'flag' : decision.action);

export interface ChangedCall {
  readonly id: number;
  readonly at: number;
  readonly tenant: string;
  readonly did: string | null;
  readonly caller: string | null;
  readonly before: Verdict;
  readonly after: Verdict;
  readonly score: { readonly before: number | null; readonly after: number | null };
  /** What the call did then: its logged outcome. */
  readonly outcome: string | null;
  /** Why it would now be stopped although it should not be (calls at risk only). */
  readonly risk: RiskReason | null;
}

export type RiskReason = 'answered' | 'passed a challenge' | 'allowed by a rule';

export interface Transition {
  readonly before: Verdict;
  readonly after: Verdict;
  readonly calls: number;
  /** By tenant and DID, most calls first. */
  readonly where: { readonly tenant: string; readonly did: string | null; readonly calls: number }[];
}

export interface WhatIfReport {
  readonly period: { readonly from: number; readonly until: number };
  readonly tenant: string | null;
  readonly changes: string[];
  readonly calls: number;
  /** Calls logged before their facts were kept, replayed with their columns only. */
  readonly withoutFacts: number;
  /** Calls that things as they are now decide otherwise than the log says (the rules changed since). */
  readonly decidedOtherwiseSince: number;
  readonly changed: number;
  readonly transitions: Transition[];
  readonly topCallers: { readonly caller: string; readonly calls: number }[];
  readonly atRisk: { readonly calls: number; readonly answered: number; readonly passedChallenge: number; readonly allowedByRule: number; readonly list: ChangedCall[] };
  /** Every changed call (up to LIST_LIMIT), when asked for. */
  readonly list: ChangedCall[] | null;
}

/** Why a call that would now be stopped had better not be; null when nothing says so. */
function riskOf(replayed: Replayed, after: Verdict): RiskReason | null {
  if (!STOPPING.has(after) || STOPPING.has(verdictOf(replayed.before))) return null;
  if (replayed.call.outcome === 'passed') return 'passed a challenge';
  if (replayed.before.action === 'allow' && replayed.before.ruleId !== null) return 'allowed by a rule';
  if (replayed.call.outcome !== null && TAKEN.has(replayed.call.outcome)) return 'answered';
  return null;
}

type Place = { tenant: string; did: string | null; calls: number };
type TransitionTally = { before: Verdict; after: Verdict; calls: number; where: Map<string, Place> };

/** What a tally has gathered: handed whole from a thread that replayed part of a period to the one that reports (Maps and arrays clone as they are). */
export interface TallyState {
  readonly calls: number;
  readonly withoutFacts: number;
  readonly otherwise: number;
  readonly changed: number;
  readonly transitions: ReadonlyMap<string, TransitionTally>;
  readonly callers: ReadonlyMap<string, number>;
  readonly risks: WhatIfReport['atRisk'];
  readonly list: readonly ChangedCall[] | null;
}

/** Gathers replayed calls into the report, a call at a time (a million never sit in memory). */
export class WhatIfTally {
  private calls = 0;
  private withoutFacts = 0;
  private otherwise = 0;
  private changed = 0;
  private readonly transitions = new Map<string, TransitionTally>();
  private readonly callers = new Map<string, number>();
  private readonly risks = { calls: 0, answered: 0, passedChallenge: 0, allowedByRule: 0, list: [] as ChangedCall[] };
  private readonly list: ChangedCall[] | null;

  constructor(listChanged: boolean) {
    this.list = listChanged ? [] : null;
  }

  state(): TallyState {
    const { calls, withoutFacts, otherwise, changed, transitions, callers, risks, list } = this;
    return { calls, withoutFacts, otherwise, changed, transitions, callers, risks, list };
  }

  /**
   * Adds what another tally gathered over the calls that came right after this one's: parts
   * of a period absorbed in time order make the tally one pass over it all would have made
   * (the same counts, the first changed calls kept, ties in the same order).
   */
  absorb(part: TallyState): void {
    this.calls += part.calls;
    this.withoutFacts += part.withoutFacts;
    this.otherwise += part.otherwise;
    this.changed += part.changed;
    for (const [key, transition] of part.transitions) {
      const mine = this.transitions.get(key) ?? { before: transition.before, after: transition.after, calls: 0, where: new Map<string, Place>() };
      mine.calls += transition.calls;
      for (const [placeKey, place] of transition.where) {
        const held = mine.where.get(placeKey) ?? { tenant: place.tenant, did: place.did, calls: 0 };
        held.calls += place.calls;
        mine.where.set(placeKey, held);
      }
      this.transitions.set(key, mine);
    }
    for (const [caller, calls] of part.callers) this.callers.set(caller, (this.callers.get(caller) ?? 0) + calls);
    this.risks.calls += part.risks.calls;
    this.risks.answered += part.risks.answered;
    this.risks.passedChallenge += part.risks.passedChallenge;
    this.risks.allowedByRule += part.risks.allowedByRule;
    this.risks.list.push(...part.risks.list.slice(0, LIST_LIMIT - this.risks.list.length));
    if (this.list && part.list) this.list.push(...part.list.slice(0, LIST_LIMIT - this.list.length));
  }

  add(replayed: Replayed): void {
    const { call, before, after } = replayed;
    this.calls++;
    if (!replayed.complete) this.withoutFacts++;
    if (before.action !== call.action || before.flagged !== call.flagged) this.otherwise++;
    const was = verdictOf(before);
    const now = verdictOf(after);
    if (was === now) return;
    this.changed++;
    const key = `${was}>${now}`;
    let transition = this.transitions.get(key);
    if (!transition) {
      transition = { before: was, after: now, calls: 0, where: new Map() };
      this.transitions.set(key, transition);
    }
    transition.calls++;
    const placeKey = `${call.tenant}|${call.did ?? ''}`;
    const place = transition.where.get(placeKey) ?? { tenant: call.tenant, did: call.did, calls: 0 };
    place.calls++;
    transition.where.set(placeKey, place);
    if (call.caller !== null) this.callers.set(call.caller, (this.callers.get(call.caller) ?? 0) + 1);
    const risk = riskOf(replayed, now);
    const changedCall: ChangedCall = { id: call.id, at: call.at, tenant: call.tenant, did: call.did, caller: call.caller, before: was, after: now, score: { before: before.score, after: after.score }, outcome: call.outcome, risk };
    if (risk) {
      this.risks.calls++;
      if (risk === 'answered') this.risks.answered++;
      else if (risk === 'passed a challenge') this.risks.passedChallenge++;
      else this.risks.allowedByRule++;
      if (this.risks.list.length < LIST_LIMIT) this.risks.list.push(changedCall);
    }
    if (this.list && this.list.length < LIST_LIMIT) this.list.push(changedCall);
  }

  report(period: WhatIfReport['period'], tenant: string | null, changes: readonly string[]): WhatIfReport {
    const byCalls = <T extends { calls: number }>(a: T, b: T) => b.calls - a.calls;
    return {
      period,
      tenant,
      changes: [...changes],
      calls: this.calls,
      withoutFacts: this.withoutFacts,
      decidedOtherwiseSince: this.otherwise,
      changed: this.changed,
      transitions: [...this.transitions.values()].sort(byCalls).map((transition) => ({ ...transition, where: [...transition.where.values()].sort(byCalls) })),
      topCallers: [...this.callers].map(([caller, calls]) => ({ caller, calls })).sort(byCalls).slice(0, TOP_CALLERS),
      atRisk: this.risks,
      list: this.list,
    };
  }
}
