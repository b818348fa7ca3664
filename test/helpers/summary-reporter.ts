import { writeFileSync } from 'node:fs';
import type { Reporter, SerializedError, TestModule } from 'vitest/node';

/**
 * Ends the run with one plain line, "tests: N passed, N failed", that CI reads. A file whose setup
 * failed (its tests never ran) and an unhandled error each count as a failure. Under `npm test`
 * (scripts/test.mjs), which runs Vitest twice at once, the counts go to KEYROT_TEST_SUMMARY_FILE
 * instead, and the script prints the one line for both.
 */
export default class SummaryLine implements Reporter {
  onTestRunEnd(
    testModules: ReadonlyArray<TestModule>,
    unhandledErrors: ReadonlyArray<SerializedError>,
  ): void {
    const counts = { passed: 0, failed: unhandledErrors.length, skipped: 0, pending: 0 };
    for (const module of testModules) {
      const before = counts.failed;
      for (const test of module.children.allTests()) counts[test.result().state] += 1;
      if (module.state() === 'failed' && counts.failed === before) counts.failed += 1;
    }
    const skipped = counts.skipped + counts.pending;
    const file = process.env.KEYROT_TEST_SUMMARY_FILE;
    if (file) {
      writeFileSync(file, JSON.stringify({ passed: counts.passed, failed: counts.failed, skipped }));
      return;
    }
    process.stdout.write(
      `\ntests: ${counts.passed} passed, ${counts.failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`,
    );
  }
}
