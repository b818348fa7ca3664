import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../lib/cli/main.js';

/** An empty folder: the CLI reads ./keyrot.config.yaml when it exists, and tests must not depend on the repo's. */
const emptyDir = mkdtempSync(join(tmpdir(), 'keyrot-cli-'));

/**
 * Runs the CLI in-process and captures what it prints. It runs in an empty folder unless `cwd` is
 * given (through `runCliIn`), as a user would run it outside the repository.
 */
export function runCli(...argv: string[]) {
  return runCliIn(emptyDir, ...argv);
}

export async function runCliIn(cwd: string, ...argv: string[]) {
  let stdout = '';
  let stderr = '';
  const before = process.cwd();
  process.chdir(cwd);
  try {
    const code = await main(argv, {
      stdout: (text) => {
        stdout += text;
      },
      stderr: (text) => {
        stderr += text;
      },
    });
    return { code, stdout, stderr };
  } finally {
    process.chdir(before);
  }
}
