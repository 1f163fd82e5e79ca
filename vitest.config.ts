import { defineConfig } from 'vitest/config';

// Integration tests start real brokers, ptys and child processes: files run in parallel across
// the two cores, tests inside a file run one after another.
export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
  },
});
