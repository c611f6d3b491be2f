import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Decision } from '../engine/types';
import type { PbxState } from '../pbx/pbx-group';
import type { ReputationObserver } from '../screening/reputation';
import type { LookupResult, SourceReport } from '../screening/reputation-health';
import type { ScreeningObserver } from '../screening/screener';
import type { StoreStatus } from '../store/agent-store';

/** From a cached exact-number hit (~10 µs) to a slow reputation lookup (~250 ms), in seconds. */
const DECISION_BUCKETS = [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25];
/** A reputation lookup, from a nearby cache to a source cut off at its timeout, in seconds. */
const LOOKUP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2.5, 10];

/**
 * The agent's Prometheus metrics, in a registry of their own (never prom-client's global
 * one, so tests and embedders can make several). Decisions are counted by the screener,
 * which takes this as its observer. The PBX connections' states and calls in progress are
 * read at every scrape from what `watchPbxes` is given: the drivers are built after the
 * screener (and so after this), so there is nothing to pull from at construction.
 *
 * Labels stay bounded: action and kind are fixed sets, tenants and PBX connections (`pbx`,
 * their names in the config; empty for the HTTP hook's verdicts) are made by the operator;
 * nothing is ever labelled by caller. Reputation sources (`source`) are named by the operator too.
 */
export class Metrics implements ScreeningObserver, ReputationObserver {
  private readonly registry = new Registry();
  private readonly decisions = new Counter({
    name: 'callguard_decisions_total',
    help: 'Calls and texts decided, by action, tenant, kind (call or sms) and PBX connection (empty for the HTTP hook).',
    labelNames: ['action', 'tenant', 'kind', 'pbx'] as const,
    registers: [this.registry],
  });
  private readonly decisionSeconds = new Histogram({
    name: 'callguard_decision_seconds',
    help: 'Time to decide one call or text, reputation lookup included.',
    buckets: DECISION_BUCKETS,
    registers: [this.registry],
  });
  private readonly failovers = new Counter({
    name: 'callguard_failovers_total',
    help: 'Decisions that failed and fell back to the fail mode.',
    registers: [this.registry],
  });
  private readonly pbxUp = new Gauge({
    name: 'callguard_pbx_up',
    help: 'By PBX connection: 1 while the agent is connected to it (an outbound listener: listening), else 0.',
    labelNames: ['pbx'] as const,
    registers: [this.registry],
    collect: () => this.eachPbx((state) => this.pbxUp.set({ pbx: state.name }, state.connected ? 1 : 0)),
  });
  private readonly callsInProgress = new Gauge({
    name: 'callguard_calls_in_progress',
    help: 'By PBX connection: calls being screened or carried out right now.',
    labelNames: ['pbx'] as const,
    registers: [this.registry],
    collect: () => this.eachPbx((state) => this.callsInProgress.set({ pbx: state.name }, state.inProgress)),
  });

  private readonly storeUp = new Gauge({
    name: 'callguard_store_up',
    help: 'By store (sqlite or postgres): 1 while it can be reached (SQLite always), else 0 (decisions then come from the local copy).',
    labelNames: ['store'] as const,
    registers: [this.registry],
    collect: () => this.readStore(),
  });
  private readonly storeQueueDepth = new Gauge({
    name: 'callguard_store_queue_depth',
    help: 'Call-log rows waiting in the local queue for PostgreSQL (0 with SQLite).',
    registers: [this.registry],
  });
  private readonly reputationLookups = new Counter({
    name: 'callguard_reputation_lookups_total',
    help: 'Requests to each reputation source, by result: answer (a score), timeout or error (an HTTP error, or no score in the answer).',
    labelNames: ['source', 'result'] as const,
    registers: [this.registry],
  });
  private readonly reputationSeconds = new Histogram({
    name: 'callguard_reputation_lookup_seconds',
    help: 'Time each reputation source took to answer or fail.',
    labelNames: ['source'] as const,
    buckets: LOOKUP_BUCKETS,
    registers: [this.registry],
  });
  private readonly reputationHealthy = new Gauge({
    name: 'callguard_reputation_source_healthy',
    help: 'By reputation source: 0 while it is flagged (timing out, erroring or answering one score for every number) and its answers are not trusted, else 1.',
    labelNames: ['source'] as const,
    registers: [this.registry],
    collect: () => this.readReputation(),
  });
  /** Read at every scrape: an outage shows at once, not at the next tick. */
  private storeStatus: (() => StoreStatus) | null = null;
  private pbxStates: (() => readonly PbxState[]) | null = null;
  private reputationHealth: (() => readonly SourceReport[]) | null = null;

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  decided(decision: Decision, seconds: number, pbx: string | null): void {
    this.decisions.inc({ action: decision.action, tenant: decision.tenant, kind: decision.kind, pbx: pbx ?? '' });
    this.decisionSeconds.observe(seconds);
  }

  failedOver(): void {
    this.failovers.inc();
  }

  looked(source: string, result: LookupResult, seconds: number): void {
    this.reputationLookups.inc({ source, result });
    this.reputationSeconds.observe({ source }, seconds);
  }

  watchReputation(health: () => readonly SourceReport[]): void {
    this.reputationHealth = health;
  }

  /** Only the sources configured now: one removed leaves the gauge. */
  private readReputation(): void {
    if (!this.reputationHealth) return;
    this.reputationHealthy.reset();
    for (const { name, state } of this.reputationHealth()) this.reputationHealthy.set({ source: name }, state === 'ok' || state === 'unused' ? 1 : 0);
  }

  watchPbxes(states: () => readonly PbxState[]): void {
    this.pbxStates = states;
  }

  private eachPbx(set: (state: PbxState) => void): void {
    for (const state of this.pbxStates?.() ?? []) set(state);
  }

  watchStore(status: () => StoreStatus): void {
    this.storeStatus = status;
  }

  private readStore(): void {
    const status = this.storeStatus?.();
    if (!status) return;
    this.storeUp.set({ store: status.kind }, status.kind === 'sqlite' || status.state === 'connected' ? 1 : 0);
    this.storeQueueDepth.set(status.kind === 'sqlite' ? 0 : status.queueDepth);
  }

  /** The Prometheus text exposition of every metric. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
