// The guarded modules, in three groups, each with its own test set. A static mutant (module-level
// code: the config schema, the redaction patterns) can't be traced to the tests that cover it, so
// Stryker runs every test of the set against it; with the config schema and the redaction patterns
// in the main set, each of their static mutants re-ran all 500 guarded tests (about 16 s on an idle
// 2-core machine, 30 s on a loaded one). Each group's mutants must be caught by its own modules'
// tests. The CLI-driving tests are in no set: they change directory, which the worker threads of
// Stryker's Vitest runner can't.

export interface Group {
  name: string;
  mutate: string[];
  tests: string[];
}

export const GROUPS: Group[] = [
  {
    name: 'core',
    mutate: ['lib/secret/**/*.ts', 'lib/rotation/**/*.ts', 'lib/retirement/**/*.ts', 'lib/policy/**/*.ts'],
    tests: [
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
  {
    name: 'config',
    mutate: ['lib/config.ts'],
    tests: [
      'test/unit/config.test.ts',
      'test/unit/config-loads.test.ts',
      'test/unit/targets/registry.test.ts',
    ],
  },
  {
    name: 'redaction',
    mutate: ['lib/log.ts', 'lib/aws/errors.ts'],
    tests: [
      'test/unit/log.test.ts',
      'test/unit/aws/errors.test.ts',
      'test/unit/aws/error-classification.test.ts',
    ],
  },
];

/** The group named by KEYROT_MUTATION_GROUP (the runner sets it for Stryker's workers); core by default. */
export function currentGroup(name = process.env.KEYROT_MUTATION_GROUP ?? 'core'): Group {
  const group = GROUPS.find((g) => g.name === name);
  if (group === undefined) {
    throw new Error(
      `KEYROT_MUTATION_GROUP=${name} is not a group; use one of ${GROUPS.map((g) => g.name).join(', ')}`,
    );
  }
  return group;
}
