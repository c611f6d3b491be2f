import type { CallerHistory } from '../engine/decision-store';
import type { E164 } from '../engine/types';

/** What the history keeps of one logged call. */
export interface HistoryEntry {
  readonly at: number;
  readonly did: string | null;
  readonly tenant: string;
  readonly outcome: string | null;
  /** When the outcome was written (null: never, the call is still going or was cut off). */
  readonly endedAt: number | null;
}

/** The bounds the live queries read within (agent/store/decision-view.ts): so many index entries at most. */
const VELOCITY_ROWS = 1000;
const CHALLENGE_ROWS = 100;

const isChallenge = (entry: HistoryEntry) => entry.outcome === 'passed' || entry.outcome === 'failed';

/**
 * Callers' earlier calls, fed in time order, answering what the live history queries
 * answered at a given moment: a call counts once it was logged (before that moment) and its
 * challenge outcome once the challenge had ended. Entries older than `keepMs` before the
 * newest are let go, so a replay of millions of calls holds only the windows it reads.
 */
export class ReplayHistory {
  private readonly byCaller = new Map<string, { entries: HistoryEntry[]; start: number }>();

  constructor(private readonly keepMs: number) {}

  add(caller: string, entry: HistoryEntry): void {
    let calls = this.byCaller.get(caller);
    if (!calls) {
      calls = { entries: [], start: 0 };
      this.byCaller.set(caller, calls);
    }
    calls.entries.push(entry);
    const oldest = entry.at - this.keepMs;
    while (calls.start < calls.entries.length && calls.entries[calls.start]!.at < oldest) calls.start++;
    if (calls.start > 64 && calls.start * 2 > calls.entries.length) {
      calls.entries = calls.entries.slice(calls.start);
      calls.start = 0;
    }
  }

  /** As the live `history` query answered at `now`. */
  history(number: E164, velocitySince: number, historySince: number, now: number): CallerHistory {
    let calls = 0;
    const dids = new Set<string | null>();
    let passed = 0;
    let failed = 0;
    let challenges = 0;
    for (const entry of this.earlier(number, Math.min(velocitySince, historySince), now)) {
      if (entry.at >= velocitySince && calls < VELOCITY_ROWS) {
        calls++;
        dids.add(entry.did);
      }
      if (entry.at >= historySince && challenges < CHALLENGE_ROWS && isChallenge(entry) && entry.endedAt !== null && entry.endedAt <= now) {
        challenges++;
        if (entry.outcome === 'passed') passed++;
        else failed++;
      }
    }
    dids.delete(null); // COUNT(DISTINCT did) leaves out calls to no number
    return { calls, dids: dids.size, passed, failed };
  }

  /** As the live `lastPass` query answered at `now`. */
  lastPass(number: E164, tenant: string, since: number, now: number): number | null {
    let last: number | null = null;
    for (const entry of this.earlier(number, since, now)) {
      if (entry.outcome === 'passed' && entry.tenant === tenant && entry.endedAt !== null && entry.endedAt <= now) last = entry.at;
    }
    return last;
  }

  /** The caller's calls logged from `since` to just before `now`, oldest first. */
  private *earlier(number: string, since: number, now: number): Generator<HistoryEntry> {
    const calls = this.byCaller.get(number);
    if (!calls) return;
    const { entries } = calls;
    let low = calls.start;
    let high = entries.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (entries[mid]!.at < since) low = mid + 1;
      else high = mid;
    }
    for (let i = low; i < entries.length && entries[i]!.at < now; i++) yield entries[i]!;
  }
}
