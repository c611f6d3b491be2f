import type { Database, Statement } from 'better-sqlite3';
import type { Outcome } from '../actions/outcome';
import type { CallFacts, Decision } from '../engine/types';
import type { LogWriter, WriteItem } from './log-writer';
import { loggedFacts } from './logged-facts';

/** One screened call or text as the agent hands it to the log. */
export interface CallEntry {
  readonly uid: string;
  readonly at: number;
  readonly source: string;
  /** The PBX connection's name from the config (`fs-east`); null for the HTTP hook. */
  readonly pbx: string | null;
  readonly channel: string | null;
  readonly facts: CallFacts;
  readonly decision: Decision;
  readonly decidedUs: number;
}

/** Where the screener hands each decision and, later, its outcome: the SQLite log, or a fleet's (postgres/fleet-call-log.ts). */
export interface CallSink {
  record(entry: CallEntry): void;
  finish(uid: string, outcome: Outcome, at?: number): void;
}

type Pending = { readonly kind: 'decision'; readonly entry: CallEntry } | { readonly kind: 'outcome'; readonly uid: string; readonly outcome: Outcome; readonly at: number };

/** The two statements of the log, by index (the writer thread is given the same list). */
const INSERT = 0;
const UPDATE = 1;
export const CALL_SQL: readonly [string, string] = [
  `INSERT INTO calls (uid, at, kind, source, pbx, channel, tenant, did, caller, caller_raw, caller_name, ip, sip_from, facts,
     action, target, rule_id, category, score, flagged, reasons, decided_us)
   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  'UPDATE calls SET outcome = ?, outcome_detail = ?, ended_at = ? WHERE uid = ?',
];

const TEXT_LIMIT = 256;
/**
 * Rows written per transaction by the timer. A row costs tens of microseconds (its caller,
 * tenant and DID index entries land on pages all over a large log): small slices with
 * calls answered in between keep every pause around a millisecond.
 */
const SLICE = 32;
const cut = (text: string | undefined) => (text === undefined ? null : text.slice(0, TEXT_LIMIT));

export interface CallLogOptions {
  /** How often queued rows are written. */
  readonly flushMs?: number;
  /** Hand the rows to this writer thread instead of writing them on the event loop (the agent). */
  readonly writer?: LogWriter;
  /** Past this many queued rows the oldest are dropped (and counted) rather than grow without bound. */
  readonly maxQueued?: number;
}

/**
 * The call log, written in batches off the call path: a decision never waits for a
 * write, and a CLI holding the write lock (a big import) only delays the log.
 */
export class CallLog implements CallSink {
  private queue: Pending[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** Set while the rest of a long queue is being written, slice by slice. */
  private next: NodeJS.Immediate | undefined;
  private readonly insert: Statement;
  private readonly update: Statement;
  private readonly flushMs: number;
  private readonly maxQueued: number;
  private readonly writer: LogWriter | undefined;
  /** Rows lost to a full queue since start. */
  dropped = 0;
  /** Flushes that found the database busy and will try again. */
  retries = 0;
  /** Flushes that failed otherwise (disk full, I/O error) and will try again; the rows are kept. */
  failures = 0;
  lastError: unknown = null;

  constructor(private readonly db: Database, options: CallLogOptions = {}) {
    this.flushMs = options.flushMs ?? 50;
    this.maxQueued = options.maxQueued ?? 20_000;
    this.writer = options.writer;
    this.insert = db.prepare(CALL_SQL[INSERT]);
    this.update = db.prepare(CALL_SQL[UPDATE]);
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
    if (!this.next) this.timer ??= setTimeout(() => this.flushSoon(), this.flushMs);
  }

  private flushSoon(): void {
    this.timer = undefined;
    this.next = undefined;
    if (this.writer) {
      this.writer.post(this.queue.map((item) => this.writeItem(item)));
      this.queue = [];
      return;
    }
    const written = this.tryFlush(SLICE);
    if (this.queue.length === 0) return;
    // More to write: straight after the I/O that is waiting (setImmediate), unless the database was busy.
    if (written) this.next = setImmediate(() => this.flushSoon());
    else this.timer = setTimeout(() => this.flushSoon(), this.flushMs);
  }

  /** flush() off the call path: an error thrown from a timer would take the agent down, so it is counted and retried. */
  private tryFlush(max = Infinity): boolean {
    try {
      return this.flush(max);
    } catch (error) {
      this.failures++;
      this.lastError = error;
      return false;
    }
  }

  /**
   * Writes the oldest `max` queued rows (all by default) in one transaction; false (rows
   * kept) when the database is busy. The timer writes in slices so that a burst of calls
   * never holds the event loop for long.
   */
  flush(max = Infinity): boolean {
    if (this.queue.length === 0) return true;
    const batch = this.queue.length > max ? this.queue.slice(0, max) : this.queue; // synchronous: nothing is queued meanwhile
    try {
      this.db.transaction(() => {
        for (const item of batch) {
          const [statement, parameters] = this.writeItem(item);
          (statement === INSERT ? this.insert : this.update).run(...parameters);
        }
      }).immediate();
    } catch (error) {
      if (error instanceof Error && 'code' in error && String(error.code).startsWith('SQLITE_BUSY')) {
        this.retries++;
        return false;
      }
      throw error;
    }
    this.queue = batch === this.queue ? [] : this.queue.slice(batch.length);
    return true;
  }

  /** A queued row as a statement and its parameters: written here, or by the writer thread. */
  private writeItem(item: Pending): WriteItem {
    if (item.kind === 'outcome') return [UPDATE, [item.outcome.outcome, item.outcome.detail, item.at, item.uid]];
    const { uid, at, source, pbx, channel, facts, decision, decidedUs } = item.entry;
    return [INSERT, [
      uid,
      at,
      decision.kind,
      source,
      pbx,
      channel,
      decision.tenant,
      decision.did,
      decision.caller,
      cut(facts.from),
      cut(facts.callerName),
      cut(facts.ip),
      cut(facts.sipFrom),
      loggedFacts(facts),
      decision.action,
      decision.target,
      decision.ruleId,
      decision.category,
      decision.score,
      decision.flagged ? 1 : 0,
      JSON.stringify(decision.reasons),
      Math.round(decidedUs),
    ]];
  }

  private cancelTimer(): void {
    clearTimeout(this.timer);
    clearImmediate(this.next);
    this.timer = undefined;
    this.next = undefined;
  }

  /** Writes what is left (or hands it to the writer thread), waiting out a busy (or failing) database for up to `waitMs`. */
  close(waitMs = 5000): void {
    this.cancelTimer();
    if (this.writer) return this.flushSoon();
    const deadline = Date.now() + waitMs;
    while (!this.tryFlush() && Date.now() < deadline) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
  }
}
