import { defineConfig } from 'vitest/config';

// Only the Slurm conformance test; run by conformance/broker-slurm.sh, which starts Slurm
// and sets VONODE_SLURM_CONF. The default test run (vitest.config.ts) never collects it.
export default defineConfig({
  test: {
    include: ['conformance/broker-slurm.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    pool: 'forks',
    maxWorkers: 1,
    testTimeout: 180_000,
    hookTimeout: 180_000,
  },
});
