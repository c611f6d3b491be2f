import type { ReputationSource } from '../engine/decision-store';
import type { Reputation } from '../engine/types';

/** `unused`: not asked since the agent started. The other three are flags: the source's answers are not trusted. */
export type SourceState = 'ok' | 'timing_out' | 'erroring' | 'constant' | 'unused';
export type LookupResult = 'answer' | 'timeout' | 'error';

/** Lookups weighed: FAILING of the last RECENT failing flags a source. */
const RECENT = 10;
const FAILING = 5;
/**
 * The same score for this many different numbers in a row flags a source as constant: a
 * service that lost its data (or its key) often answers one default score for every number.
 */
export const CONSTANT_AFTER = 20;

/** A source's health as /healthz and explain show it. */
export interface SourceReport {
  readonly name: string;
  readonly state: SourceState;
  readonly detail: string;
  readonly lookups: { readonly answer: number; readonly timeout: number; readonly error: number };
  readonly lastError: string | null;
  readonly lastLatencyMs: number | null;
}

/** One source's recent lookups, from which its state follows; it recovers as soon as they do. */
class SourceHealth {
  private readonly recent: LookupResult[] = [];
  /** The scores of the last CONSTANT_AFTER different numbers answered, oldest first. */
  private readonly scores = new Map<string, number>();
  readonly lookups = { answer: 0, timeout: 0, error: 0 };
  lastError: string | null = null;
  lastLatencyMs: number | null = null;

  constructor(readonly url: string) {}

  record(number: string, result: LookupResult, reputation: Reputation, ms: number): void {
    this.lookups[result]++;
    this.lastLatencyMs = Math.round(ms);
    this.recent.push(result);
    if (this.recent.length > RECENT) this.recent.shift();
    if (reputation.kind === 'failed') {
      this.lastError = reputation.why;
      return;
    }
    this.scores.delete(number);
    this.scores.set(number, reputation.score);
    if (this.scores.size > CONSTANT_AFTER) this.scores.delete(this.scores.keys().next().value!);
  }

  state(): SourceState {
    if (this.recent.length === 0) return 'unused';
    const { timeouts, errors } = this.failures();
    if (timeouts + errors >= FAILING) return timeouts >= errors ? 'timing_out' : 'erroring';
    return this.constantScore() === null ? 'ok' : 'constant';
  }

  detail(): string {
    const state = this.state();
    const { timeouts, errors } = this.failures();
    const of = `of the last ${this.recent.length} lookups`;
    const errored = errors > 0 ? `${errors} ${of} failed (last: ${this.lastError})` : '';
    if (state === 'unused') return 'not asked since the agent started';
    if (state === 'timing_out') return `${timeouts} ${of} got no answer in time${errored && `; ${errored}`}`;
    if (state === 'erroring') return errored;
    if (state === 'constant') return `answered ${this.constantScore()} for each of the last ${CONSTANT_AFTER} different numbers`;
    return `${this.recent.length - timeouts - errors} ${of} answered${this.lastLatencyMs === null ? '' : `, the last in ${this.lastLatencyMs} ms`}`;
  }

  private failures(): { timeouts: number; errors: number } {
    return { timeouts: this.recent.filter((result) => result === 'timeout').length, errors: this.recent.filter((result) => result === 'error').length };
  }

  /** The one score of the last CONSTANT_AFTER different numbers, when they all had the same; else null. */
  private constantScore(): number | null {
    if (this.scores.size < CONSTANT_AFTER) return null;
    const [first, ...rest] = this.scores.values();
    return rest.every((score) => score === first) ? first! : null;
  }
}

/** Every source's health, by name: a source whose URL changed starts afresh. */
export class ReputationHealth {
  private readonly sources = new Map<string, SourceHealth>();

  record(source: ReputationSource, number: string, result: LookupResult, reputation: Reputation, ms: number): void {
    this.of(source).record(number, result, reputation, ms);
  }

  /** Why the source's answers are not trusted now; null when they are. */
  distrust(source: ReputationSource): string | null {
    const health = this.of(source);
    const state = health.state();
    return state === 'ok' || state === 'unused' ? null : `flagged ${state}: ${health.detail()}`;
  }

  /** The health of each of these sources (those configured now), in their order; others are forgotten. */
  report(sources: readonly ReputationSource[]): SourceReport[] {
    for (const name of this.sources.keys()) if (!sources.some((source) => source.name === name)) this.sources.delete(name);
    return sources.map((source) => {
      const health = this.of(source);
      return { name: source.name, state: health.state(), detail: health.detail(), lookups: { ...health.lookups }, lastError: health.lastError, lastLatencyMs: health.lastLatencyMs };
    });
  }

  private of(source: ReputationSource): SourceHealth {
    let health = this.sources.get(source.name);
    if (!health || health.url !== source.url) {
      health = new SourceHealth(source.url);
      this.sources.set(source.name, health);
    }
    return health;
  }
}
