/**
 * Registered for every test file (vitest.config.ts setupFiles). Vitest's worker reports each
 * test to the main process over an RPC that gives up after 60 s unanswered; a run of
 * synchronous tests (the CLI tests, each a series of spawnSync) never lets the worker read the
 * answer, so on a slow or busy machine it failed the run with `Timeout calling "onTaskUpdate"`
 * although every test passed. A turn of the event loop after each test lets it read them.
 */
import { afterEach } from 'vitest';

afterEach(async () => {
  await new Promise((resolve) => setTimeout(resolve, 0));
  await new Promise((resolve) => setImmediate(resolve));
});
