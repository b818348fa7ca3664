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
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import type { MutantResult, PartialStrykerOptions } from '@stryker-mutator/api/core';
import { Stryker } from '@stryker-mutator/core';
import { GROUPS, type Group } from './groups.js';
import {
  changedInputs,
  type FileScore,
  forgetStaticSurvivors,
  MIN_SCORE,
  matches,
  normalizeReport,
  ROOT,
  readBaseline,
  scoresByFile,
  signature,
  unseenInputs,
} from './report.js';

const baselineOf = (group: Group) => join(ROOT, 'test/mutation/baseline', `${group.name}.json.gz`);
const incrementalOf = (group: Group, subset: boolean) =>
  join(ROOT, 'reports', `stryker-incremental-${group.name}${subset ? '-subset' : ''}.json`);

async function runGroup(
  group: Group,
  options: { force: boolean; concurrency: number; mutate: string[] | undefined },
): Promise<{ scores: FileScore[]; seconds: number; results: MutantResult[] }> {
  const subset = options.mutate !== undefined;
  const incrementalFile = incrementalOf(group, subset);
  mkdirSync(dirname(incrementalFile), { recursive: true });
  const baseline = baselineOf(group);
  if (!subset && !options.force && !existsSync(baseline)) {
    console.log(
      `${group.name}: no ${relative(ROOT, baseline)}, so every mutant is tested (minutes, not seconds)`,
    );
  }
  const inputsFile = baseline.replace(/\.json\.gz$/, '.inputs.json');
  // Taken before Stryker copies the files it tests, so an edit made while it runs is not recorded.
  const inputsAtStart = unseenInputs(group);
  if (!subset && !options.force && existsSync(baseline)) {
    writeFileSync(incrementalFile, JSON.stringify(forgetStaticSurvivors(readBaseline(baseline), group)));
    const recorded = existsSync(inputsFile)
      ? (JSON.parse(readFileSync(inputsFile, 'utf8')) as { forcedAt: string; files: Record<string, string> })
      : undefined;
    const changed = recorded ? changedInputs(recorded.files, inputsAtStart) : [];
    if (recorded === undefined || changed.length > 0) {
      const what =
        recorded === undefined
          ? `no ${relative(ROOT, inputsFile)}`
          : `${changed.length} file(s) that Stryker's incremental diff does not look at (unmutated code, test helpers) changed since the --force run of ${recorded.forcedAt}: ${changed.slice(0, 5).join(', ')}${changed.length > 5 ? ', …' : ''}`;
      console.log(
        `${group.name}: ${what}. Results that depend on them, if this group's tests use them, are reused as they were; \`npm run test:mutation -- --group ${group.name} --force\` re-tests everything.`,
      );
    }
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
  if (!subset && options.force) {
    const forcedAt = new Date(started).toISOString().slice(0, 10);
    writeFileSync(inputsFile, `${JSON.stringify({ forcedAt, files: inputsAtStart }, null, 2)}\n`);
  }
  if (!subset && existsSync(incrementalFile)) {
    const next = normalizeReport(
      JSON.parse(readFileSync(incrementalFile, 'utf8')) as Record<string, unknown>,
    );
    const previous = existsSync(baseline) ? JSON.stringify(readBaseline(baseline)) : undefined;
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

function parseOptions() {
  try {
    return parseArgs({
      options: {
        group: { type: 'string', multiple: true },
        force: { type: 'boolean', default: false },
        concurrency: { type: 'string', default: '1' },
        mutate: { type: 'string' },
      },
    }).values;
  } catch (error) {
    console.error(
      `${(error as Error).message}. The options are --group NAME (repeatable), --force, --concurrency N and --mutate FILE,FILE (the top of test/mutation/run.ts shows each).`,
    );
    return undefined;
  }
}

async function main(): Promise<number> {
  const values = parseOptions();
  if (values === undefined) return 2;
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

if (process.argv[1] !== undefined && new URL(import.meta.url).pathname === process.argv[1]) {
  process.exitCode = await main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    return 1;
  });
}
