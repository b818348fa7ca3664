import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createClients } from '../../lib/aws/clients.js';
import { type Emulator, pointAwsAt, startMoto } from '../../lib/testbed/moto.js';
import { seedUsers } from '../../lib/testbed/seed.js';
import { readZip } from '../helpers/zip.js';

const run = promisify(execFile);

/**
 * The packaged scan function, unzipped as Lambda would (its directory is the working directory),
 * invoked in a fresh Node process against moto: the bundle itself (ESM, the aliased credential
 * source, the shipped JSON config) is what runs, not the TypeScript the other tests import.
 */
let emulator: Emulator;
let taskDir: string;
let restoreEnv: () => void;

async function invokeScan(env: Record<string, string>) {
  const script = `
    const { handler } = await import('./functions/scan.mjs');
    const context = { functionName: 'keyrot-ci-scan', awsRequestId: 'bundle-test', invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:keyrot-ci-scan', memoryLimitInMB: '256', getRemainingTimeInMillis: () => 60000 };
    try {
      const summary = await handler({ 'detail-type': 'Scheduled Event', source: 'aws.events', detail: {} }, context);
      process.stdout.write('\\nRESULT ' + JSON.stringify(summary));
    } catch (error) {
      process.stdout.write('\\nFAILED ' + error.name + ': ' + error.message);
    }`;
  const { stdout } = await run(
    process.execPath,
    ['--enable-source-maps', '--input-type=module', '-e', script],
    {
      cwd: taskDir,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: taskDir,
        AWS_REGION: 'us-east-1',
        AWS_ENDPOINT_URL: emulator.endpoint,
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        KEYROT_CONFIG_FILE: 'dist/keyrot.config.json',
        POWERTOOLS_SERVICE_NAME: 'keyrot',
        ...env,
      },
    },
  );
  const last = stdout.trim().split('\n').at(-1) ?? '';
  if (last.startsWith('RESULT ')) return { summary: JSON.parse(last.slice(7)) as Record<string, unknown> };
  return { failure: last.replace(/^FAILED /, '') };
}

beforeAll(async () => {
  taskDir = await mkdtemp(join(tmpdir(), 'keyrot-task-'));
  for (const [name, data] of await readZip(join(inject('packagedDir'), 'scan.zip'))) {
    await mkdir(dirname(join(taskDir, name)), { recursive: true });
    await writeFile(join(taskDir, name), data);
  }
  emulator = await startMoto();
  restoreEnv = pointAwsAt(emulator.endpoint, 'seed');
  await seedUsers(createClients().iam, emulator.endpoint, [
    { userName: 'ci', path: '/machine/', tags: { owner: 'platform' }, keys: [{ used: true }] },
    { userName: 'alice', path: '/', keys: [{}] },
  ]);
}, 60_000);

afterAll(async () => {
  restoreEnv?.();
  await emulator?.stop();
});

describe('the packaged scan bundle', () => {
  it('runs from its zip with the credentials Lambda puts in the environment and the shipped config', async () => {
    const result = await invokeScan({
      AWS_ACCESS_KEY_ID: 'lambda-role',
      AWS_SECRET_ACCESS_KEY: 'lambda-role',
    });
    expect(result.summary).toMatchObject({ users: 2, machineUsers: 1, keys: 2, strategy: 'report' });
    // The config it read is the shipped file: change the file, and the same bundle plans differently.
    const shipped = join(taskDir, 'dist/keyrot.config.json');
    const original = await readFile(shipped, 'utf8');
    await writeFile(
      shipped,
      JSON.stringify({ ...JSON.parse(original), machinePath: '/', allowRootPath: true }),
    );
    const widened = await invokeScan({
      AWS_ACCESS_KEY_ID: 'lambda-role',
      AWS_SECRET_ACCESS_KEY: 'lambda-role',
    });
    await writeFile(shipped, original);
    expect(widened.summary).toMatchObject({ users: 2, machineUsers: 2 });
  });

  it('takes no credentials from anywhere else: without them in the environment it fails, naming the cause', async () => {
    await writeFile(
      join(taskDir, '.aws-credentials'),
      '[default]\naws_access_key_id = from-file\naws_secret_access_key = from-file\n',
    );
    const result = await invokeScan({ AWS_SHARED_CREDENTIALS_FILE: join(taskDir, '.aws-credentials') });
    expect(result.failure).toMatch(/environment variable credentials/i);
  });
});
