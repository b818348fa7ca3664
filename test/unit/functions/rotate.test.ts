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
afterEach(() => vi.restoreAllMocks());

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

  it('fails, changing nothing, on a request it must refuse', async () => {
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const { handler } = await import('../../../functions/rotate.js');
    await expect(
      handler({ Step: 'dropTables', SecretId: 'keyrot/ci', ClientRequestToken: TOKEN }, context),
    ).rejects.toThrow(/Unknown rotation step "dropTables"/);
    expect(secrets.calls()).toHaveLength(0);
  });
});
