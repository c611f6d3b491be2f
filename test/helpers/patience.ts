/**
 * How long a test waits for something that normally takes milliseconds before it gives up:
 * a hang detector, not a time budget. A slow or busy machine must never fail a test, so a
 * test waits on the event itself (a log line, a file's size, a counter) for up to this long,
 * and asserts order and cause rather than durations; figures belong in `npm run bench`.
 * Kept below vitest's per-test timeout (vitest.config.ts) so that the error names the wait.
 * Framework-free, so that scripts can use it too.
 */
export const PATIENCE_MS = 60_000;

/** Polls `check` until it holds; throws, naming `what`, only after `timeoutMs`. */
export async function until(check: () => boolean, what: string, timeoutMs: number = PATIENCE_MS, pollMs = 5): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}
