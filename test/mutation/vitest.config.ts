import { defineConfig } from 'vitest/config';

// The test set Stryker runs against each mutant: the unit tests (no emulator, no packaging), in one
// module graph kept between runs (isolate: false), so a mutant costs milliseconds, not a re-import of
// the AWS SDK. Stryker switches mutants at run time, so a kept module graph still sees each mutant.
// Left out: the tests that drive the CLI (it changes directory, which worker threads can't) or mock
// modules and the SDK's retry for the whole graph. The modules they reach that Stryker mutates are
// covered by direct tests (log.test for redaction, error-classification.test for the error tables).
export default defineConfig({
  test: {
    root: new URL('../..', import.meta.url).pathname,
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    include: ['test/unit/**/*.test.ts'],
    exclude: ['test/unit/cli/**', 'test/unit/aws/clients.test.ts', 'test/unit/redaction.test.ts'],
    setupFiles: ['test/helpers/unit-setup.ts'],
    isolate: false,
  },
});
