/** setTimeout with a count of the timers still pending, so a test can prove none is left behind. */
export class TrackedTimers {
  private readonly pending = new Set<NodeJS.Timeout>();

  /** Runs `fire` after `ms`; returns a cancel function (harmless once fired). */
  after(ms: number, fire: () => void): () => void {
    const timer = setTimeout(() => {
      this.pending.delete(timer);
      fire();
    }, ms);
    this.pending.add(timer);
    return () => {
      clearTimeout(timer);
      this.pending.delete(timer);
    };
  }

  /** A promise that resolves after `ms`, or at once when `cancel` is called. */
  sleep(ms: number): { readonly done: Promise<void>; readonly cancel: () => void } {
    let wake = () => {};
    const done = new Promise<void>((resolve) => {
      const cancelTimer = this.after(ms, resolve);
      wake = () => {
        cancelTimer();
        resolve();
      };
    });
    return { done, cancel: wake };
  }

  get count(): number {
    return this.pending.size;
  }
}
