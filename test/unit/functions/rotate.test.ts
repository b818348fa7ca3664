import { GetUserCommand, IAMClient } from '@aws-sdk/client-iam';
import {
  DescribeSecretCommand,
  SecretsManagerClient,
  TagResourceCommand,
} from '@aws-sdk/client-secrets-manager';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { describeOutput, machineUser, TOKEN } from '../../helpers/rotation-mocks.js';

const secrets = mockClient(SecretsManagerClient);
const iam = mockClient(IAMClient);
const context = {
  functionName: 'keyrot-dev-rotate',
  awsRequestId: 'r',
  getRemainingTimeInMillis: () => 60_000,
} as unknown as Context;

beforeEach(() => {
  secrets.reset();
  iam.reset();
  iam.on(GetUserCommand).resolves(machineUser());
  vi.resetModules();
});
afterEach(() => {
  vi.restoreAllMocks();
  vi.doUnmock('../../../lib/rotation/lambda-step.js');
});

describe('rotate handler', () => {
  it('runs the step Secrets Manager asks for and logs it', async () => {
    const stdout = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    secrets.on(DescribeSecretCommand).resolves(describeOutput({ [TOKEN]: ['AWSCURRENT', 'AWSPENDING'] }));
    secrets.on(TagResourceCommand).resolves({});
    const { handler } = await import('../../../functions/rotate.js');
    await handler({ Step: 'finishSecret', SecretId: 'keyrot/ci', ClientRequestToken: TOKEN }, context);
    expect(secrets).toHaveReceivedCommandWith(TagResourceCommand, {
      Tags: [{ Key: 'keyrot:cutover', Value: expect.stringMatching(new RegExp(`^${TOKEN} `)) }],
    });
    const line = stdout.mock.calls.map((c) => String(c[0])).find((t) => t.includes('rotation step done'));
    expect(JSON.parse(line ?? '{}')).toMatchObject({
      step: 'finishSecret',
      user: 'ci',
      clientRequestToken: TOKEN,
      function_name: 'keyrot-dev-rotate',
    });
  });

  it('fails a step deferred while a rotation is in progress with a warning the error alarm leaves out', async () => {
    // Prepare: the step meets another attempt's unstored key (createSecret says "in progress").
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    vi.doMock('../../../lib/rotation/lambda-step.js', async () => {
      const { RotationInProgressError } = await import('../../../lib/errors.js');
      return {
        runRotationStep: async () => {
          throw new RotationInProgressError('A rotation of ci is in progress: key AKIA1 is not stored yet.');
        },
      };
    });
    const { handler, DEFERRED_MESSAGE } = await import('../../../functions/rotate.js');
    // Act: Secrets Manager must see a failure, to retry the step later.
    await expect(
      handler({ Step: 'createSecret', SecretId: 'keyrot/ci', ClientRequestToken: TOKEN }, context),
    ).rejects.toThrow(/in progress/);
    // Assess
    const lines = stderr.mock.calls.map((c) => String(c[0])).filter((t) => t.startsWith('{'));
    expect(lines.map((t) => JSON.parse(t))).toEqual([
      expect.objectContaining({
        level: 'WARN',
        message: DEFERRED_MESSAGE,
        reason: 'A rotation of ci is in progress: key AKIA1 is not stored yet.',
      }),
    ]);
  });

  it('logs any other failure as an error', async () => {
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    vi.doMock('../../../lib/rotation/lambda-step.js', () => ({
      runRotationStep: async () => {
        throw new Error('IAM is down');
      },
    }));
    const { handler } = await import('../../../functions/rotate.js');
    await expect(
      handler({ Step: 'createSecret', SecretId: 'keyrot/ci', ClientRequestToken: TOKEN }, context),
    ).rejects.toThrow('IAM is down');
    const logged = stderr.mock.calls.map((c) => String(c[0])).filter((t) => t.startsWith('{'));
    expect(JSON.parse(logged[0] ?? '{}')).toMatchObject({ level: 'ERROR', message: 'rotation step failed' });
  });

  it('fails, changing nothing, on a request it must refuse', async () => {
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const { handler } = await import('../../../functions/rotate.js');
    await expect(
      handler({ Step: 'dropTables', SecretId: 'keyrot/ci', ClientRequestToken: TOKEN }, context),
    ).rejects.toThrow(/Unknown rotation step "dropTables"/);
    expect(secrets.calls()).toHaveLength(0);
  });
});
