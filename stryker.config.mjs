// Mutation testing of the code that guards keys and secrets (issue 15). Run it with
// `npm run test:mutation` (test/mutation/run.ts), which takes these options, mutates one group of
// modules at a time with that group's tests (test/mutation/groups.ts), starts from the result
// committed in test/mutation/baseline/, and fails when a module scores under 90%. Each mutant is run
// against the tests that cover it (perTest coverage), in a sandbox copy.
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
  // Static mutants are slow by nature here (the config schema, the redaction patterns): known, and why
  // config and redaction are groups of their own (test/mutation/groups.ts).
  warnings: { slow: false },
};
