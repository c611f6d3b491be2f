import type { Reputation } from '../engine/types';

/** A score is fresh this long; after that it is still used at once, and asked again after the call. */
const FRESH_MS = 60 * 60_000;
/** Past this a score is too old to use: the source is waited on again. */
const STALE_MS = 24 * 60 * 60_000;
/** A failure is remembered briefly, so a source that is down is not asked on every call. */
const FAILURE_MS = 60_000;
const LIMIT = 10_000;

export interface Cached {
  readonly result: Reputation;
  /** False: past its fresh age; use it, and fetch a new one in the background. */
  readonly fresh: boolean;
}

interface Entry {
  readonly result: Reputation;
  readonly freshUntil: number;
  readonly usableUntil: number;
}

/**
 * What reputation sources answered, by source and number: the score only, never anything
 * about the caller's name, which reputation never changes. The least recently used entry
 * goes first when the cache is full.
 */
export class ReputationCache {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly limit = LIMIT) {}

  get(key: string, now: number): Cached | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    if (entry.usableUntil <= now) return undefined;
    this.entries.set(key, entry);
    return { result: entry.result, fresh: entry.freshUntil > now };
  }

  set(key: string, result: Reputation, now: number): void {
    this.entries.delete(key);
    if (this.entries.size >= this.limit) this.entries.delete(this.entries.keys().next().value!);
    const freshFor = result.kind === 'score' ? FRESH_MS : FAILURE_MS;
    this.entries.set(key, { result, freshUntil: now + freshFor, usableUntil: now + (result.kind === 'score' ? STALE_MS : FAILURE_MS) });
  }
}
