import {
  CreateAccessKeyCommand,
  CreateUserCommand,
  DeleteAccessKeyCommand,
  DeleteUserCommand,
  IAMClient,
  ListAccessKeysCommand,
} from '@aws-sdk/client-iam';
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  RotateSecretCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { defaultConfig } from '../../../lib/config.js';
import { cleanUp, runSmoke } from '../../../scripts/smoke/smoke.js';
import { awsError } from '../../helpers/aws-errors.js';
import { manualClock } from '../../helpers/clock.js';

const iam = mockClient(IAMClient);
const secrets = mockClient(SecretsManagerClient);
const log: string[] = [];
const deps = () => ({
  clients: {
    iam: new IAMClient({}),
    sts: new STSClient({}),
    secrets: new SecretsManagerClient({}),
    stsWith: () => new STSClient({}),
  },
  clock: manualClock(),
  log: (line: string) => {
    log.push(line);
  },
});
const options = {
  accountId: '123456789012',
  region: 'eu-west-1',
  stage: 'sandbox',
  config: defaultConfig,
  path: '/machine/keyrot-smoke/',
  rotationTimeoutMs: 60_000,
};
const USER = 'keyrot-smoke-0a1b2c3d';

beforeEach(() => {
  iam.reset();
  secrets.reset();
  log.length = 0;
  iam
    .on(ListAccessKeysCommand)
    .resolves({ AccessKeyMetadata: [{ AccessKeyId: 'AKIA1' }, { AccessKeyId: 'AKIA2' }] });
  iam.on(DeleteAccessKeyCommand).resolves({});
  iam.on(DeleteUserCommand).resolves({});
  secrets.on(DeleteSecretCommand).resolves({});
});

describe('smoke test clean-up', () => {
  it('deletes the secret at once, every key of the user, then the user', async () => {
    // Act
    const leftovers = await cleanUp(deps(), { userName: USER, secretName: `keyrot/${USER}` });
    // Assess
    expect(leftovers).toEqual([]);
    expect(secrets).toHaveReceivedCommandWith(DeleteSecretCommand, {
      SecretId: `keyrot/${USER}`,
      ForceDeleteWithoutRecovery: true,
    });
    expect(iam.commandCalls(DeleteAccessKeyCommand).map((c) => c.args[0].input)).toEqual([
      { UserName: USER, AccessKeyId: 'AKIA1' },
      { UserName: USER, AccessKeyId: 'AKIA2' },
    ]);
    expect(iam).toHaveReceivedCommandWith(DeleteUserCommand, { UserName: USER });
    // The user goes last: IAM refuses to delete a user that still has keys.
    const order = iam.calls().map((c) => c.args[0].constructor.name);
    expect(order.at(-1)).toBe('DeleteUserCommand');
  });

  it('goes on after a deletion fails, counts what is already gone as deleted, and names what is left', async () => {
    secrets.on(DeleteSecretCommand).rejects(awsError('AccessDeniedException', 403, 'not allowed'));
    iam.on(DeleteAccessKeyCommand, { AccessKeyId: 'AKIA1' }).rejects(awsError('NoSuchEntity', 404, 'gone'));
    const leftovers = await cleanUp(deps(), { userName: USER, secretName: `keyrot/${USER}` });
    expect(leftovers).toEqual([`delete secret keyrot/${USER} (AccessDeniedException: not allowed)`]);
    expect(iam).toHaveReceivedCommandTimes(DeleteAccessKeyCommand, 2);
    expect(iam).toHaveReceivedCommandWith(DeleteUserCommand, { UserName: USER });
  });

  it('deletes nothing it did not make', async () => {
    expect(await cleanUp(deps(), {})).toEqual([]);
    expect(iam.calls()).toHaveLength(0);
    expect(secrets.calls()).toHaveLength(0);
  });
});

describe('runSmoke', () => {
  it('cleans up everything made so far when a step fails, and reports the failure', async () => {
    // Prepare: the user and its key are made; onboarding is refused.
    iam.on(CreateUserCommand).resolves({
      User: {
        UserName: USER,
        Arn: `arn:aws:iam::123456789012:user/machine/keyrot-smoke/${USER}`,
        Path: '/machine/keyrot-smoke/',
        UserId: 'AIDA',
        CreateDate: new Date(),
      },
    });
    iam.on(CreateAccessKeyCommand).resolves({
      AccessKey: { AccessKeyId: 'AKIA1', SecretAccessKey: 's', UserName: USER, Status: 'Active' },
    });
    secrets.on(CreateSecretCommand).rejects(awsError('AccessDeniedException', 403, 'no kms:GenerateDataKey'));
    // Act
    const report = await runSmoke(deps(), options, USER);
    // Assess: steps 3 to 5 never ran; the user, its keys and the secret name were cleaned up.
    expect(report.ok).toBe(false);
    expect(report.steps.map((s) => [s.step.slice(0, 2), s.ok])).toEqual([
      ['1.', true],
      ['2.', false],
      ['6.', true],
    ]);
    expect(report.steps[1]?.detail).toBe('AccessDeniedException: no kms:GenerateDataKey');
    expect(secrets).toHaveReceivedCommandTimes(RotateSecretCommand, 0);
    expect(secrets).toHaveReceivedCommandWith(DeleteSecretCommand, { SecretId: `keyrot/${USER}` });
    expect(iam).toHaveReceivedCommandWith(DeleteUserCommand, { UserName: USER });
    expect(report.leftovers).toEqual([]);
  });

  it('deletes nothing when the user could not even be created', async () => {
    iam.on(CreateUserCommand).rejects(awsError('AccessDenied', 403, 'no iam:CreateUser'));
    const report = await runSmoke(deps(), options, USER);
    expect(report.steps.map((s) => s.ok)).toEqual([false, true]);
    expect(iam).toHaveReceivedCommandTimes(DeleteUserCommand, 0);
    expect(secrets.calls()).toHaveLength(0);
  });

  it('points Secrets Manager at the deployed stage’s rotate function', async () => {
    iam
      .on(CreateUserCommand)
      .resolves({ User: { UserName: USER, Arn: 'arn:x', Path: '/', UserId: 'A', CreateDate: new Date() } });
    iam.on(CreateAccessKeyCommand).resolves({
      AccessKey: { AccessKeyId: 'AKIA1', SecretAccessKey: 's', UserName: USER, Status: 'Active' },
    });
    secrets.on(CreateSecretCommand).resolves({});
    secrets.on(RotateSecretCommand).rejects(awsError('AccessDeniedException', 403, 'stop here'));
    await runSmoke(deps(), options, USER);
    expect(secrets).toHaveReceivedCommandWith(RotateSecretCommand, {
      SecretId: `keyrot/${USER}`,
      RotationLambdaARN: 'arn:aws:lambda:eu-west-1:123456789012:function:keyrot-sandbox-rotate',
      RotationRules: { AutomaticallyAfterDays: 90 },
    });
  });
});
