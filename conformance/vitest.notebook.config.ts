import { defineConfig } from 'vitest/config';

// Only the notebook sessions' test (Jupyter and Chromium); run by conformance/broker-notebook.sh.
// The default test run never collects it.
export default defineConfig({
  test: {
    include: ['conformance/broker-notebook.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    pool: 'forks',
    maxWorkers: 1,
    testTimeout: 180_000,
    hookTimeout: 180_000,
  },
});
