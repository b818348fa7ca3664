import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // The SDK warns once per process that Node 20 support ends in 2027; the README says so instead.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    reporters: ['default', './test/helpers/summary-reporter.ts'],
    coverage: {
      provider: 'v8',
      include: ['lib/**/*.ts', 'functions/**/*.ts'],
      exclude: ['lib/testbed/**'],
      reporter: ['json-summary'], // written to coverage/; a missed threshold still fails the run
      // The planners decide what happens to keys: every branch of them is exercised by a test.
      thresholds: {
        'lib/policy/**': { branches: 100, functions: 100, lines: 100, statements: 100 },
        'lib/retirement/plan.ts': { branches: 100, functions: 100, lines: 100, statements: 100 },
      },
    },
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          setupFiles: ['test/helpers/unit-setup.ts'],
        },
      },
      {
        extends: true,
        // Packages serverless.yml with osls (offline) and checks the CloudFormation it generates.
        test: {
          name: 'package',
          include: ['test/package/**/*.test.ts'],
          globalSetup: ['test/helpers/package-global-setup.ts'],
          setupFiles: ['test/helpers/unit-setup.ts'],
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts', 'test/contract/**/*.test.ts'],
          globalSetup: ['test/helpers/emulator-global-setup.ts'],
          setupFiles: ['test/helpers/unit-setup.ts', 'test/helpers/emulator-per-file.ts'],
          // One emulator serves the run and is reset before each file, so files take turns.
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
