import { Worker } from 'node:worker_threads';

/**
 * Copies the queue file's write-ahead log back into the file from a thread of its own,
 * on its own connection. Left to SQLite, the checkpoint runs inside whichever commit
 * crosses the threshold (an enqueue or an acknowledgement on the event loop), and its
 * fsyncs paused the agent for about 20 ms each time. PASSIVE never waits for the writer.
 */
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path);
db.pragma('busy_timeout = 2000');
const checkpoint = () => {
  try { db.pragma('wal_checkpoint(PASSIVE)'); } catch (error) { parentPort.postMessage(String(error && error.message)); }
};
const timer = setInterval(checkpoint, workerData.everyMs);
parentPort.on('message', (message) => {
  if (message !== 'stop') return;
  clearInterval(timer);
  db.close();
  const stopped = new Int32Array(workerData.stopped);
  Atomics.store(stopped, 0, 1);
  Atomics.notify(stopped, 0);
  parentPort.close();
});
`;

/** How long stop() waits for the thread to close its connection before ending the thread. */
const STOP_WAIT_MS = 5000;

export class LogQueueCheckpointer {
  private readonly worker: Worker;
  /** Set to 1 by the thread once its connection is closed. */
  private readonly stopped = new SharedArrayBuffer(4);
  private broken = false;
  /** The last checkpoint that failed (it is tried again at the next interval). */
  lastFailure: string | null = null;

  /** `onBroken` is told if the thread dies, so that the queue can go back to checkpointing for itself. */
  constructor(path: string, onBroken: (error: Error) => void, everyMs = 1000) {
    this.worker = new Worker(WORKER, { eval: true, workerData: { path, everyMs, stopped: this.stopped, driver: require.resolve('better-sqlite3') }, resourceLimits: { maxYoungGenerationSizeMb: 4 } });
    this.worker.unref();
    this.worker.on('message', (failure: string) => (this.lastFailure = failure));
    this.worker.on('error', (error) => {
      this.broken = true;
      onBroken(error);
    });
  }

  /**
   * Closes the thread's connection before returning (waiting at most a few seconds), so
   * that the queue's own close() is the last and nothing touches the files afterwards.
   */
  stop(): void {
    if (this.broken) return;
    this.worker.postMessage('stop');
    const stopped = new Int32Array(this.stopped);
    if (Atomics.wait(stopped, 0, 0, STOP_WAIT_MS) === 'timed-out') void this.worker.terminate();
  }
}
