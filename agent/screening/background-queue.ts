/** Jobs waiting beyond this are dropped: the next call that needs one asks again. */
const QUEUE_LIMIT = 1_000;
const CONCURRENCY = 4;

/**
 * Work done after the call that asked for it, one job per key (a key queued or running
 * is not queued again) and a few at a time, so that a burst of calls never becomes a
 * burst of requests to a reputation source.
 */
export class BackgroundQueue {
  private readonly waiting = new Map<string, () => Promise<unknown>>();
  private readonly running = new Set<string>();

  constructor(
    private readonly concurrency = CONCURRENCY,
    private readonly limit = QUEUE_LIMIT,
  ) {}

  /** Runs `job` later (never before the current call's own work is done); false when it was not queued. */
  later(key: string, job: () => Promise<unknown>): boolean {
    if (this.waiting.has(key) || this.running.has(key) || this.waiting.size >= this.limit) return false;
    this.waiting.set(key, job);
    setImmediate(() => this.drain());
    return true;
  }

  private drain(): void {
    for (const [key, job] of this.waiting) {
      if (this.running.size >= this.concurrency) return;
      this.waiting.delete(key);
      this.running.add(key);
      void job()
        .catch(() => undefined)
        .finally(() => {
          this.running.delete(key);
          this.drain();
        });
    }
  }
}
