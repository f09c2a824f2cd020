import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/globalSetup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Files run in parallel, each with its own database and Redis prefix; two at a time fits two cores.
    maxWorkers: 2,
    pool: 'forks',
  },
});
