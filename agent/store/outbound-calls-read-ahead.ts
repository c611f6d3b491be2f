import type { CallbackLookup } from '../engine/trusted-callback';
import type { E164 } from '../engine/types';

/** One (tenant, number) pair read ahead: the span its lookups asked about and the call times in it, oldest first. */
interface ReadSpan {
  readonly tenant: string;
  readonly number: E164;
  since: number;
  now: number;
  readonly times: number[];
}

/**
 * The outbound calls many decisions look up (a replay's page), read in one statement
 * rather than one per call: each (tenant, number) pair once, over the span its lookups
 * cover. A lookup outside what was read is not answered here.
 */
export class OutboundCallsReadAhead {
  private readonly spans = new Map<string, ReadSpan>();

  constructor(lookups: readonly CallbackLookup[]) {
    for (const { tenant, number, since, now } of lookups) {
      const key = `${tenant}|${number}`;
      const span = this.spans.get(key);
      if (!span) this.spans.set(key, { tenant, number, since, now, times: [] });
      else {
        span.since = Math.min(span.since, since);
        span.now = Math.max(span.now, now);
      }
    }
  }

  /** What to read: each pair with its span. */
  get asked(): readonly Readonly<ReadSpan>[] {
    return [...this.spans.values()];
  }

  /** One outbound call the statement read (within an asked span). */
  add(tenant: string, number: string, at: number): void {
    this.spans.get(`${tenant}|${number}`)?.times.push(at);
  }

  /** The newest call within [since, now]; undefined when that was not read ahead. */
  newest(tenant: string, number: E164, since: number, now: number): number | null | undefined {
    const span = this.spans.get(`${tenant}|${number}`);
    if (!span || since < span.since || now > span.now) return undefined;
    let newest: number | null = null;
    for (const at of span.times) if (at >= since && at <= now && (newest === null || at > newest)) newest = at;
    return newest;
  }
}
