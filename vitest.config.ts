import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    // Hang detectors, not time budgets: a test on a slow or busy machine must never fail for
    // taking longer (waits inside tests give up after PATIENCE_MS, test/helpers/patience.ts).
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // A throwaway PostgreSQL cluster for the test/postgres-*.test.ts files (a couple of seconds to start).
    globalSetup: ['./test/helpers/postgres-global-setup.ts'],
    setupFiles: ['./test/helpers/yield-between-tests.ts'],
    reporters: ['default', './test/reporters/summary-line.ts'],
  },
});
