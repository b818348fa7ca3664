// Mutation testing of the code that guards keys and secrets (issue 15). `npm run test:mutation`.
// Each mutant is run against the guarded modules' unit tests that cover it (perTest coverage), in a
// sandbox copy. One module at a time while working:
//   npx stryker run --mutate lib/secret/guard.ts
// Incremental: reports/stryker-incremental.json keeps the last result; only mutants whose code or
// covering tests changed run again.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'test/mutation/vitest.config.ts', related: false },
  coverageAnalysis: 'perTest',
  checkers: [],
  mutate: [
    'lib/secret/**/*.ts',
    'lib/rotation/**/*.ts',
    'lib/retirement/**/*.ts',
    'lib/policy/**/*.ts',
    'lib/log.ts',
    'lib/aws/errors.ts',
    'lib/config.ts',
  ],
  ignorePatterns: ['coverage', 'dist', '.serverless', '.esbuild', 'bench/results', 'reports'],
  // Static mutants (module-level code: the redaction patterns, the config schema's defaults and
  // patterns) need every test file re-run, which is slow; but they are exactly what the redaction and
  // config tests guard, so they count.
  ignoreStatic: false,
  incremental: true,
  incrementalFile: 'reports/stryker-incremental.json',
  reporters: ['clear-text', 'progress', 'json'],
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  thresholds: { high: 95, low: 90, break: 90 },
  // One worker: the machine is shared (raise it with --concurrency where it is not).
  concurrency: 1,
  timeoutMS: 10000,
  tempDirName: '.stryker-tmp',
};
