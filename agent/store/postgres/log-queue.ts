import { EventEmitter } from 'node:events';
import BetterSqlite3 from 'better-sqlite3';
import type { Database, Statement } from 'better-sqlite3';
import type { AuditEntry, CallRow, OperationKind, OutcomeUpdate } from './log-operations';
import { LogQueueCheckpointer } from './log-queue-checkpointer';

/** One queued operation; `json` is the row keyed by PostgreSQL column name, sent on as it is. */
export interface QueuedOperation {
  /** Increases with every enqueue and is never reused, so acknowledging up to it can only ever remove delivered rows. */
  readonly seq: number;
  readonly kind: OperationKind;
  readonly json: string;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS operations (
  seq  INTEGER PRIMARY KEY AUTOINCREMENT,  -- AUTOINCREMENT: an emptied queue does not start again at 1
  kind TEXT NOT NULL CHECK (kind IN ('call', 'outcome', 'audit')),
  json TEXT NOT NULL
);
-- Operations PostgreSQL refused for themselves (a value it cannot hold): kept for an operator, out of the way of the rest.
CREATE TABLE IF NOT EXISTS set_aside (
  seq    INTEGER PRIMARY KEY,
  kind   TEXT NOT NULL,
  json   TEXT NOT NULL,
  reason TEXT NOT NULL,
  at     INTEGER NOT NULL
)`;

/** How soon a write that failed (disk full, I/O error, a lock held elsewhere) is tried again; the operations stay in memory meanwhile. */
const RETRY_WRITE_MS = 100;

/**
 * The call log and audit rows of an agent in a fleet, kept in a local SQLite file until
 * PostgreSQL has them: a decision never waits on the network, and nothing is lost while
 * PostgreSQL is away or when the agent is killed.
 *
 * Enqueueing is synchronous and cheap: operations enqueued in the same turn of the event
 * loop are written together in one transaction just after it (setImmediate), so a burst
 * of calls costs one commit. Once written ('written' event) they survive the process
 * being killed (WAL; synchronous=NORMAL risks only the last commits on power loss).
 *
 * Owned by one process: the agent that enqueues is the one that ships.
 */
export class LogQueue extends EventEmitter {
  private readonly db: Database;
  private readonly insert: Statement;
  private readonly head: Statement;
  private readonly remove: Statement;
  private readonly bounds: Statement;
  private readonly moveAside: (operation: QueuedOperation, reason: string) => void;
  private readonly writeAll: (operations: readonly (readonly [OperationKind, string])[]) => void;
  /** Enqueued this turn, not yet in the file. */
  private pending: (readonly [OperationKind, string])[] = [];
  private writeNext: NodeJS.Immediate | undefined;
  private writeRetry: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly checkpointer: LogQueueCheckpointer;
  /** Writes to the file that failed and were retried; the operations were kept. */
  writeFailures = 0;
  lastWriteError: unknown = null;

  constructor(readonly path: string) {
    super();
    this.db = new BetterSqlite3(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 2000');
    this.db.exec(SCHEMA);
    // Checkpoints from a thread of its own, not inside a commit on the event loop; back to SQLite's own should that thread die.
    this.db.pragma('wal_autocheckpoint = 0');
    this.checkpointer = new LogQueueCheckpointer(path, () => {
      if (!this.closed) this.db.pragma('wal_autocheckpoint = 1000');
    });
    this.insert = this.db.prepare('INSERT INTO operations (kind, json) VALUES (?, ?)');
    this.head = this.db.prepare('SELECT seq, kind, json FROM operations ORDER BY seq LIMIT ?');
    this.remove = this.db.prepare('DELETE FROM operations WHERE seq <= ?');
    // Only a prefix is ever removed and a failed write takes its numbers back with it, so the queued seqs have no gaps.
    // Two subqueries: SQLite answers a lone min() or max() from the end of the index, but scans the table for both at once.
    this.bounds = this.db.prepare('SELECT (SELECT min(seq) FROM operations) AS first, (SELECT max(seq) FROM operations) AS last');
    const keepAside = this.db.prepare('INSERT OR REPLACE INTO set_aside (seq, kind, json, reason, at) VALUES (?, ?, ?, ?, ?)');
    const removeOne = this.db.prepare('DELETE FROM operations WHERE seq = ?');
    this.moveAside = this.db.transaction((operation: QueuedOperation, reason: string) => {
      keepAside.run(operation.seq, operation.kind, operation.json, reason, Date.now());
      removeOne.run(operation.seq);
    });
    this.writeAll = this.db.transaction((operations: readonly (readonly [OperationKind, string])[]) => {
      for (const [kind, json] of operations) this.insert.run(kind, json);
    });
  }

  enqueueCall(row: CallRow): void {
    this.enqueue('call', row);
  }

  enqueueOutcome(update: OutcomeUpdate): void {
    this.enqueue('outcome', update);
  }

  enqueueAudit(entry: AuditEntry): void {
    this.enqueue('audit', entry);
  }

  private enqueue(kind: OperationKind, row: CallRow | OutcomeUpdate | AuditEntry): void {
    if (this.closed) throw new Error('the log queue is closed');
    this.pending.push([kind, JSON.stringify(row)]);
    if (!this.writeRetry) this.writeNext ??= setImmediate(() => this.writeSoon());
  }

  private writeSoon(): void {
    this.writeNext = undefined;
    this.writeRetry = undefined;
    // Off the call path: a failure is counted and retried, never thrown from a timer.
    if (!this.tryWrite()) this.writeRetry = setTimeout(() => this.writeSoon(), RETRY_WRITE_MS);
  }

  private tryWrite(): boolean {
    try {
      this.write();
      return true;
    } catch (error) {
      this.writeFailures++;
      this.lastWriteError = error;
      return false;
    }
  }

  /** Writes what was enqueued so far to the file, now, in one transaction (throws if it cannot; the operations are kept). */
  write(): void {
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.writeAll(batch); // throws with the batch still pending
    this.pending = [];
    this.emit('written', batch.length);
  }

  /** The oldest `limit` operations not yet acknowledged, in the order they were enqueued (those of this turn included). */
  peek(limit: number): QueuedOperation[] {
    this.tryWrite(); // if the file cannot be written just now, what it already holds is still worth delivering
    return this.head.all(limit) as QueuedOperation[];
  }

  /** Forgets every operation up to and including `seq`: call only once PostgreSQL has committed them. */
  acknowledge(seq: number): number {
    return this.remove.run(seq).changes;
  }

  /**
   * Moves the operation at the head of the queue out of the way, with why: for one that
   * PostgreSQL refuses however often it is sent. Kept in the file, never dropped.
   */
  setAside(operation: QueuedOperation, reason: string): void {
    const [head] = this.head.all(1) as QueuedOperation[];
    // Only the head: removing one from the middle would leave a gap that depth() does not expect.
    if (head?.seq !== operation.seq) throw new Error(`only the head of the queue (${head?.seq}) can be set aside, not ${operation.seq}`);
    this.moveAside(operation, reason);
  }

  /** What has been set aside, oldest first. */
  setAsideOperations(): (QueuedOperation & { readonly reason: string; readonly at: number })[] {
    return this.db.prepare('SELECT seq, kind, json, reason, at FROM set_aside ORDER BY seq').all() as never;
  }

  /** Operations waiting: in the file, and enqueued this turn. */
  depth(): number {
    const { first, last } = this.bounds.get() as { first: number | null; last: number | null };
    return (first === null || last === null ? 0 : last - first + 1) + this.pending.length;
  }

  /** Writes what is still in memory (retrying for up to `waitMs`), then closes the file. What it could not write is lost, and counted in the return value. */
  close(waitMs = 5000): number {
    if (this.closed) return 0;
    clearImmediate(this.writeNext);
    clearTimeout(this.writeRetry);
    const deadline = Date.now() + waitMs;
    while (!this.tryWrite() && Date.now() < deadline) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    const lost = this.pending.length;
    this.closed = true;
    this.checkpointer.stop();
    this.db.close(); // the last connection: checkpoints what is left and removes the -wal and -shm files
    return lost;
  }
}
