import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

// The guarded modules' own unit tests: what Stryker runs against each mutant of lib/secret,
// lib/rotation, lib/retirement, lib/policy, redaction, error classification and the config schema.
// A subset of the unit project (every file here is also in `npm test`), so the dry run and the static
// mutants (which re-run every test file) cost a fraction of the whole unit suite.
export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: [
      'test/unit/secret/**/*.test.ts',
      'test/unit/rotation/**/*.test.ts',
      'test/unit/retirement/**/*.test.ts',
      'test/unit/policy/**/*.test.ts',
      'test/unit/log.test.ts',
      'test/unit/aws/errors.test.ts',
      'test/unit/aws/error-classification.test.ts',
      'test/unit/config.test.ts',
      'test/unit/functions/rotate.test.ts',
    ],
  },
});
