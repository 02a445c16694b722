import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Integration tests start servers on 127.0.0.1; two workers match the 2-core machines.
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
  },
});
