// Stryker on the guarded modules against their own unit tests only (test/mutation/vitest.guarded.config.ts).
// Used per module while working (`npx stryker run stryker.guarded.config.mjs --mutate lib/secret/guard.ts`),
// and by `npm run test:mutation`. One worker: the project's machine is shared.
import base from './stryker.config.mjs';

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  ...base,
  vitest: { ...base.vitest, configFile: 'test/mutation/vitest.guarded.config.ts' },
  incrementalFile: 'reports/stryker-incremental.json',
  concurrency: 1,
};
