/**
 * Something a call waits for (a playback to end, a key, a forward leg to answer):
 * settled once, by whichever comes first, and then every cleanup registered on it runs,
 * so no route or timer outlives the wait.
 */
export class Waiter<T> {
  readonly promise: Promise<T>;
  private settled = false;
  private cleanups: (() => void)[] = [];
  private resolvePromise!: (value: T) => void;
  private rejectPromise!: (error: unknown) => void;

  constructor() {
    this.promise = new Promise<T>((resolve, reject) => {
      this.resolvePromise = resolve;
      this.rejectPromise = reject;
    });
  }

  get isSettled(): boolean {
    return this.settled;
  }

  resolve(value: T): void {
    if (this.settle()) this.resolvePromise(value);
  }

  reject(error: unknown): void {
    if (this.settle()) this.rejectPromise(error);
  }

  /** Runs `cleanup` once the wait is over (at once if it already is). */
  onSettle(cleanup: () => void): void {
    if (this.settled) cleanup();
    else this.cleanups.push(cleanup);
  }

  private settle(): boolean {
    if (this.settled) return false;
    this.settled = true;
    const cleanups = this.cleanups;
    this.cleanups = [];
    for (const cleanup of cleanups) cleanup();
    return true;
  }
}
