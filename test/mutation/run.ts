// `npm run test:mutation`: Stryker on the modules that guard keys and secrets, one group at a time
// (groups.ts), incrementally from the result committed in test/mutation/baseline/, and fails when any
// module scores under 90%. `npm test` runs it, so CI does: with nothing changed it re-tests no mutant,
// and costs Stryker's start plus one pass of each group's tests. A change re-tests the mutants of the
// code it touched and those its changed tests cover, and the run writes the new result back into the
// baseline, to be committed with the change.
//
//   npm run test:mutation                       every group, incrementally
//   npm run test:mutation -- --group config     one group
//   npm run test:mutation -- --force            re-test every mutant (refreshes the baseline)
//   npm run test:mutation -- --mutate lib/secret/guard.ts
//                                               some files only, from scratch, baseline untouched
//   --concurrency N                             test runner processes (default 1: the machine is shared)
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { MutantResult, PartialStrykerOptions } from '@stryker-mutator/api/core';
import { Stryker } from '@stryker-mutator/core';
import { GROUPS, type Group } from './groups.js';

/** The score every guarded module must reach: killed or timed out, over all it could have caught. */
export const MIN_SCORE = 90;

const ROOT = new URL('../..', import.meta.url).pathname;
const baselineOf = (group: Group) => join(ROOT, 'test/mutation/baseline', `${group.name}.json.gz`);
const incrementalOf = (group: Group, subset: boolean) =>
  join(ROOT, 'reports', `stryker-incremental-${group.name}${subset ? '-subset' : ''}.json`);

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

interface IncrementalReport {
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

/** What a result says, ignoring the test ids Stryker numbers afresh each run. */
function signature(json: string): string {
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

async function runGroup(
  group: Group,
  options: { force: boolean; concurrency: number; mutate: string[] | undefined },
): Promise<{ scores: FileScore[]; seconds: number; results: MutantResult[] }> {
  const subset = options.mutate !== undefined;
  const incrementalFile = incrementalOf(group, subset);
  mkdirSync(dirname(incrementalFile), { recursive: true });
  const baseline = baselineOf(group);
  if (!subset && !options.force && existsSync(baseline)) {
    const report = JSON.parse(gunzipSync(readFileSync(baseline)).toString('utf8')) as IncrementalReport;
    writeFileSync(incrementalFile, JSON.stringify(forgetStaticSurvivors(report, group)));
  }
  // Stryker's test runner processes read the group from the environment (vitest.config.ts).
  process.env.KEYROT_MUTATION_GROUP = group.name;
  const started = Date.now();
  const strykerOptions: PartialStrykerOptions = {
    configFile: join(ROOT, 'stryker.config.mjs'),
    mutate: options.mutate ?? group.mutate,
    incremental: !subset,
    incrementalFile,
    force: options.force,
    concurrency: options.concurrency,
    reporters: ['json', 'progress-append-only'],
    jsonReporter: { fileName: join('reports/mutation', `${group.name}.json`) },
    // This script applies the threshold to each module; Stryker's applies to the run as a whole.
    thresholds: { high: 95, low: MIN_SCORE, break: 0 },
  };
  const results = await new Stryker(strykerOptions).runMutationTest();
  const seconds = Math.round((Date.now() - started) / 1000);
  if (!subset && existsSync(incrementalFile)) {
    const next = normalizeReport(
      JSON.parse(readFileSync(incrementalFile, 'utf8')) as Record<string, unknown>,
    );
    const previous = existsSync(baseline) ? gunzipSync(readFileSync(baseline)).toString('utf8') : undefined;
    if (previous === undefined || signature(previous) !== signature(next)) {
      mkdirSync(dirname(baseline), { recursive: true });
      writeFileSync(baseline, gzipSync(next, { level: 9 }));
      console.log(`${group.name}: the result changed; ${relative(ROOT, baseline)} is updated (commit it)`);
    }
  }
  return { scores: scoresByFile(results), seconds, results };
}

function describeSurvivor(m: MutantResult): string {
  const at = `${relative(ROOT, m.fileName)}:${m.location.start.line}:${m.location.start.column}`;
  const replacement = m.replacement.replace(/\s+/g, ' ').slice(0, 80);
  return `  ${at} ${m.mutatorName} → ${replacement} (${m.status})`;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      group: { type: 'string', multiple: true },
      force: { type: 'boolean', default: false },
      concurrency: { type: 'string', default: '1' },
      mutate: { type: 'string' },
    },
  });
  const unknown = (values.group ?? []).filter((name) => !GROUPS.some((g) => g.name === name));
  if (unknown.length > 0) {
    console.error(
      `--group ${unknown.join(', ')}: no such group. The groups are ${GROUPS.map((g) => g.name).join(', ')} (test/mutation/groups.ts).`,
    );
    return 2;
  }
  const concurrency = Number(values.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    console.error(`--concurrency ${values.concurrency}: give a whole number of processes, 1 or more.`);
    return 2;
  }
  const mutate = values.mutate?.split(',').filter((p) => p !== '');
  const groups = GROUPS.filter((g) => values.group === undefined || values.group.includes(g.name));
  let failed = false;
  const rows: FileScore[] = [];
  for (const group of groups) {
    // --mutate picks files: each goes to the group that guards it.
    const picked = mutate?.filter((file) => group.mutate.some((pattern) => matches(pattern, file)));
    if (mutate !== undefined && (picked === undefined || picked.length === 0)) continue;
    const { scores, seconds, results } = await runGroup(group, {
      force: values.force,
      concurrency,
      mutate: picked,
    });
    console.log(`${group.name}: ${results.length} mutants, ${seconds} s`);
    for (const row of scores) {
      rows.push(row);
      if (row.score < MIN_SCORE) {
        failed = true;
        console.log(
          `${row.file}: ${row.score}% is under ${MIN_SCORE}%. Kill these mutants with a test, or, if one is`,
        );
        console.log(
          'equivalent, mark it `// Stryker disable next-line <mutator>: <why>` and list it in equivalent.md:',
        );
        for (const m of results) {
          if (
            relative(ROOT, m.fileName) === row.file &&
            (m.status === 'Survived' || m.status === 'NoCoverage')
          ) {
            console.log(describeSurvivor(m));
          }
        }
      }
    }
  }
  if (mutate !== undefined && rows.length === 0) {
    console.error(
      `--mutate ${values.mutate}: no guarded module. The groups guard ${GROUPS.flatMap((g) => g.mutate).join(', ')}.`,
    );
    return 2;
  }
  console.log('\n| module | score | killed | timeout | survived | no coverage | ignored |');
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    console.log(
      `| \`${r.file}\` | ${r.score}% | ${r.killed} | ${r.timeout} | ${r.survived} | ${r.noCoverage} | ${r.ignored} |`,
    );
  }
  if (failed) console.error(`\nA guarded module scores under ${MIN_SCORE}% (above).`);
  return failed ? 1 : 0;
}

/** A file against one of the groups' patterns: `dir/**\/*.ts`, `dir/*.ts` or an exact path. */
function matches(pattern: string, file: string): boolean {
  if (pattern === file) return true;
  const recursive = pattern.match(/^(.*)\/\*\*\/\*\.ts$/);
  if (recursive?.[1] !== undefined) return file.startsWith(`${recursive[1]}/`) && file.endsWith('.ts');
  const flat = pattern.match(/^(.*)\/\*\.ts$/);
  if (flat?.[1] !== undefined) return dirname(file) === flat[1] && file.endsWith('.ts');
  return false;
}

if (process.argv[1] !== undefined && new URL(import.meta.url).pathname === process.argv[1]) {
  process.exitCode = await main();
}
