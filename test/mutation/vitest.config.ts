import { defineConfig } from 'vitest/config';

// The test set Stryker runs against each mutant: the unit tests (no emulator, no packaging). Each file
// runs isolated: with one shared module graph (isolate: false) a module's top-level code runs once,
// under whichever test imported it first, and Stryker then credits that test alone with covering it
// (measured: the redaction regexes were "covered" only by the scan handler tests and survived).
// Left out: the tests that drive the CLI in-process (it changes directory, which the worker threads
// Stryker's runner uses can't). The mutated modules they reach have direct tests (log.test for
// redaction, error-classification.test for the error tables).
export default defineConfig({
  test: {
    root: new URL('../..', import.meta.url).pathname,
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    include: ['test/unit/**/*.test.ts'],
    exclude: ['test/unit/cli/**', 'test/unit/redaction.test.ts'],
    setupFiles: ['test/helpers/unit-setup.ts'],
  },
});
