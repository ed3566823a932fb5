import { defineConfig } from 'vitest/config';

// Only the sharding conformance test (issue 22): it starts four PostgreSQL servers of its
// own besides the run's one, so the default test run (vitest.config.ts) never collects it;
// conformance/shards.sh runs it (SHARDS_ROWS selects the size).
export default defineConfig({
  test: {
    include: ['conformance/shards.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    pool: 'forks',
    maxWorkers: 1,
    testTimeout: 600_000,
    hookTimeout: 3_600_000,
  },
});
