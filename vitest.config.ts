import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // test/web/globalSetup.ts builds the dashboard (web/, only when changed) for the browser tests.
    globalSetup: ['test/globalSetup.ts', 'test/web/globalSetup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Files run in parallel, each with its own database and Redis prefix; two at a time fits two cores.
    maxWorkers: 2,
    pool: 'forks',
  },
});
