import { GetUserCommand, IAMClient, ListUserTagsCommand } from '@aws-sdk/client-iam';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  SecretsManagerClient,
  TagResourceCommand,
} from '@aws-sdk/client-secrets-manager';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { describeOutput, machineUser, TOKEN } from '../../helpers/rotation-mocks.js';

// The rotate function publishes with a signed Publish (lib/aws/sns-signed.ts, tested on moto); here
// it goes through the SDK client so the mock sees what is published.
vi.mock('../../../lib/aws/sns-signed.js', async () => {
  const { sdkSns } = await import('../../../lib/aws/sns.js');
  const { SNSClient: Client } = await import('@aws-sdk/client-sns');
  return { signedSns: () => sdkSns(new Client({ region: 'us-east-1' })) };
});

const secrets = mockClient(SecretsManagerClient);
const iam = mockClient(IAMClient);
const sns = mockClient(SNSClient);
const TOPIC = 'arn:aws:sns:us-east-1:123456789012:keyrot-dev-alerts';
const context = {
  functionName: 'keyrot-dev-rotate',
  awsRequestId: 'r',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:keyrot-dev-rotate',
  getRemainingTimeInMillis: () => 60_000,
} as unknown as Context;

/** Every JSON line written to a stream spy (logs and EMF). */
const lines = (spy: { mock: { calls: unknown[][] } }) =>
  spy.mock.calls
    .map((c) => String(c[0]))
    .filter((t) => t.startsWith('{'))
    .map((t) => JSON.parse(t) as Record<string, unknown>);

beforeEach(() => {
  secrets.reset();
  iam.reset();
  sns.reset();
  iam.on(GetUserCommand).resolves(machineUser());
  vi.resetModules();
});
afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
  vi.doUnmock('../../../lib/rotation/lambda-step.js');
});

/** A testSecret whose pending value can't be read: the step fails after the request was accepted. */
function failingTestSecret() {
  secrets
    .on(DescribeSecretCommand)
    .resolves(
      describeOutput({ [TOKEN]: ['AWSPENDING'], 'older-version-0000000000000000001': ['AWSCURRENT'] }),
    );
  secrets.on(GetSecretValueCommand).rejects(
    Object.assign(new Error('Access to KMS is not allowed'), {
      name: 'AccessDeniedException',
      $metadata: {},
    }),
  );
  iam.on(ListUserTagsCommand).resolves({ Tags: [{ Key: 'owner', Value: 'platform' }] });
}

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

  it('tells the owner when a redeploy failed after the cut-over, and the step still succeeds', async () => {
    // Prepare
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    vi.stubEnv('ALERT_TOPIC_ARN', TOPIC);
    iam.on(ListUserTagsCommand).resolves({ Tags: [{ Key: 'owner', Value: 'platform' }] });
    sns.on(PublishCommand).resolves({ MessageId: 'm' });
    vi.doMock('../../../lib/rotation/lambda-step.js', () => ({
      runRotationStep: async () => ({
        step: 'finishSecret',
        user: 'ci',
        moved: true,
        redeployFailures: [
          {
            targetType: 'github-actions',
            targetName: 'deploy-repo',
            accessKeyId: 'AKIAEXAMPLENEW0K3Y9Z',
            error: new Error('HTTP 422: Workflow does not have workflow_dispatch trigger'),
          },
        ],
      }),
    }));
    const { handler } = await import('../../../functions/rotate.js');
    // Act: Secrets Manager sees a success (the new key is current).
    await handler({ Step: 'finishSecret', SecretId: 'keyrot/ci', ClientRequestToken: TOKEN }, context);
    // Assess
    expect(sns).toHaveReceivedCommandWith(PublishCommand, {
      TopicArn: TOPIC,
      MessageAttributes: expect.objectContaining({
        kind: { DataType: 'String', StringValue: 'redeploy-failed' },
        owner: { DataType: 'String', StringValue: 'platform' },
        user: { DataType: 'String', StringValue: 'ci' },
      }),
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

  it('alerts the owner when a step fails, counts it by step, and still fails so Secrets Manager retries', async () => {
    // Prepare
    vi.stubEnv('ALERT_TOPIC_ARN', TOPIC);
    failingTestSecret();
    sns.on(PublishCommand).resolves({ MessageId: 'm' });
    const stdout = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const { handler } = await import('../../../functions/rotate.js');
    // Act
    const outcome = handler(
      { Step: 'testSecret', SecretId: 'keyrot/ci', ClientRequestToken: TOKEN },
      context,
    );
    // Assess
    await expect(outcome).rejects.toThrow('Access to KMS is not allowed');
    expect(sns).toHaveReceivedCommandTimes(PublishCommand, 1);
    const input = sns.commandCalls(PublishCommand)[0]?.args[0].input;
    expect(input).toMatchObject({
      TopicArn: TOPIC,
      Subject: "keyrot: rotating ci's key failed at testSecret",
      MessageAttributes: {
        kind: { DataType: 'String', StringValue: 'rotation-failed' },
        severity: { DataType: 'String', StringValue: 'critical' },
        owner: { DataType: 'String', StringValue: 'platform' },
        user: { DataType: 'String', StringValue: 'ci' },
      },
    });
    const email = JSON.parse(input?.Message ?? '{}').email as string;
    expect(email).toContain('Step testSecret of keyrot/ci failed: Access to KMS is not allowed');
    expect(email).toContain('Secrets Manager retries the rotation; it resumes where it stopped.');
    expect(email).toContain('`keyrot rotate --user ci`');
    const emf = lines(stdout).filter((l) => '_aws' in l);
    expect(emf).toContainEqual(expect.objectContaining({ Step: 'testSecret', RotationsFailed: 1 }));
    expect(emf).toContainEqual(expect.objectContaining({ Channel: 'sns', AlertsSent: 1 }));
  });

  it('a failed alert never changes the outcome: the step error is what fails the invocation', async () => {
    vi.stubEnv('ALERT_TOPIC_ARN', TOPIC);
    failingTestSecret();
    sns.on(PublishCommand).rejects(Object.assign(new Error('topic gone'), { name: 'NotFoundException' }));
    const stdout = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const { handler } = await import('../../../functions/rotate.js');
    await expect(
      handler({ Step: 'testSecret', SecretId: 'keyrot/ci', ClientRequestToken: TOKEN }, context),
    ).rejects.toThrow('Access to KMS is not allowed');
    expect(lines(stderr).find((l) => l.message === 'alert not delivered')).toMatchObject({
      kind: 'rotation-failed',
      channel: 'sns',
      error: { name: 'NotFoundException', message: 'topic gone' },
    });
    expect(lines(stdout).filter((l) => '_aws' in l)).toContainEqual(
      expect.objectContaining({ Channel: 'sns', AlertsFailed: 1 }),
    );
  });
});
