import { defineConfig } from 'vitest/config';

// Only the podman isolation test; run by conformance/broker-podman.sh, which builds the
// local image and sets VONODE_TEST_PODMAN_*. The default test run never collects it.
export default defineConfig({
  test: {
    include: ['conformance/broker-podman.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    pool: 'forks',
    maxWorkers: 1,
    testTimeout: 180_000,
    hookTimeout: 180_000,
  },
});
