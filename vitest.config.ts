import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    coverage: {
      provider: 'v8',
      include: ['lib/**/*.ts', 'functions/**/*.ts'],
      exclude: ['lib/testbed/**'],
      reporter: ['text-summary', 'json-summary'],
      // The planner decides what happens to keys: every branch of it is exercised by a test.
      thresholds: { 'lib/policy/**': { branches: 100, functions: 100, lines: 100, statements: 100 } },
    },
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['test/unit/**/*.test.ts'], environment: 'node' },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/helpers/emulator-global-setup.ts'],
          setupFiles: ['test/helpers/emulator-per-file.ts'],
          // One emulator serves the run and is reset before each file, so files take turns.
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
