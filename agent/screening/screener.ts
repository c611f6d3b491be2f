import type { CallControl } from '../actions/call-control';
import type { Rescreened } from '../actions/context';
import { carryOut } from '../actions/carry-out';
import type { Outcome } from '../actions/outcome';
import type { ActionSettings } from '../actions/settings';
import type { DecisionStore } from '../engine/decision-store';
import { normalizeNumber } from '../engine/numbers';
import type { AnonymousCallerIds } from '../engine/numbers';
import type { CallFacts, Decision } from '../engine/types';
import type { Logger } from '../log/logger';
import type { CallSink } from '../store/call-log';
import { callUid } from '../store/call-uid';
import { decideWithReputationFacts } from './decide-with-reputation';
import { DEFAULT_DECISION_LIMIT_MS, reputationBudgetMs } from './decision-limit';
import { ReputationClient } from './reputation';

/** What to do when a decision cannot be made: let calls through (open) or stop them (closed). */
export type FailMode = 'open' | 'closed';

export interface ScreenerSettings {
  readonly country: string;
  /** What counts as "no caller ID" (config `anonymous`); the built-in words when absent. */
  readonly anonymous?: AnonymousCallerIds | undefined;
  readonly failMode: FailMode;
  readonly actions: ActionSettings;
  /** How long a decision may take before the fail mode applies instead (default 250 ms). */
  readonly decisionLimitMs?: number;
}

export { DEFAULT_DECISION_LIMIT_MS } from './decision-limit';

/** A decision that did not come within its limit. */
export class DecisionTooSlow extends Error {
  override readonly name = 'DecisionTooSlow';
  constructor(limitMs: number) {
    super(`no decision within ${limitMs} ms`);
  }
}

/** Told about every decision, e.g. to count it in the metrics. */
export interface ScreeningObserver {
  /** `pbx`: the connection the call came through, null for the HTTP hook. */
  decided(decision: Decision, seconds: number, pbx: string | null): void;
  /** A decision fell back to the fail mode. */
  failedOver(): void;
}

export interface Screened {
  readonly uid: string;
  readonly decision: Decision;
  readonly outcome: Outcome;
}

/** What a driver screens its calls with: the screener, or the screener bound to one PBX connection's name (`forPbx`). */
export interface CallScreener {
  screen(call: CallControl, facts: CallFacts, source: string, channel: string | null): Promise<Screened>;
}

/** The decision a failure falls back to, saying why. */
function fallback(facts: CallFacts, mode: FailMode, why: string): Decision {
  return {
    action: mode === 'open' ? 'allow' : 'block',
    target: null,
    kind: facts.kind,
    tenant: 'default',
    did: null,
    caller: null,
    callerKind: 'invalid',
    scope: null,
    ruleId: null,
    category: null,
    categories: [],
    score: null,
    flagged: false,
    signals: [],
    reasons: [`No decision could be made (${why}); fail mode ${mode} ${mode === 'open' ? 'lets the call through' : 'blocks the call'}.`],
  };
}

/**
 * One call from event to outcome: decide, log the decision, carry it out on the
 * PBX through the neutral call control, log the outcome. Shared by every driver.
 */
export class Screener {
  constructor(
    private readonly store: DecisionStore,
    private readonly log: CallSink,
    private readonly settings: ScreenerSettings,
    private readonly logger: Logger,
    private readonly observer: ScreeningObserver | null = null,
    /** The reputation lookups (their health is the agent's /healthz detail); their waits fit the decision limit. */
    readonly reputation = new ReputationClient({ budgetMs: reputationBudgetMs(settings.decisionLimitMs ?? DEFAULT_DECISION_LIMIT_MS) }),
  ) {}

  /**
   * The decision, the moment it was made for (what the log keeps as the call's time, so a
   * replay decides it at the same moment) and the facts it was made on.
   */
  async decide(facts: CallFacts, pbx: string | null = null): Promise<{ decision: Decision; decidedUs: number; at: number; facts: CallFacts }> {
    const start = process.hrtime.bigint();
    const at = Date.now();
    let decidedOn = facts;
    const limitMs = this.settings.decisionLimitMs ?? DEFAULT_DECISION_LIMIT_MS;
    let timer: NodeJS.Timeout | undefined;
    // Started first, so the limit counts from the call's arrival; the engine itself is synchronous and cannot be cut short.
    const tooSlow = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new DecisionTooSlow(limitMs)), limitMs)));
    let decision: Decision;
    try {
      ({ decision, facts: decidedOn } = await Promise.race([decideWithReputationFacts(facts, this.store, { country: this.settings.country, now: at, anonymous: this.settings.anonymous }, this.reputation), tooSlow]));
    } catch (error) {
      this.logger.warn({ err: error, limitMs }, 'no decision (failed or too slow); applying the fail mode');
      this.observer?.failedOver();
      decision = fallback(facts, this.settings.failMode, error instanceof Error ? error.message : String(error));
    } finally {
      clearTimeout(timer);
    }
    const decidedUs = Number(process.hrtime.bigint() - start) / 1000;
    this.observer?.decided(decision, decidedUs / 1e6, pbx);
    return { decision, decidedUs, at, facts: decidedOn };
  }

  /** A verdict only (the HTTP hook): decided and logged; the dialplan that asked carries it out. */
  async verdict(facts: CallFacts, source: string): Promise<{ uid: string; decision: Decision }> {
    const uid = callUid();
    const { decision, decidedUs, at, facts: decidedOn } = await this.decide(facts);
    this.log.record({ uid, at, source, pbx: null, channel: null, facts: decidedOn, decision, decidedUs });
    if (decision.monitored) this.log.finish(uid, { outcome: 'monitored', detail: `monitor mode: would have been ${decision.action}` });
    return { uid, decision };
  }

  /** The calls of one PBX connection, logged with its name. */
  forPbx(pbx: string): CallScreener {
    return { screen: (call, facts, source, channel) => this.screen(call, facts, source, channel, pbx) };
  }

  async screen(call: CallControl, facts: CallFacts, source: string, channel: string | null, pbx: string | null = null): Promise<Screened> {
    const uid = callUid();
    const { decision, decidedUs, at, facts: decidedOn } = await this.decide(facts, pbx);
    this.log.record({ uid, at, source, pbx, channel, facts: decidedOn, decision, decidedUs });
    let outcome: Outcome;
    try {
      const rescreen = (keyed: string) => this.rescreen(call, facts, keyed, source, channel, pbx);
      outcome = await carryOut({ call, decision, settings: this.settings.actions, rescreen });
    } catch (error) {
      this.logger.warn({ err: error, channel, action: decision.action }, 'action failed');
      outcome = { outcome: 'error', detail: error instanceof Error ? error.message.slice(0, 200) : String(error) };
      if (this.settings.failMode === 'open' && decision.action !== 'allow') {
        await call.continueRoute().catch(() => undefined);
      }
    }
    this.log.finish(uid, outcome);
    this.logger.info({ pbx, channel, action: decision.action, ruleId: decision.ruleId, category: decision.category, outcome: outcome.outcome }, 'screened');
    return { uid, decision, outcome };
  }

  /**
   * The identify action's second screening, as the number the caller keyed in: a call of
   * its own in the log, which keeps the caller ID signalled beside it. The keyed number
   * carries no attestation of its own, and no reputation answer was looked up for it yet.
   */
  private async rescreen(call: CallControl, facts: CallFacts, keyed: string, source: string, channel: string | null, pbx: string | null): Promise<Rescreened | null> {
    const number = normalizeNumber(keyed, this.settings.country, this.settings.anonymous);
    if (number.kind !== 'number') return null;
    const asKeyed: CallFacts = { ...facts, from: keyed, privacy: false, identifiedFrom: facts.from, attestation: 'none', reputation: undefined };
    const { uid, decision, outcome } = await this.screen(call, asKeyed, source, channel, pbx);
    return { uid, number: number.e164, decision, outcome };
  }
}
