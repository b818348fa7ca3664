import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const shimDir = fileURLToPath(new URL('../../helpers/moto-scoped-auth', import.meta.url));

describe('the moto shim (test/helpers/moto-scoped-auth)', () => {
  it("follows AWS's documented evaluation logic, and inside moto refuses inactive keys and evaluates KMS: every pytest case passes, none skipped", async () => {
    // Prepare: pytest comes with moto's test dependencies; the cache would write into the source tree.
    const result = await run('python3', ['-m', 'pytest', '-q', '-p', 'no:cacheprovider', shimDir], {
      timeout: 120_000,
    }).catch((error: { code?: number | string; stdout?: string; stderr?: string }) => {
      if (error.code === 'ENOENT') throw new Error('python3 is not installed (moto needs it).');
      throw new Error(`pytest failed:\n${error.stdout ?? ''}${error.stderr ?? ''}`);
    });
    // Assess: a summary line with passes only.
    const summary = result.stdout.trim().split('\n').at(-1) ?? '';
    expect(summary).toMatch(/^\d+ passed in /);
    expect(Number(/^(\d+) passed/.exec(summary)?.[1])).toBeGreaterThanOrEqual(39);
  }, 120_000);
});
