import type { Database, Statement } from 'better-sqlite3';
import type { Outcome } from '../actions/outcome';
import type { CallFacts, Decision } from '../engine/types';

/** One screened call or text as the agent hands it to the log. */
export interface CallEntry {
  readonly uid: string;
  readonly at: number;
  readonly source: string;
  readonly channel: string | null;
  readonly facts: CallFacts;
  readonly decision: Decision;
  readonly decidedUs: number;
}

type Pending = { readonly kind: 'decision'; readonly entry: CallEntry } | { readonly kind: 'outcome'; readonly uid: string; readonly outcome: Outcome; readonly at: number };

const TEXT_LIMIT = 256;
const cut = (text: string | undefined) => (text === undefined ? null : text.slice(0, TEXT_LIMIT));

export interface CallLogOptions {
  /** How often queued rows are written. */
  readonly flushMs?: number;
  /** Past this many queued rows the oldest are dropped (and counted) rather than grow without bound. */
  readonly maxQueued?: number;
}

/**
 * The call log, written in batches off the call path: a decision never waits for a
 * write, and a CLI holding the write lock (a big import) only delays the log.
 */
export class CallLog {
  private queue: Pending[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly insert: Statement;
  private readonly update: Statement;
  private readonly flushMs: number;
  private readonly maxQueued: number;
  /** Rows lost to a full queue since start. */
  dropped = 0;
  /** Flushes that found the database busy and will try again. */
  retries = 0;

  constructor(private readonly db: Database, options: CallLogOptions = {}) {
    this.flushMs = options.flushMs ?? 50;
    this.maxQueued = options.maxQueued ?? 20_000;
    this.insert = db.prepare(`INSERT INTO calls (uid, at, kind, source, channel, tenant, did, caller, caller_raw, caller_name, ip, sip_from,
        action, target, rule_id, category, score, flagged, reasons, decided_us)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    this.update = db.prepare('UPDATE calls SET outcome = ?, outcome_detail = ?, ended_at = ? WHERE uid = ?');
  }

  record(entry: CallEntry): void {
    this.enqueue({ kind: 'decision', entry });
  }

  finish(uid: string, outcome: Outcome, at = Date.now()): void {
    this.enqueue({ kind: 'outcome', uid, outcome, at });
  }

  get queued(): number {
    return this.queue.length;
  }

  private enqueue(item: Pending): void {
    if (this.queue.length >= this.maxQueued) {
      this.queue.shift();
      this.dropped++;
    }
    this.queue.push(item);
    this.timer ??= setTimeout(() => this.flushSoon(), this.flushMs);
  }

  private flushSoon(): void {
    this.timer = undefined;
    if (!this.flush() && this.queue.length > 0) this.timer = setTimeout(() => this.flushSoon(), this.flushMs);
  }

  /** Writes everything queued in one transaction; false (rows kept) when the database is busy. */
  flush(): boolean {
    if (this.queue.length === 0) return true;
    const batch = this.queue; // flush is synchronous: nothing is queued while it runs
    try {
      this.db.transaction(() => {
        for (const item of batch) {
          if (item.kind === 'decision') this.insertEntry(item.entry);
          else this.update.run(item.outcome.outcome, item.outcome.detail, item.at, item.uid);
        }
      }).immediate();
    } catch (error) {
      if (error instanceof Error && 'code' in error && String(error.code).startsWith('SQLITE_BUSY')) {
        this.retries++;
        return false;
      }
      throw error;
    }
    this.queue = [];
    return true;
  }

  private insertEntry({ uid, at, source, channel, facts, decision, decidedUs }: CallEntry): void {
    this.insert.run(
      uid,
      at,
      decision.kind,
      source,
      channel,
      decision.tenant,
      decision.did,
      decision.caller,
      cut(facts.from),
      cut(facts.callerName),
      cut(facts.ip),
      cut(facts.sipFrom),
      decision.action,
      decision.target,
      decision.ruleId,
      decision.category,
      decision.score,
      decision.flagged ? 1 : 0,
      JSON.stringify(decision.reasons),
      Math.round(decidedUs),
    );
  }

  /** Writes what is left, waiting out a busy database for up to `waitMs`. */
  close(waitMs = 5000): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const deadline = Date.now() + waitMs;
    while (!this.flush() && Date.now() < deadline) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
  }
}
