import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Group } from '../../mutation/groups.js';
import {
  changedInputs,
  forgetStaticSurvivors,
  type IncrementalReport,
  matches,
  normalizeReport,
  ROOT,
  readBaseline,
  scoresByFile,
  signature,
  testFilesOf,
  unseenInputs,
} from '../../mutation/report.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'keyrot-mutation-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const at = (file: string) => join(ROOT, file);

describe('scoresByFile', () => {
  it('counts killed and timed-out mutants over all but ignored ones, per file, floored to a tenth', () => {
    const results = [
      ...Array.from({ length: 8 }, () => ({ fileName: at('lib/a.ts'), status: 'Killed' as const })),
      { fileName: at('lib/a.ts'), status: 'Timeout' as const },
      { fileName: at('lib/a.ts'), status: 'Survived' as const },
      { fileName: at('lib/a.ts'), status: 'NoCoverage' as const },
      { fileName: at('lib/a.ts'), status: 'Ignored' as const },
      { fileName: at('lib/a.ts'), status: 'CompileError' as const },
      { fileName: at('lib/b.ts'), status: 'Ignored' as const },
    ];
    expect(scoresByFile(results)).toEqual([
      // 9 detected of 11: 81.81…% is 81.8%, not rounded up to a pass at a 90% line
      { file: 'lib/a.ts', killed: 8, timeout: 1, survived: 1, noCoverage: 1, ignored: 1, score: 81.8 },
      { file: 'lib/b.ts', killed: 0, timeout: 0, survived: 0, noCoverage: 0, ignored: 1, score: 100 },
    ]);
  });

  it('does not round 89.96% up to 90%', () => {
    const results = [
      ...Array.from({ length: 2249 }, () => ({ fileName: at('lib/c.ts'), status: 'Killed' as const })),
      ...Array.from({ length: 251 }, () => ({ fileName: at('lib/c.ts'), status: 'Survived' as const })),
    ];
    expect(scoresByFile(results)[0]?.score).toBe(89.9);
  });
});

const report = (overrides: Partial<IncrementalReport> = {}): IncrementalReport => ({
  files: {
    'lib/a.ts': {
      source: 'export const a = 1;',
      mutants: [
        { status: 'Survived', static: true },
        { status: 'NoCoverage', static: true },
        { status: 'Killed', static: true },
        { status: 'Survived', static: false },
      ],
    },
  },
  testFiles: { 'test/a.test.ts': { source: 'test a' } },
  ...overrides,
});

describe('forgetStaticSurvivors', () => {
  const group: Group = { name: 'g', mutate: ['lib/a.ts'], tests: ['test/a.test.ts'] };
  const write = (source: string) => {
    mkdirSync(join(dir, 'test'), { recursive: true });
    writeFileSync(join(dir, 'test/a.test.ts'), source);
  };

  it('keeps every result when the tests are the baseline’s', () => {
    write('test a');
    expect(forgetStaticSurvivors(report(), group, dir)).toEqual(report());
  });

  it('drops only the static survivors and uncovered static mutants when a test file changed', () => {
    write('test a, with a new test');
    const mutants = forgetStaticSurvivors(report(), group, dir).files['lib/a.ts']?.mutants;
    expect(mutants).toEqual([
      { status: 'Killed', static: true },
      { status: 'Survived', static: false },
    ]);
  });

  it('drops them when a test file was added or removed', () => {
    write('test a');
    writeFileSync(join(dir, 'test/b.test.ts'), 'test b');
    const added: Group = { ...group, tests: ['test/a.test.ts', 'test/b.test.ts'] };
    expect(forgetStaticSurvivors(report(), added, dir).files['lib/a.ts']?.mutants).toHaveLength(2);
    const removed = report({
      testFiles: { 'test/a.test.ts': { source: 'test a' }, 'test/gone.test.ts': {} },
    });
    expect(forgetStaticSurvivors(removed, group, dir).files['lib/a.ts']?.mutants).toHaveLength(2);
  });
});

describe('testFilesOf', () => {
  it('expands dir/**/*.test.ts recursively and keeps exact paths that exist', () => {
    mkdirSync(join(dir, 'test/unit/x/deep'), { recursive: true });
    writeFileSync(join(dir, 'test/unit/x/one.test.ts'), '');
    writeFileSync(join(dir, 'test/unit/x/deep/two.test.ts'), '');
    writeFileSync(join(dir, 'test/unit/x/helper.ts'), '');
    writeFileSync(join(dir, 'test/unit/solo.test.ts'), '');
    const group: Group = {
      name: 'g',
      mutate: [],
      tests: [
        'test/unit/x/**/*.test.ts',
        'test/unit/solo.test.ts',
        'test/unit/missing.test.ts',
        'test/none/**/*.test.ts',
      ],
    };
    expect(testFilesOf(group, dir)).toEqual([
      'test/unit/solo.test.ts',
      'test/unit/x/deep/two.test.ts',
      'test/unit/x/one.test.ts',
    ]);
  });
});

describe('the committed baseline', () => {
  it('drops where and how Stryker ran, so an unchanged result writes unchanged bytes', () => {
    const raw = {
      ...report(),
      schemaVersion: '2',
      projectRoot: '/tmp/x',
      config: { a: 1 },
      framework: { name: 'StrykerJS' },
    };
    expect(JSON.parse(normalizeReport(raw))).toEqual({ ...report(), schemaVersion: '2' });
  });

  it('sees a change of status or source, not a renumbering of tests', () => {
    const a = {
      files: { 'lib/a.ts': { source: 's', mutants: [{ id: '1', status: 'Killed', coveredBy: ['3'] }] } },
      testFiles: { 't.ts': { source: 't', tests: [{ id: '3', name: 'one' }] } },
    };
    const renumbered = {
      files: { 'lib/a.ts': { source: 's', mutants: [{ id: '1', status: 'Killed', coveredBy: ['7'] }] } },
      testFiles: { 't.ts': { source: 't', tests: [{ id: '7', name: 'one' }] } },
    };
    expect(signature(JSON.stringify(renumbered))).toBe(signature(JSON.stringify(a)));
    const survived = {
      ...a,
      files: { 'lib/a.ts': { source: 's', mutants: [{ id: '1', status: 'Survived', coveredBy: ['3'] }] } },
    };
    expect(signature(JSON.stringify(survived))).not.toBe(signature(JSON.stringify(a)));
    const edited = { ...a, files: { 'lib/a.ts': { ...a.files['lib/a.ts'], source: 's2' } } };
    expect(signature(JSON.stringify(edited))).not.toBe(signature(JSON.stringify(a)));
  });

  it('reads a gzipped report, and says what to do with one it can’t read', () => {
    const good = join(dir, 'good.json.gz');
    writeFileSync(good, gzipSync(JSON.stringify(report())));
    expect(readBaseline(good)).toEqual(report());
    const plain = join(dir, 'plain.json.gz');
    writeFileSync(plain, JSON.stringify(report()));
    expect(() => readBaseline(plain)).toThrow(
      /is not a gzipped Stryker incremental report .*git checkout -- .*--force/,
    );
    const empty = join(dir, 'empty.json.gz');
    writeFileSync(empty, gzipSync('{}'));
    expect(() => readBaseline(empty)).toThrow(/it has no "files"/);
  });
});

describe('matches (which group guards a file given to --mutate)', () => {
  it.each([
    ['lib/rotation/**/*.ts', 'lib/rotation/steps.ts', true],
    ['lib/rotation/**/*.ts', 'lib/rotation/sub/x.ts', true],
    ['lib/rotation/**/*.ts', 'lib/rotationx/steps.ts', false],
    ['lib/rotation/**/*.ts', 'lib/rotation/notes.md', false],
    ['lib/policy/*.ts', 'lib/policy/plan.ts', true],
    ['lib/policy/*.ts', 'lib/policy/sub/plan.ts', false],
    ['lib/config.ts', 'lib/config.ts', true],
    ['lib/config.ts', 'lib/config-file.ts', false],
  ])('%s ∋ %s: %s', (pattern, file, expected) => {
    expect(matches(pattern, file)).toBe(expected);
  });
});

describe('unseenInputs (what Stryker does not diff)', () => {
  it('digests the unmutated source files and the test helpers, not the mutated files or the tests', () => {
    for (const sub of ['lib/rotation', 'lib/aws', 'test/helpers/moto', 'test/fakes'])
      mkdirSync(join(dir, sub), { recursive: true });
    writeFileSync(join(dir, 'lib/rotation/steps.ts'), 'mutated');
    writeFileSync(join(dir, 'lib/aws/clients.ts'), 'unmutated');
    writeFileSync(join(dir, 'lib/notes.md'), 'not code');
    writeFileSync(join(dir, 'test/helpers/aws-model.ts'), 'model');
    writeFileSync(join(dir, 'test/helpers/moto/shim.py'), 'shim');
    writeFileSync(join(dir, 'test/helpers/some.test.ts'), 'a test: Stryker diffs it');
    writeFileSync(join(dir, 'test/fakes/github.ts'), 'fake');
    const group: Group = { name: 'g', mutate: ['lib/rotation/**/*.ts'], tests: [] };
    const before = unseenInputs(group, dir);
    expect(Object.keys(before)).toEqual([
      'lib/aws/clients.ts',
      'test/fakes/github.ts',
      'test/helpers/aws-model.ts',
      'test/helpers/moto/shim.py',
    ]);
    writeFileSync(join(dir, 'lib/rotation/steps.ts'), 'mutated, and changed');
    expect(changedInputs(before, unseenInputs(group, dir))).toEqual([]);
    writeFileSync(join(dir, 'test/helpers/aws-model.ts'), 'model, changed');
    rmSync(join(dir, 'test/fakes/github.ts'));
    writeFileSync(join(dir, 'lib/aws/new.ts'), 'new');
    expect(changedInputs(before, unseenInputs(group, dir))).toEqual([
      'lib/aws/new.ts',
      'test/fakes/github.ts',
      'test/helpers/aws-model.ts',
    ]);
  });
});
