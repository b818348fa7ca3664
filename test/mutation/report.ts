// The pure part of the mutation runner (run.ts): per-module scores, the committed baseline, and what
// counts as a change. Unit-tested in test/unit/scripts/mutation-runner.test.ts.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { MutantResult } from '@stryker-mutator/api/core';
import type { Group } from './groups.js';

/** The score every guarded module must reach: killed or timed out, over all it could have caught. */
export const MIN_SCORE = 90;

export const ROOT = new URL('../..', import.meta.url).pathname;

export interface FileScore {
  file: string;
  killed: number;
  timeout: number;
  survived: number;
  noCoverage: number;
  ignored: number;
  /** Detected over detectable, in percent; 100 when nothing could be detected. */
  score: number;
}

/** Per-file scores as Stryker counts them: ignored, compile and runtime errors count for nothing. */
export function scoresByFile(results: readonly Pick<MutantResult, 'fileName' | 'status'>[]): FileScore[] {
  const byFile = new Map<string, FileScore>();
  for (const { fileName, status } of results) {
    const file = relative(ROOT, fileName) || fileName;
    const row = byFile.get(file) ?? {
      file,
      killed: 0,
      timeout: 0,
      survived: 0,
      noCoverage: 0,
      ignored: 0,
      score: 100,
    };
    if (status === 'Killed') row.killed++;
    else if (status === 'Timeout') row.timeout++;
    else if (status === 'Survived') row.survived++;
    else if (status === 'NoCoverage') row.noCoverage++;
    else if (status === 'Ignored') row.ignored++;
    byFile.set(file, row);
  }
  for (const row of byFile.values()) {
    const detected = row.killed + row.timeout;
    const detectable = detected + row.survived + row.noCoverage;
    row.score = detectable === 0 ? 100 : Math.floor((detected / detectable) * 1000) / 10;
  }
  return [...byFile.values()].sort((a, b) => a.file.localeCompare(b.file));
}

/**
 * The incremental report without what changes from run to run with nothing tested again (where it
 * ran, the options, Stryker's branding), so an unchanged result writes an unchanged baseline.
 */
export function normalizeReport(report: Record<string, unknown>): string {
  const { projectRoot: _root, config: _config, framework: _framework, system: _system, ...kept } = report;
  return `${JSON.stringify(kept)}\n`;
}

export interface IncrementalReport {
  files: Record<string, { source: string; mutants: { status: string; static?: boolean }[] }>;
  testFiles?: Record<string, { source?: string }>;
}

/**
 * Stryker re-tests a surviving mutant when a test newly covers it; a static one (module-level code)
 * is covered by no test in particular, so it would keep "Survived" after the test that kills it is
 * added. When any test file of the group differs from the baseline's, or was added or removed,
 * forget the static survivors, so that this run tests them again.
 */
export function forgetStaticSurvivors(
  report: IncrementalReport,
  group: Group,
  root = ROOT,
): IncrementalReport {
  const recorded = report.testFiles ?? {};
  const onDisk = new Set(testFilesOf(group, root));
  const changed =
    onDisk.size !== Object.keys(recorded).length ||
    [...onDisk].some((file) => recorded[file]?.source !== readFileSync(join(root, file), 'utf8'));
  if (!changed) return report;
  const files = Object.fromEntries(
    Object.entries(report.files).map(([name, file]) => [
      name,
      {
        ...file,
        mutants: file.mutants.filter(
          (m) => !(m.static === true && (m.status === 'Survived' || m.status === 'NoCoverage')),
        ),
      },
    ]),
  );
  return { ...report, files };
}

/** The group's test files (its patterns are exact paths or `dir/**\/*.test.ts`), relative to root. */
export function testFilesOf(group: Group, root = ROOT): string[] {
  const files = new Set<string>();
  for (const pattern of group.tests) {
    const recursive = pattern.match(/^(.*)\/\*\*\/\*\.test\.ts$/);
    if (recursive?.[1] === undefined) {
      if (existsSync(join(root, pattern))) files.add(pattern);
      continue;
    }
    const dir = recursive[1];
    if (!existsSync(join(root, dir))) continue;
    for (const entry of readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' })) {
      if (entry.endsWith('.test.ts')) files.add(`${dir}/${entry}`);
    }
  }
  return [...files].sort();
}

/** A committed baseline, or an error that says what to do about it. */
export function readBaseline(path: string): IncrementalReport {
  try {
    const report = JSON.parse(gunzipSync(readFileSync(path)).toString('utf8')) as IncrementalReport;
    if (typeof report.files !== 'object' || report.files === null) throw new Error('it has no "files"');
    return report;
  } catch (error) {
    throw new Error(
      `${relative(ROOT, path)} is not a gzipped Stryker incremental report (${(error as Error).message}). Restore it with \`git checkout -- ${relative(ROOT, path)}\`, or rebuild it with \`npm run test:mutation -- --force\`.`,
    );
  }
}

/** What a result says, ignoring the test ids Stryker numbers afresh each run. */
export function signature(json: string): string {
  const report = JSON.parse(json) as {
    files: Record<string, { source: string; mutants: { id: string; status: string }[] }>;
    testFiles?: Record<string, { source?: string; tests: { id: string; name: string }[] }>;
  };
  const files = Object.entries(report.files)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, f]) => [name, f.source, f.mutants.map((m) => `${m.id}=${m.status}`).sort()]);
  const tests = Object.entries(report.testFiles ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, f]) => [name, f.source ?? '', f.tests.map((t) => t.name).sort()]);
  return JSON.stringify([files, tests]);
}

/** A file against one of the groups' patterns: `dir/**\/*.ts`, `dir/*.ts` or an exact path. */
export function matches(pattern: string, file: string): boolean {
  if (pattern === file) return true;
  const recursive = pattern.match(/^(.*)\/\*\*\/\*\.ts$/);
  if (recursive?.[1] !== undefined) return file.startsWith(`${recursive[1]}/`) && file.endsWith('.ts');
  const flat = pattern.match(/^(.*)\/\*\.ts$/);
  if (flat?.[1] !== undefined) return dirname(file) === flat[1] && file.endsWith('.ts');
  return false;
}

/**
 * What the group's tests run that Stryker's incremental diff does not look at: the source files it
 * does not mutate and the test helpers (it diffs only the mutated files and the test files). A
 * change there can change a result without Stryker seeing it, so a `--force` run records their
 * digests, and a later incremental run names the ones that changed since.
 */
export function unseenInputs(group: Group, root = ROOT): Record<string, string> {
  const files: Record<string, string> = {};
  for (const dir of ['lib', 'test/helpers', 'test/fakes']) {
    if (!existsSync(join(root, dir))) continue;
    for (const entry of readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' })) {
      const file = `${dir}/${entry}`;
      if (!/\.(ts|py|mjs|js)$/.test(file) || file.endsWith('.test.ts')) continue;
      if (group.mutate.some((pattern) => matches(pattern, file))) continue;
      files[file] = createHash('sha256')
        .update(readFileSync(join(root, file)))
        .digest('hex')
        .slice(0, 16);
    }
  }
  return Object.fromEntries(Object.entries(files).sort(([a], [b]) => a.localeCompare(b)));
}

/** The files of `now` that are new, changed or gone against `recorded`. */
export function changedInputs(recorded: Record<string, string>, now: Record<string, string>): string[] {
  const names = new Set([...Object.keys(recorded), ...Object.keys(now)]);
  return [...names].filter((name) => recorded[name] !== now[name]).sort();
}
