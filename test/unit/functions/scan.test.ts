import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  GenerateCredentialReportCommand,
  GetAccountAuthorizationDetailsCommand,
  GetCredentialReportCommand,
  IAMClient,
  ListAccessKeysCommand,
} from '@aws-sdk/client-iam';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  ListSecretsCommand,
  RotateSecretCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import type { Context, ScheduledEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { reportContent } from '../../helpers/credential-report.js';

const iam = mockClient(IAMClient);
const sts = mockClient(STSClient);
const sns = mockClient(SNSClient);
const secrets = mockClient(SecretsManagerClient);

const event = {
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  detail: {},
} as unknown as ScheduledEvent;
const context = {
  functionName: 'keyrot-dev-scan',
  awsRequestId: 'req-1',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:keyrot-dev-scan',
  memoryLimitInMB: '256',
  getRemainingTimeInMillis: () => 60_000,
} as unknown as Context;

function logLines(spy: { mock: { calls: unknown[][] } }): Array<Record<string, unknown>> {
  return spy.mock.calls
    .map((call) => String(call[0]))
    .filter((text) => text.startsWith('{'))
    .map((text) => JSON.parse(text) as Record<string, unknown>);
}

beforeEach(() => {
  iam.reset();
  sts.reset();
  secrets.reset();
  sns.reset();
  // No user is managed yet: the scan reads that once, with ListSecrets.
  secrets.on(ListSecretsCommand).resolves({ SecretList: [] });
  vi.resetModules();
  sts.on(GetCallerIdentityCommand).resolves({ Account: '123456789012' });
  iam.on(GetAccountAuthorizationDetailsCommand).resolves({
    UserDetailList: [
      {
        UserName: 'ci-deploy',
        Path: '/machine/',
        Arn: 'arn:aws:iam::123456789012:user/machine/ci-deploy',
        Tags: [{ Key: 'owner', Value: 'p' }],
      },
    ],
  });
  iam.on(GenerateCredentialReportCommand).resolves({ State: 'COMPLETE' });
  iam.on(GetCredentialReportCommand).resolves({
    Content: reportContent([
      'ci-deploy,arn:aws:iam::123456789012:user/machine/ci-deploy,2020-01-01T00:00:00+00:00,false,N/A,N/A,N/A,false,true,2020-01-01T00:00:00+00:00,2020-02-01T00:00:00+00:00,us-east-1,s3,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A',
    ]),
  });
  iam.on(ListAccessKeysCommand).resolves({
    AccessKeyMetadata: [
      { AccessKeyId: 'AKIASTALE', Status: 'Active', CreateDate: new Date('2020-01-01T00:00:00Z') },
    ],
  });
});

afterEach(() => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
});

describe('scan handler', () => {
  it('plans the account and logs a structured summary with each planned action', async () => {
    // Prepare
    const stdout = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const { handler } = await import('../../../functions/scan.js');
    // Act
    const summary = await handler(event, context);
    // Assess
    expect(summary).toMatchObject({
      accountId: '123456789012',
      users: 1,
      machineUsers: 1,
      keys: 1,
      rotate: 1,
      deleteKey: 0,
    });
    const logs = logLines(stdout);
    expect(logs.find((l) => l.message === 'scan complete')).toMatchObject({
      level: 'INFO',
      function_name: 'keyrot-dev-scan',
      summary: { rotate: 1, accountId: '123456789012' },
    });
    expect(logs.find((l) => l.message === 'planned action')).toMatchObject({
      action: { kind: 'rotate', user: 'ci-deploy', key: { accessKeyId: 'AKIASTALE', slot: 1 } },
    });
    expect(iam).toHaveReceivedCommandWith(ListAccessKeysCommand, { UserName: 'ci-deploy' });
  });

  it('starts a Secrets Manager rotation for each due machine user when the rotate function is configured', async () => {
    vi.stubEnv('ROTATE_FUNCTION_ARN', 'arn:aws:lambda:us-east-1:123456789012:function:keyrot-dev-rotate');
    secrets
      .on(DescribeSecretCommand)
      .rejects(Object.assign(new Error('no secret'), { name: 'ResourceNotFoundException' }));
    secrets.on(CreateSecretCommand).resolves({});
    secrets.on(RotateSecretCommand).resolves({});
    const stdout = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const { handler } = await import('../../../functions/scan.js');
    const summary = await handler(event, context);
    expect(summary).toMatchObject({ rotate: 1, rotationsStarted: 1, rotationsFailed: 0 });
    expect(secrets).toHaveReceivedCommandWith(RotateSecretCommand, {
      SecretId: 'keyrot/ci-deploy',
      RotationLambdaARN: 'arn:aws:lambda:us-east-1:123456789012:function:keyrot-dev-rotate',
    });
    expect(logLines(stdout).find((l) => l.message === 'rotation started')).toMatchObject({
      rotation: { userName: 'ci-deploy', outcome: 'onboarded' },
    });
  });

  it("tells the owner through the alert topic when a rotation can't be started", async () => {
    const topic = 'arn:aws:sns:us-east-1:123456789012:keyrot-dev-alerts';
    vi.stubEnv('ROTATE_FUNCTION_ARN', 'arn:aws:lambda:us-east-1:123456789012:function:keyrot-dev-rotate');
    vi.stubEnv('ALERT_TOPIC_ARN', topic);
    secrets
      .on(DescribeSecretCommand)
      .rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
    sns.on(PublishCommand).resolves({ MessageId: 'm' });
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const { handler } = await import('../../../functions/scan.js');
    expect(await handler(event, context)).toMatchObject({
      rotationsFailed: 1,
      alerts: { alerts: 1, sent: 1, deduplicated: 0, failed: 0 },
    });
    expect(sns).toHaveReceivedCommandWith(PublishCommand, {
      TopicArn: topic,
      MessageAttributes: expect.objectContaining({
        severity: { DataType: 'String', StringValue: 'critical' },
        owner: { DataType: 'String', StringValue: 'p' },
      }),
    });
  });

  it('never fails the scan for an alert it could not send: logs it and counts AlertsFailed', async () => {
    vi.stubEnv('ROTATE_FUNCTION_ARN', 'arn:aws:lambda:us-east-1:123456789012:function:keyrot-dev-rotate');
    vi.stubEnv('ALERT_TOPIC_ARN', 'arn:aws:sns:us-east-1:123456789012:keyrot-dev-alerts');
    vi.stubEnv('AWS_MAX_ATTEMPTS', '1');
    secrets
      .on(DescribeSecretCommand)
      .rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
    sns
      .on(PublishCommand)
      .rejects(Object.assign(new Error('KMS key disabled'), { name: 'KMSDisabledException' }));
    const stdout = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const { handler } = await import('../../../functions/scan.js');
    expect(await handler(event, context)).toMatchObject({
      rotationsFailed: 1,
      alerts: { alerts: 1, sent: 0, failed: 1 },
    });
    const logs = logLines(stdout);
    expect(logLines(stderr).find((l) => l.message === 'alert not delivered')).toMatchObject({
      level: 'ERROR',
      channel: 'sns',
      kind: 'failure',
      error: { name: 'KMSDisabledException', message: 'KMS key disabled' },
    });
    const emf = logs.filter((l) => '_aws' in l);
    expect(emf.find((l) => l.Channel === 'sns' && 'AlertsFailed' in l)).toMatchObject({ AlertsFailed: 1 });
    expect(emf.find((l) => 'StaleKeysFound' in l)).toMatchObject({
      service: 'keyrot',
      StaleKeysFound: 1,
      AlertsFailed: 1,
      OldestMachineKeyAgeDays: expect.any(Number),
    });
  });

  it('only reports when no rotate function is configured', async () => {
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const { handler } = await import('../../../functions/scan.js');
    expect(await handler(event, context)).toMatchObject({ rotate: 1, rotationsStarted: 0 });
    // Only the read of which users keyrot manages: no secret is created or rotated.
    expect(secrets.calls().map((c) => c.args[0].constructor.name)).toEqual(['ListSecretsCommand']);
  });

  it('fails every invocation, changing nothing, when the packaged config is invalid', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'keyrot-'));
    await writeFile(join(dir, 'keyrot.config.json'), '{"policy": {"maxKeyAgeDays": -1}}');
    vi.stubEnv('KEYROT_CONFIG_FILE', join(dir, 'keyrot.config.json'));
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const { handler } = await import('../../../functions/scan.js');
    await expect(handler(event, context)).rejects.toThrow(/policy\.maxKeyAgeDays: -1 is out of range/);
    expect(iam.calls()).toHaveLength(0);
  });

  it('refuses a YAML config: the functions read the JSON that packaging writes', async () => {
    vi.stubEnv('KEYROT_CONFIG_FILE', 'keyrot.config.yaml');
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const { handler } = await import('../../../functions/scan.js');
    await expect(handler(event, context)).rejects.toThrow(
      'KEYROT_CONFIG_FILE is keyrot.config.yaml, but the functions read JSON only.',
    );
    expect(iam.calls()).toHaveLength(0);
  });
});
