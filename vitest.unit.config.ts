import { defineConfig } from 'vitest/config';

// Pure logic: no network, no local stack.
export default defineConfig({
  test: {
    include: ['controller/*.test.ts', 'controller/src/**/*.test.ts', 'hack/**/*.test.ts'],
    testTimeout: 10_000,
  },
});
