// `npm test`'s test step (after the typecheck and the lint). Two lines of work at once, because the
// integration project must run its files one at a time (one emulator, reset before each file) and on
// a 2-core machine Vitest gives the other projects one worker too, after it, not beside it:
//   1. the integration project (moto), its output held and printed when it ends;
//   2. the unit and package projects with coverage (and its thresholds), then mutation testing
//      (test/mutation/run.ts: incremental from the committed baseline, each guarded module ≥ 90%).
// Ends with one line, "tests: N passed, N failed", summed over both Vitest runs, and exits non-zero
// when any part failed.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const bin = (name) => join(root, 'node_modules/.bin', name);
const scratch = mkdtempSync(join(tmpdir(), 'keyrot-test-'));

/** Runs a command; its output streams through, or is held when `hold` is set. */
function run(label, command, args, { hold = false, env = {} } = {}) {
  return new Promise((resolve) => {
    const chunks = [];
    const child = spawn(command, args, {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ['ignore', hold ? 'pipe' : 'inherit', hold ? 'pipe' : 'inherit'],
    });
    if (hold) {
      child.stdout.on('data', (c) => chunks.push(c));
      child.stderr.on('data', (c) => chunks.push(c));
    }
    child.on('error', (error) => {
      chunks.push(Buffer.from(`${label}: ${error.message}\n`));
      resolve({ label, code: 1, output: Buffer.concat(chunks) });
    });
    child.on('close', (code, signal) =>
      resolve({ label, code: code ?? (signal ? 1 : 0), output: Buffer.concat(chunks) }),
    );
  });
}

/** Each Vitest run writes its counts to a file of its own (test/helpers/summary-reporter.ts). */
const summaryEnv = (name) => ({ KEYROT_TEST_SUMMARY_FILE: join(scratch, `${name}.json`) });

const integration = run('integration', bin('vitest'), ['run', '--project', 'integration'], {
  hold: true,
  env: summaryEnv('integration'),
});
const rest = (async () => {
  const tests = await run(
    'unit and package',
    bin('vitest'),
    ['run', '--project', 'unit', '--project', 'package', '--coverage'],
    {
      env: summaryEnv('rest'),
    },
  );
  const mutation = await run('mutation', bin('tsx'), ['test/mutation/run.ts']);
  return [tests, mutation];
})();

const [held, [tests, mutation]] = await Promise.all([integration, rest]);
process.stdout.write(`\n--- the integration project (ran beside the above) ---\n`);
process.stdout.write(held.output);

const counts = { passed: 0, failed: 0, skipped: 0 };
for (const name of ['integration', 'rest']) {
  try {
    const one = JSON.parse(readFileSync(join(scratch, `${name}.json`), 'utf8'));
    for (const key of Object.keys(counts)) counts[key] += one[key] ?? 0;
  } catch {
    counts.failed += 1; // that run ended before its reporter did
  }
}
rmSync(scratch, { recursive: true, force: true });
const failedParts = [held, tests, mutation].filter((r) => r.code !== 0).map((r) => r.label);
process.stdout.write(
  `\ntests: ${counts.passed} passed, ${counts.failed} failed${counts.skipped ? `, ${counts.skipped} skipped` : ''}\n`,
);
if (failedParts.length > 0) process.stdout.write(`failed: ${failedParts.join(', ')}\n`);
process.exitCode = failedParts.length > 0 ? 1 : 0;
