import { defineConfig } from 'vitest/config';
import { currentGroup } from './groups.js';

// The test set Stryker runs against each mutant: the tests of the group being mutated
// (`groups.ts`, chosen by KEYROT_MUTATION_GROUP, which `run.mjs` sets), every one of them also part
// of `npm test`. Each file runs isolated: with one shared module graph (isolate: false) a module's
// top-level code runs once, under whichever test imported it first, and Stryker then credits that
// test alone with covering it (measured: the redaction regexes were "covered" only by the scan
// handler tests and survived).
export default defineConfig({
  test: {
    root: new URL('../..', import.meta.url).pathname,
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    include: currentGroup().tests,
    setupFiles: ['test/helpers/unit-setup.ts'],
  },
});
