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

/** How long the history keeps what: every call for velocity, challenge outcomes for the score's history and remembered passes. */
export interface HistoryWindows {
  readonly callsMs: number;
  readonly challengesMs: number;
}

/** The bounds the live queries read within (agent/store/decision-view.ts): so many index entries at most. */
const VELOCITY_ROWS = 1000;
const CHALLENGE_ROWS = 100;
/** Callers with nothing left in their windows are forgotten every so many calls added. */
const SWEEP_EVERY = 100_000;

const isChallenge = (entry: HistoryEntry) => entry.outcome === 'passed' || entry.outcome === 'failed';

/** Entries oldest first, from `start` on (the ones before it have left the window). */
class Window {
  entries: HistoryEntry[] = [];
  start = 0;

  push(entry: HistoryEntry, keepFrom: number): void {
    this.entries.push(entry);
    this.dropBefore(keepFrom);
  }

  dropBefore(keepFrom: number): void {
    while (this.start < this.entries.length && this.entries[this.start]!.at < keepFrom) this.start++;
    if (this.start > 64 && this.start * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.start);
      this.start = 0;
    }
  }

  get empty(): boolean {
    return this.start >= this.entries.length;
  }

  /** The entries from `since` to just before `now`, oldest first. */
  *between(since: number, now: number): Generator<HistoryEntry> {
    const { entries } = this;
    let low = this.start;
    let high = entries.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (entries[mid]!.at < since) low = mid + 1;
      else high = mid;
    }
    for (let i = low; i < entries.length && entries[i]!.at < now; i++) yield entries[i]!;
  }
}

/**
 * Callers' earlier calls, fed in time order, answering what the live history queries
 * answered at a given moment: a call counts once it was logged (before that moment) and its
 * challenge outcome once the challenge had ended. Only what the windows reach is held (every
 * call for minutes, challenges for weeks), so a replay of millions of calls holds little.
 */
export class ReplayHistory {
  private readonly byCaller = new Map<string, { calls: Window; challenges: Window }>();
  private added = 0;

  constructor(private readonly windows: HistoryWindows) {}

  add(caller: string, entry: HistoryEntry): void {
    let held = this.byCaller.get(caller);
    if (!held) {
      held = { calls: new Window(), challenges: new Window() };
      this.byCaller.set(caller, held);
    }
    held.calls.push(entry, entry.at - this.windows.callsMs);
    if (isChallenge(entry)) held.challenges.push(entry, entry.at - this.windows.challengesMs);
    if (++this.added % SWEEP_EVERY === 0) this.sweep(entry.at);
  }

  /** As the live `history` query answered at `now`. */
  history(number: E164, velocitySince: number, historySince: number, now: number): CallerHistory {
    const held = this.byCaller.get(number);
    if (!held) return { calls: 0, dids: 0, passed: 0, failed: 0 };
    let calls = 0;
    const dids = new Set<string>();
    for (const entry of held.calls.between(velocitySince, now)) {
      if (++calls > VELOCITY_ROWS) {
        calls = VELOCITY_ROWS;
        break;
      }
      if (entry.did !== null) dids.add(entry.did); // COUNT(DISTINCT did) leaves out calls to no number
    }
    let passed = 0;
    let failed = 0;
    for (const entry of held.challenges.between(historySince, now)) {
      if (entry.endedAt === null || entry.endedAt > now) continue;
      if (entry.outcome === 'passed') passed++;
      else failed++;
      if (passed + failed === CHALLENGE_ROWS) break;
    }
    return { calls, dids: dids.size, passed, failed };
  }

  /** As the live `lastPass` query answered at `now`. */
  lastPass(number: E164, tenant: string, since: number, now: number): number | null {
    let last: number | null = null;
    for (const entry of this.byCaller.get(number)?.challenges.between(since, now) ?? []) {
      if (entry.outcome === 'passed' && entry.tenant === tenant && entry.endedAt !== null && entry.endedAt <= now) last = entry.at;
    }
    return last;
  }

  /** Forgets the callers nothing of whom is left in the windows at `now`. */
  private sweep(now: number): void {
    for (const [caller, held] of this.byCaller) {
      held.calls.dropBefore(now - this.windows.callsMs);
      held.challenges.dropBefore(now - this.windows.challengesMs);
      if (held.calls.empty && held.challenges.empty) this.byCaller.delete(caller);
    }
  }
}
