import { Worker } from 'node:worker_threads';
import type { Logger } from '../log/logger';

/** One statement to run in the writer: the SQL is fixed up front, only the parameters travel. */
export type WriteItem = readonly [statement: number, parameters: readonly unknown[]];

/**
 * The writer thread: its own connection, one transaction per batch, a busy database
 * waited out and retried (never dropped), SQLite's automatic checkpoints run here.
 */
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path);
db.pragma('busy_timeout = 2000');
// It only appends: a small page cache keeps the agent's memory down.
db.pragma('cache_size = -2048');
db.pragma('synchronous = NORMAL');
const statements = workerData.sql.map((sql) => db.prepare(sql));
const pending = [];
let writing = false;
const write = () => {
  if (writing || pending.length === 0) return;
  writing = true;
  const batch = pending.splice(0, pending.length);
  try {
    db.transaction(() => { for (const [statement, parameters] of batch) statements[statement].run(...parameters); })();
    parentPort.postMessage({ written: batch.length });
    writing = false;
  } catch (error) {
    pending.unshift(...batch);
    parentPort.postMessage({ failed: String(error && error.message), kept: pending.length });
    setTimeout(() => { writing = false; write(); }, 100);
  }
};
parentPort.on('message', (message) => {
  if (message === 'stop') {
    const deadline = Date.now() + 5000;
    const finish = () => {
      if (pending.length > 0 && Date.now() < deadline) { writing = false; write(); return setTimeout(finish, 20); }
      db.close();
      // Not process.exit(): from a worker it can end the whole process before the parent has finished.
      parentPort.close();
    };
    return finish();
  }
  pending.push(...message);
  setImmediate(write);
});
`;

/**
 * Writes the call log from a thread of its own, so that neither the inserts (each
 * touches index pages all over a large log) nor a checkpoint ever pause the event loop
 * that answers calls. Rows are handed over in order; a busy or failing database keeps
 * them in the writer and retries.
 */
export class LogWriter {
  private readonly worker: Worker;
  private stopped = false;
  /** Rows the writer has confirmed, and the last failure it reported (kept and retried). */
  written = 0;
  lastFailure: string | null = null;

  constructor(path: string, sql: readonly string[], logger: Logger) {
    // A small young generation: the writer's garbage is short-lived batches, and every MB is resident.
    this.worker = new Worker(WORKER, {
      eval: true,
      workerData: { path, sql, driver: require.resolve('better-sqlite3') },
      resourceLimits: { maxYoungGenerationSizeMb: 4 },
    });
    this.worker.unref();
    this.worker.on('message', (message: { written?: number; failed?: string; kept?: number }) => {
      if (message.written) this.written += message.written;
      if (message.failed) {
        this.lastFailure = message.failed;
        logger.warn({ error: message.failed, kept: message.kept }, 'call-log write failed; the rows are kept and retried');
      }
    });
    this.worker.on('error', (error) => logger.error({ err: error }, 'call-log writer failed'));
  }

  post(items: readonly WriteItem[]): void {
    if (!this.stopped && items.length > 0) this.worker.postMessage(items);
  }

  /** Writes what it holds (up to 5 s), then closes its connection. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const exited = new Promise((resolve) => this.worker.once('exit', resolve));
    // Held (ref) until it has written everything: an unref'd worker would let the process end first.
    this.worker.ref();
    this.worker.postMessage('stop');
    await exited;
  }
}
