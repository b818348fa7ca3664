import { defineConfig } from 'vitest/config';

// The test set Stryker runs against each mutant: the guarded modules' own unit tests (no emulator, no
// packaging, no CLI), every one of them also part of `npm test`. Each file runs isolated: with one
// shared module graph (isolate: false) a module's top-level code runs once, under whichever test
// imported it first, and Stryker then credits that test alone with covering it (measured: the
// redaction regexes were "covered" only by the scan handler tests and survived).
// Left out: the tests that drive the CLI in-process (it changes directory, which the worker threads
// Stryker's runner uses can't), and the other modules' tests: a mutant of a guarded module must be
// caught by a test written for it. The smaller set makes the dry run and the static mutants (which
// re-run every file here) about 2.5 times cheaper than the whole unit project (31 s against 77 s,
// measured on the shared 2-core machine).
export default defineConfig({
  test: {
    root: new URL('../..', import.meta.url).pathname,
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
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
    setupFiles: ['test/helpers/unit-setup.ts'],
  },
});
