import { defineConfig } from 'vitest/config';

// Behaviour against the real local stack (hack/local-up.sh). Files run one at a time: they share
// one API server and one AWS endpoint on a 2-core machine.
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.e2e.test.ts'],
    globalSetup: ['test/e2e/support/global-setup.ts'],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
