/** Reconnect delays for a lost PBX connection: 1 s, doubling, at most 30 s; back to 1 s once connected. */
export class Backoff {
  private delay: number;

  constructor(
    private readonly firstMs = 1000,
    private readonly lastMs = 30_000,
  ) {
    this.delay = firstMs;
  }

  /** The wait before the next attempt; the one after it doubles. */
  next(): number {
    const delay = this.delay;
    this.delay = Math.min(this.lastMs, this.delay * 2);
    return delay;
  }

  reset(): void {
    this.delay = this.firstMs;
  }
}
