import type { ReputationSource } from '../engine/decision-store';
import type { E164, Reputation, ReputationAnswer } from '../engine/types';
import { BackgroundQueue } from './background-queue';
import { DEFAULT_DECISION_LIMIT_MS, reputationBudgetMs } from './decision-limit';
import { ReputationCache } from './reputation-cache';
import { ReputationHealth } from './reputation-health';
import type { LookupResult } from './reputation-health';

/** The number a reputation service answers: `{"score": 73}`, `{"risk": 73}` or just `73`, from 0 to 100. */
export function readScore(body: string): number | null {
  let value: unknown = body.trim();
  try {
    const parsed: unknown = JSON.parse(body);
    value = typeof parsed === 'object' && parsed !== null ? ((parsed as Record<string, unknown>).score ?? (parsed as Record<string, unknown>).risk) : parsed;
  } catch {
    // not JSON: maybe a bare number
  }
  const score = typeof value === 'number' ? value : typeof value === 'string' && /^\d{1,3}(\.\d+)?$/.test(value) ? Number(value) : NaN;
  return Number.isFinite(score) && score >= 0 && score <= 100 ? score : null;
}

/** Told about every lookup a source answered or failed (the metrics). */
export interface ReputationObserver {
  looked(source: string, result: LookupResult, seconds: number): void;
}

export interface ReputationClientOptions {
  /** The longest a call waits for a source (reputationBudgetMs of the decision limit): a longer timeout is cut to it. */
  readonly budgetMs?: number;
  readonly observer?: ReputationObserver | undefined;
  /** What the cache ages answers by (ms since the epoch); the system clock unless a test moves it. */
  readonly clock?: () => number;
}

/**
 * The reputation lookups of calls: every source asked at once (a call waits for the slowest,
 * never longer than the budget), each answer cached by source and number. A score past its
 * fresh age is used at once and fetched again after the call; a source flagged by its health
 * (timing out, erroring, constant) is not waited on and its answer not trusted, but it is
 * still asked after the call, so that its recovery is seen. Never throws: a failure is an
 * answer the score (and explain) mention.
 */
export class ReputationClient {
  readonly health = new ReputationHealth();
  private readonly cache = new ReputationCache();
  private readonly background = new BackgroundQueue();
  /** One request per source and number at a time, whoever asks. */
  private readonly inFlight = new Map<string, Promise<Reputation>>();
  private readonly budgetMs: number;
  private readonly observer: ReputationObserver | undefined;
  private readonly clock: () => number;

  constructor(options: ReputationClientOptions = {}) {
    this.budgetMs = options.budgetMs ?? reputationBudgetMs(DEFAULT_DECISION_LIMIT_MS);
    this.observer = options.observer;
    this.clock = options.clock ?? Date.now;
  }

  /** Each source's answer for the caller, in the sources' order. */
  lookup(sources: readonly ReputationSource[], number: E164): Promise<ReputationAnswer[]> {
    return Promise.all(sources.map((source) => this.answer(source, number)));
  }

  private async answer(source: ReputationSource, number: E164): Promise<ReputationAnswer> {
    const of = { source: source.name, weight: source.weight };
    const key = JSON.stringify([source.name, source.url, number]);
    const cached = this.cache.get(key, this.clock());
    const flagged = this.health.distrust(source);
    // Asked after the call: for a stale answer, and by a flagged source (not waited on), so that its recovery is seen.
    if ((cached !== undefined && !cached.fresh) || (cached === undefined && flagged !== null)) this.background.later(key, () => this.fetch(source, number, key));
    if (flagged !== null) return { ...of, kind: 'untrusted', why: flagged };
    const result = cached?.result ?? (await this.fetch(source, number, key));
    // This very answer may be the one that shows the source constant.
    const now = result.kind === 'score' ? this.health.distrust(source) : null;
    return now === null ? { ...of, ...result } : { ...of, kind: 'untrusted', why: now };
  }

  private fetch(source: ReputationSource, number: E164, key: string): Promise<Reputation> {
    let pending = this.inFlight.get(key);
    if (!pending) {
      pending = this.ask(source, number, key).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
    }
    return pending;
  }

  private async ask(source: ReputationSource, number: E164, key: string): Promise<Reputation> {
    const timeoutMs = Math.min(source.timeoutMs, this.budgetMs);
    const started = performance.now();
    const { result, reputation } = await this.request(source.url.replaceAll('{number}', encodeURIComponent(number)), timeoutMs);
    const ms = performance.now() - started;
    this.health.record(source, number, result, reputation, ms);
    this.observer?.looked(source.name, result, ms / 1000);
    this.cache.set(key, reputation, this.clock());
    return reputation;
  }

  private async request(url: string, timeoutMs: number): Promise<{ result: LookupResult; reputation: Reputation }> {
    const failed = (result: LookupResult, why: string) => ({ result, reputation: { kind: 'failed', why } as const });
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'application/json, text/plain' } });
      const body = (await response.text()).slice(0, 4096);
      if (!response.ok) return failed('error', `HTTP ${response.status}`);
      const score = readScore(body);
      return score === null ? failed('error', 'the answer held no score from 0 to 100') : { result: 'answer', reputation: { kind: 'score', score } };
    } catch (error) {
      const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
      if (timedOut) return failed('timeout', `no answer within ${timeoutMs} ms`);
      // fetch's own message is only "fetch failed": the cause says what (ECONNREFUSED, a bad certificate).
      const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
      const why = cause?.code ?? cause?.message;
      return failed('error', `${error instanceof Error ? error.message : String(error)}${typeof why === 'string' ? ` (${why})` : ''}`);
    }
  }
}
