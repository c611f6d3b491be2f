import { EventEmitter } from 'node:events';
import type { Pool, PoolClient } from 'pg';
import type { Logger } from '../../log/logger';
import { deliverBatch } from './log-delivery';
import type { DeliveredBatch } from './log-delivery';
import type { LogQueue, QueuedOperation } from './log-queue';

/** Whether the last contact with PostgreSQL worked. */
export type StoreState = 'connected' | 'unreachable';

export interface LogShipperOptions {
  /**
   * Most operations per transaction. Delivering 200,000 queued call rows into `calls`
   * (migrations/postgres, all its indexes) on one 2-core machine: 30,000–40,000 rows/s with
   * this module's JSON-array statement at 2,000 or 5,000 a batch, the same within noise as
   * COPY into a temporary table then INSERT ... SELECT, and 17,000–26,000 with multi-row
   * INSERT ... VALUES. With an outcome update per call, about 17,000 calls/s.
   */
  readonly batchSize?: number;
  /** First wait after a failed delivery, doubled after each further failure up to `retryMaxMs`. */
  readonly retryFirstMs?: number;
  readonly retryMaxMs?: number;
  /** Once the queue is caught up, how long new rows gather before the next transaction (the log's delay in PostgreSQL). */
  readonly gatherMs?: number;
  /** With nothing to deliver, PostgreSQL is still checked this often, so the state says something true. */
  readonly probeEveryMs?: number;
  /** A delivery not finished by then (a network that went silent) is given up on and tried again. */
  readonly deliveryTimeoutMs?: number;
  readonly logger?: Logger;
}

export interface LogShipperStatus {
  readonly state: StoreState;
  readonly depth: number;
  readonly deliveredCalls: number;
  readonly deliveredAudits: number;
  readonly deliveredOutcomes: number;
  readonly duplicates: number;
  readonly batches: number;
  readonly failures: number;
  readonly localFailures: number;
  readonly setAside: number;
  readonly lastError: string | null;
  readonly lastDeliveredAt: number | null;
}

/** A PostgreSQL error about the rows themselves (SQLSTATE classes 22 data exception, 23 integrity): sending them again will not help. */
function isRowError(error: unknown): boolean {
  const code = error instanceof Error && 'code' in error ? String(error.code) : '';
  return /^2[23][0-9A-Z]{3}$/.test(code);
}

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * Ships the local log queue to PostgreSQL: a batch at a time from the head of the queue,
 * each in one transaction, acknowledged locally only after COMMIT. A batch that fails
 * stays in the queue and is tried again with backoff (PostgreSQL down, the network gone);
 * one committed whose acknowledgement was lost (the agent killed in between) is
 * delivered again and its rows are found there by uid, so nothing is lost or doubled.
 *
 * A row PostgreSQL rejects for itself (a value it cannot hold) would otherwise block
 * the queue for ever: the batch is narrowed down until that row is alone, and it is set
 * aside in the queue file (LogQueue.setAside) with the reason, not dropped.
 *
 * Events: 'delivered' (DeliveredBatch) after each commit, 'state' (StoreState) on a
 * change, 'set-aside' (QueuedOperation, reason).
 */
export class LogShipper extends EventEmitter {
  private readonly batchSize: number;
  private readonly retryFirstMs: number;
  private readonly retryMaxMs: number;
  private readonly gatherMs: number;
  private readonly probeEveryMs: number;
  private readonly deliveryTimeoutMs: number;
  private readonly logger: Logger | undefined;
  private running: Promise<void> | undefined;
  private stopDeadline: number | undefined;
  /** Ends the current wait: stop() ends any, newly written rows only an idle one (not a backoff). */
  private wake: { readonly done: () => void; readonly onWork: boolean } | undefined;
  /** Gives up on the delivery in flight (stop() past its grace period). */
  private abandonInFlight: (() => void) | undefined;
  /** Narrowed after a batch PostgreSQL rejected for a row in it, until that row is set aside. */
  private batchLimit: number;
  private lastContactAt = 0;
  /** The wait before the next try after a failed delivery. */
  private retryMs: number;

  /** Optimistic until the first contact, which start() makes at once. */
  state: StoreState = 'connected';
  /** Rows PostgreSQL did not have yet, by table, and outcome updates applied. */
  deliveredCalls = 0;
  deliveredAudits = 0;
  deliveredOutcomes = 0;
  /** Rows found already delivered (a batch sent again after a lost acknowledgement). */
  duplicates = 0;
  batches = 0;
  /** Deliveries that failed and were tried again. */
  failures = 0;
  /** Reads or writes of the local queue file that failed and were tried again. */
  localFailures = 0;
  /** Operations PostgreSQL rejected, kept in the queue file's set-aside table. */
  setAside = 0;
  lastError: string | null = null;
  lastDeliveredAt: number | null = null;

  constructor(
    private readonly queue: LogQueue,
    private readonly pool: Pool,
    options: LogShipperOptions = {},
  ) {
    super();
    this.batchSize = options.batchSize ?? 2000;
    this.retryFirstMs = options.retryFirstMs ?? 250;
    this.retryMaxMs = options.retryMaxMs ?? 5000;
    this.gatherMs = options.gatherMs ?? 100;
    this.probeEveryMs = options.probeEveryMs ?? 5000;
    this.deliveryTimeoutMs = options.deliveryTimeoutMs ?? 30_000;
    this.logger = options.logger;
    this.batchLimit = this.batchSize;
    this.retryMs = this.retryFirstMs;
    this.onWritten = this.onWritten.bind(this);
    this.onIdleClientError = this.onIdleClientError.bind(this);
  }

  /** Operations waiting to be delivered. */
  get depth(): number {
    return this.queue.depth();
  }

  /** Everything /healthz and the metrics show, at once. */
  status(): LogShipperStatus {
    return {
      state: this.state,
      depth: this.depth,
      deliveredCalls: this.deliveredCalls,
      deliveredAudits: this.deliveredAudits,
      deliveredOutcomes: this.deliveredOutcomes,
      duplicates: this.duplicates,
      batches: this.batches,
      failures: this.failures,
      localFailures: this.localFailures,
      setAside: this.setAside,
      lastError: this.lastError,
      lastDeliveredAt: this.lastDeliveredAt,
    };
  }

  start(): void {
    if (this.running) return;
    this.queue.on('written', this.onWritten);
    // A pooled connection that breaks while idle (PostgreSQL restarted) is reported on the pool; unheard, it would end the process.
    this.pool.on('error', this.onIdleClientError);
    this.running = this.run().finally(() => {
      this.queue.off('written', this.onWritten);
      this.pool.off('error', this.onIdleClientError);
    });
  }

  /**
   * Delivers what it can within `graceMs`, then stops; anything left stays in the queue
   * file for the next start. The queue and the pool are the caller's to close.
   */
  async stop(graceMs = 5000): Promise<void> {
    if (!this.running) return;
    this.stopDeadline ??= Date.now() + graceMs;
    const giveUp = setTimeout(() => this.abandonInFlight?.(), Math.max(0, this.stopDeadline - Date.now()));
    this.wake?.done();
    try {
      await this.running;
    } finally {
      clearTimeout(giveUp);
    }
  }

  private onWritten(): void {
    if (this.wake?.onWork) this.wake.done();
  }

  private onIdleClientError(error: Error): void {
    this.lastError = message(error);
  }

  private get stopping(): boolean {
    return this.stopDeadline !== undefined;
  }

  private async run(): Promise<void> {
    while (!(this.stopping && Date.now() >= (this.stopDeadline ?? 0))) {
      try {
        if (!(await this.round())) return;
      } catch (error) {
        // The queue file failed (disk, a lock held elsewhere), not PostgreSQL: nothing is lost, and it is tried again.
        this.localFailures++;
        this.lastError = message(error);
        this.logger?.error({ err: error }, 'the local call-log queue failed; trying again');
        await this.pause(this.retryMaxMs, false);
      }
    }
  }

  /** Delivers one batch, or checks on PostgreSQL, or waits for work; false once stopping with nothing left. */
  private async round(): Promise<boolean> {
    const operations = this.queue.peek(this.batchLimit);
    if (operations.length === 0 && this.stopping) return false;
    let batch: DeliveredBatch | undefined;
    try {
      if (operations.length > 0) batch = await this.withDeadline((client) => deliverBatch(client, operations));
      else if (Date.now() - this.lastContactAt >= this.probeEveryMs) await this.withDeadline((client) => client.query('SELECT 1'));
      else {
        await this.pause(this.probeEveryMs, true);
        return true;
      }
    } catch (error) {
      if (isRowError(error) && operations.length > 0) this.narrowDown(operations, error);
      else await this.failed(error);
      return true;
    }
    this.lastContactAt = Date.now();
    this.retryMs = this.retryFirstMs;
    this.setState('connected');
    if (!batch) return true;
    this.delivered(batch);
    if (operations.length < this.batchLimit) {
      this.batchLimit = this.batchSize; // past any row that had it narrowed
      // Caught up: let the next rows gather rather than send a transaction for every few.
      if (!this.stopping) await this.pause(this.gatherMs, false);
    }
    return true;
  }

  private async failed(error: unknown): Promise<void> {
    this.failures++;
    this.lastError = message(error);
    this.setState('unreachable', error);
    await this.pause(this.retryMs, false);
    this.retryMs = Math.min(this.retryMs * 2, this.retryMaxMs);
  }

  private delivered(batch: DeliveredBatch): void {
    this.queue.acknowledge(batch.upToSeq);
    this.deliveredCalls += batch.calls;
    this.deliveredAudits += batch.audits;
    this.deliveredOutcomes += batch.outcomes;
    this.duplicates += batch.duplicates;
    this.batches++;
    this.lastDeliveredAt = Date.now();
    this.emit('delivered', batch);
  }

  /** Halves the batch until the one operation PostgreSQL refuses is alone, then sets it aside. */
  private narrowDown(operations: readonly QueuedOperation[], error: unknown): void {
    const [only] = operations;
    if (operations.length > 1 || !only) {
      this.batchLimit = Math.max(1, Math.floor(operations.length / 2));
      return;
    }
    this.queue.setAside(only, message(error));
    this.setAside++;
    this.batchLimit = this.batchSize;
    this.logger?.error({ seq: only.seq, kind: only.kind, error: message(error) }, 'PostgreSQL refused a call-log or audit row; it is set aside in the local queue file');
    this.emit('set-aside', only, message(error));
  }

  /** Runs `work` on a pooled connection, giving up after deliveryTimeoutMs or when stop() runs out of time. */
  private withDeadline<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let client: PoolClient | undefined;
      let settled = false;
      const finish = (error: Error | undefined, value?: T) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.abandonInFlight = undefined;
        // A connection whose work failed or was abandoned is closed, not reused: its state is unknown.
        // It keeps its error listener, in case it reports more on its way out.
        if (!error) client?.off('error', onClientError);
        client?.release(error);
        client = undefined;
        if (error) reject(error);
        else resolve(value as T);
      };
      // A connection cut while checked out is reported on the client: unheard, it would end the process.
      const onClientError = (error: Error) => finish(error);
      const timer = setTimeout(() => finish(new Error(`PostgreSQL did not answer within ${this.deliveryTimeoutMs} ms`)), this.deliveryTimeoutMs);
      this.abandonInFlight = () => finish(new Error('given up on: the shipper is stopping'));
      this.pool.connect().then(
        (connected) => {
          if (settled) return connected.release(true);
          client = connected;
          connected.on('error', onClientError);
          work(connected).then(
            (value) => finish(undefined, value),
            (error: unknown) => finish(error instanceof Error ? error : new Error(String(error))),
          );
        },
        (error: unknown) => finish(error instanceof Error ? error : new Error(String(error))),
      );
    });
  }

  /** Waits `ms`, never past stop()'s deadline, ended early by stop() and, if `onWork`, by newly written rows. */
  private pause(ms: number, onWork: boolean): Promise<void> {
    const wait = this.stopDeadline === undefined ? ms : Math.max(0, Math.min(ms, this.stopDeadline - Date.now()));
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, wait);
      this.wake = { done, onWork };
    });
  }

  private setState(state: StoreState, error?: unknown): void {
    if (state === this.state) return;
    this.state = state;
    if (state === 'unreachable') this.logger?.warn({ error: message(error), queued: this.depth }, 'PostgreSQL unreachable; the call log waits in the local queue');
    else this.logger?.info({ queued: this.depth }, 'PostgreSQL reachable again; delivering the queued call log');
    this.emit('state', state);
  }
}
