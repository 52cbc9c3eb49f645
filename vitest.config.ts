import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'apps/**/*.test.ts', 'test/**/*.test.ts', 'bench/**/*.test.ts'],
    exclude: ['node_modules/**', 'apps/web/**'],
    globalSetup: ['src/testing/global-setup.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    teardownTimeout: 60_000,
    // expect.poll is a bounded wait for something to appear (never a timing assertion). On a loaded 2-core CI
    // machine the 1 s default is too tight for a browser round trip.
    expect: { poll: { timeout: 20_000, interval: 100 } },
  },
});
