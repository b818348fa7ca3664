import { expect, it } from 'vitest';

// The config module builds its schema and defaults when it is loaded. Imported inside a test, a module
// that throws while loading fails this test; imported at the top of a file (config.test.ts), it fails
// the file before any test runs, which Stryker's Vitest runner counts as no test failing (a mutant of
// the schema's builders, `wholeNumber` or `days`, would then "survive"; stryker-js#6150).
it('lib/config.ts loads and builds its defaults', async () => {
  const { defaultConfig, parseConfig } = await import('../../lib/config.js');
  expect(defaultConfig.policy).toEqual({
    maxKeyAgeDays: 90,
    unusedKeyDays: 45,
    deleteAfterDays: 7,
    deactivateAfterDays: 7,
    idleDaysBeforeDeactivate: 10,
    escalateAfterDays: 14,
  });
  expect(parseConfig({}, 'test')).toEqual(defaultConfig);
});
