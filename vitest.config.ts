import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Fails the run when it left files or progress state in the checkout.
    globalSetup: ['test/support/worktree-guard.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Tests spawn child processes and servers; two cores run two files at a time.
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
  },
});
