import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { CreateAccessKeyCommand } from '@aws-sdk/client-iam';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  RotateSecretCommand,
} from '@aws-sdk/client-secrets-manager';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createClients } from '../../lib/aws/clients.js';
import { DAY_MS } from '../../lib/clock.js';
import { STEPS } from '../../lib/rotation/steps.js';
import { seedUsers, signWith } from '../../lib/testbed/seed.js';
import { runCli } from '../helpers/cli.js';

// End-to-end redaction on the emulator: real secret keys flow through every handler and CLI command
// (CreateAccessKey answers, secret values read back, keys signed with), and none reaches an output.

const clients = createClients();
const endpoint = () => process.env.AWS_ENDPOINT_URL ?? '';
const context = {
  functionName: 'keyrot-dev-fn',
  awsRequestId: 'r',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:keyrot-dev-fn',
  getRemainingTimeInMillis: () => 60_000,
} as unknown as Context;
const ROTATE_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:keyrot-dev-rotate';
const later = (days: number) => new Date(Date.now() + days * DAY_MS).toISOString();

type Handler = (event: unknown, context: Context) => Promise<unknown>;

/** Everything written: the CLI's stdout and stderr, the loggers' lines, results and thrown errors. */
const written: string[] = [];
const record = (chunk: unknown) => {
  written.push(String(chunk));
  return true;
};

async function invoke(fn: 'scan' | 'rotate' | 'retire', event: unknown) {
  vi.resetModules();
  const { handler } = (await (fn === 'scan'
    ? import('../../functions/scan.js')
    : fn === 'rotate'
      ? import('../../functions/rotate.js')
      : import('../../functions/retire.js'))) as { handler: Handler };
  try {
    written.push(JSON.stringify((await handler(event, context)) ?? null));
  } catch (error) {
    for (let e: unknown = error; e instanceof Error; e = e.cause) written.push(e.message, e.stack ?? '');
  }
}

async function cli(...argv: string[]) {
  const result = await runCli(...argv, '--verbose');
  written.push(result.stdout, result.stderr);
  return result;
}

beforeAll(() => {
  vi.stubEnv('ROTATE_FUNCTION_ARN', ROTATE_ARN);
  vi.spyOn(process.stdout, 'write').mockImplementation(record);
  vi.spyOn(process.stderr, 'write').mockImplementation(record);
});
afterAll(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

describe('no secret key reaches an output', () => {
  it('through a lifecycle driven by every handler and CLI command', async () => {
    const seededSecrets: string[] = [];
    await seedUsers(clients.iam, endpoint(), [{ userName: 'ci', path: '/machine/', tags: { owner: 't' } }]);
    const { AccessKey } = await clients.iam.send(new CreateAccessKeyCommand({ UserName: 'ci' }));
    seededSecrets.push(AccessKey?.SecretAccessKey ?? '');
    await signWith(endpoint(), AccessKey?.AccessKeyId ?? '', AccessKey?.SecretAccessKey ?? '');

    await invoke('scan', { source: 'aws.events', detail: {} });
    await cli('plan', '--now', later(100));
    await cli('plan', '--json');
    await cli('rotate', '--user', 'ci'); // onboards ci: keyrot/ci holds a new key
    await cli('rotate', '--user', 'ci'); // no free slot: the pre-keyrot key is still active
    await cli('status');
    await cli('retire', '--dry-run', '--now', later(10));
    await cli('retire', '--now', later(10)); // deactivates the pre-keyrot key
    await cli('retire', '--now', later(20)); // deletes it
    // Secrets Manager's four steps, through the rotate handler, with the token of the empty AWSPENDING
    // version RotateSecret makes (moto makes it through rotation_shape.py, then fails to find the
    // function, which it can't run).
    const token = randomUUID();
    await clients.secrets
      .send(
        new RotateSecretCommand({
          SecretId: 'keyrot/ci',
          ClientRequestToken: token,
          RotationLambdaARN: ROTATE_ARN,
          RotationRules: { AutomaticallyAfterDays: 90 },
        }),
      )
      .catch(() => undefined);
    const { VersionIdsToStages = {} } = await clients.secrets.send(
      new DescribeSecretCommand({ SecretId: 'keyrot/ci' }),
    );
    expect(VersionIdsToStages[token]).toEqual(['AWSPENDING']);
    for (const Step of STEPS)
      await invoke('rotate', { Step, SecretId: 'keyrot/ci', ClientRequestToken: token });
    // A replay of a step, and a foreign token (refused).
    await invoke('rotate', { Step: 'finishSecret', SecretId: 'keyrot/ci', ClientRequestToken: token });
    await invoke('rotate', { Step: 'testSecret', SecretId: 'keyrot/ci', ClientRequestToken: randomUUID() });
    await cli('status', '--json');
    await cli('rollback', '--user', 'ci', '--now', later(21));
    await cli('rotate', '--user', 'ci', '--compromised', '--delete-old', '--now', later(22));
    await cli('rotate', '--due', '--now', later(200));
    await cli('validate', '--config', join(process.cwd(), 'keyrot.config.yaml'));
    await invoke('retire', { source: 'aws.events', detail: {} });

    // Every secret key the account ever had: the seeded one and every version keyrot stored.
    const { Versions = [] } = await clients.secrets.send(
      new ListSecretVersionIdsCommand({ SecretId: 'keyrot/ci', IncludeDeprecated: true }),
    );
    const stored: string[] = [];
    for (const { VersionId } of Versions) {
      // moto can't read a version that lost all its labels; the ones it can read are enough.
      const value = await clients.secrets
        .send(new GetSecretValueCommand({ SecretId: 'keyrot/ci', VersionId }))
        .catch(() => undefined);
      if (value?.SecretString)
        stored.push((JSON.parse(value.SecretString) as { SecretAccessKey: string }).SecretAccessKey);
    }
    const keys = [...new Set([...seededSecrets, ...stored])];
    // The walk made several keys, and wrote a lot: "nothing leaked" is not vacuous.
    expect(keys.length).toBeGreaterThanOrEqual(4);
    expect(keys.every((k) => /^[A-Za-z0-9/+=]{40}$/.test(k))).toBe(true);
    const all = written.join('\n');
    expect(all).toContain('rotation step done');
    expect(all).toContain('new key');
    for (const key of keys) expect(all).not.toContain(key);
  });
});
