import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // expect.poll waits on a condition; its default of 1 s was too short on a loaded 2-core
    // machine (status-rollout's min_nodes wait failed so). Still bounded.
    expect: { poll: { timeout: 10_000 } },
    pool: 'forks',
    // Integration tests start servers on 127.0.0.1; two workers match the 2-core machines.
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
  },
});
