import type { Reputation } from '../engine/types';
import type { E164 } from '../engine/types';

const CACHE_LIMIT = 10_000;
const GOOD_FOR_MS = 60 * 60_000;
/** A failure is remembered briefly, so a service that is down is not asked on every call. */
const FAILURE_FOR_MS = 60_000;

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

/**
 * The optional external reputation lookup: a GET to the operator's URL template with a
 * strict timeout, its answers cached. Never throws: a failure is a result the score
 * (and explain) mention.
 */
export class ReputationClient {
  private readonly cache = new Map<string, { readonly result: Reputation; readonly until: number }>();

  async lookup(urlTemplate: string, number: E164, timeoutMs: number, now = Date.now()): Promise<Reputation> {
    const key = `${urlTemplate}|${number}`;
    const hit = this.cache.get(key);
    if (hit && hit.until > now) return hit.result;
    const result = await this.ask(urlTemplate.replace('{number}', encodeURIComponent(number)), timeoutMs);
    if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
    this.cache.set(key, { result, until: now + (result.kind === 'score' ? GOOD_FOR_MS : FAILURE_FOR_MS) });
    return result;
  }

  private async ask(url: string, timeoutMs: number): Promise<Reputation> {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'application/json, text/plain' } });
      const body = (await response.text()).slice(0, 4096);
      if (!response.ok) return { kind: 'failed', why: `HTTP ${response.status}` };
      const score = readScore(body);
      return score === null ? { kind: 'failed', why: 'the answer held no score from 0 to 100' } : { kind: 'score', score };
    } catch (error) {
      const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
      return { kind: 'failed', why: timedOut ? `no answer within ${timeoutMs} ms` : error instanceof Error ? error.message : String(error) };
    }
  }
}
