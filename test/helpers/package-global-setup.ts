import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The directory `osls package` wrote: the CloudFormation template and one zip per function. */
    packagedDir: string;
  }
}

const run = promisify(execFile);

/** Packages serverless.yml once for the package project (offline: osls needs no AWS account for it). */
export default async function setup(project: TestProject) {
  // test/mutation/named-mutations.mjs packages once and hands each mutated copy of the template in.
  const reuse = process.env.KEYROT_PACKAGED_DIR;
  if (reuse) {
    project.provide('packagedDir', reuse);
    return;
  }
  const out = await mkdtemp(join(tmpdir(), 'keyrot-package-'));
  await run('npx', ['osls', 'package', '--stage', 'ci', '--package', out], {
    env: {
      ...process.env,
      SLS_TELEMETRY_DISABLED: '1',
      SLS_NOTIFICATIONS_MODE: 'off',
      AWS_ENDPOINT_URL: '',
    },
    timeout: 180_000,
  });
  project.provide('packagedDir', out);
  return () => rm(out, { recursive: true, force: true });
}
