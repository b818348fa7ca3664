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
    /** The same for the organization hub (serverless.hub.yml). */
    hubPackagedDir: string;
  }
}

const run = promisify(execFile);

/** The hub's required parameters, as the package tests deploy it. */
export const HUB_PARAMS = { organizationId: 'o-keyrotci01', memberExternalId: 'keyrot-ci-external-id' };

/**
 * Packages serverless.yml (which also writes the organization member template) and serverless.hub.yml
 * once for the package project (offline: osls needs no AWS account for it).
 */
export default async function setup(project: TestProject) {
  // test/mutation/named-mutations.mjs packages once and hands each mutated copy of the template in.
  // (The hub template is not mutated: its directory, when given, is KEYROT_HUB_PACKAGED_DIR.)
  const reuse = process.env.KEYROT_PACKAGED_DIR;
  if (reuse) {
    project.provide('packagedDir', reuse);
    project.provide('hubPackagedDir', process.env.KEYROT_HUB_PACKAGED_DIR ?? '');
    return;
  }
  const env = {
    ...process.env,
    SLS_TELEMETRY_DISABLED: '1',
    SLS_NOTIFICATIONS_MODE: 'off',
    AWS_ENDPOINT_URL: '',
  };
  const out = await mkdtemp(join(tmpdir(), 'keyrot-package-'));
  await run('npx', ['osls', 'package', '--stage', 'ci', '--package', out], { env, timeout: 180_000 });
  const hub = await mkdtemp(join(tmpdir(), 'keyrot-package-hub-'));
  await run(
    'npx',
    [
      'osls',
      'package',
      '--config',
      'serverless.hub.yml',
      '--stage',
      'ci',
      ...Object.entries(HUB_PARAMS).map(([name, value]) => `--param=${name}=${value}`),
      '--package',
      hub,
    ],
    { env, timeout: 180_000 },
  );
  project.provide('packagedDir', out);
  project.provide('hubPackagedDir', hub);
  return async () => {
    await rm(out, { recursive: true, force: true });
    await rm(hub, { recursive: true, force: true });
  };
}
