import {
  CreateSecretCommand,
  DescribeSecretCommand,
  RotateSecretCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { defaultConfig } from '../../../lib/config.js';
import { plan } from '../../../lib/policy/plan.js';
import { startRotations } from '../../../lib/rotation/start.js';
import { awsError } from '../../helpers/aws-errors.js';
import { daysAgo, inventory, key, NOW, user } from '../../helpers/builders.js';
import { describeOutput } from '../../helpers/rotation-mocks.js';

const secrets = mockClient(SecretsManagerClient);
const LAMBDA = 'arn:aws:lambda:us-east-1:123456789012:function:keyrot-prod-rotate';
const stale = [key({ createdAt: daysAgo(100) })];
const due = (...names: string[]) =>
  plan(
    inventory([
      ...names.map((n) => user({ userName: n, keys: stale })),
      user({ userName: 'alice', path: '/', keys: stale }),
    ]),
    defaultConfig,
    NOW,
  );

beforeEach(() => {
  secrets.reset();
  secrets.on(RotateSecretCommand).resolves({});
  secrets.on(CreateSecretCommand).resolves({});
});

describe('startRotations', () => {
  it('asks Secrets Manager to rotate a due user whose secret has rotation on, and nobody else', async () => {
    secrets.on(DescribeSecretCommand).resolves(describeOutput({ V1: ['AWSCURRENT'] }));
    const results = await startRotations(new SecretsManagerClient({}), due('ci'), defaultConfig, LAMBDA);
    expect(results).toEqual([{ userName: 'ci', secretName: 'keyrot/ci', outcome: 'started' }]);
    expect(secrets).toHaveReceivedCommandTimes(RotateSecretCommand, 1);
    expect(secrets.commandCalls(RotateSecretCommand)[0]?.args[0].input).toEqual({ SecretId: 'keyrot/ci' });
  });

  it('configures rotation on a secret that has none', async () => {
    secrets
      .on(DescribeSecretCommand)
      .resolves(describeOutput({ V1: ['AWSCURRENT'] }, { rotationEnabled: false }));
    await startRotations(new SecretsManagerClient({}), due('ci'), defaultConfig, LAMBDA);
    expect(secrets).toHaveReceivedCommandWith(RotateSecretCommand, {
      SecretId: 'keyrot/ci',
      RotationLambdaARN: LAMBDA,
      RotationRules: { AutomaticallyAfterDays: 90 },
    });
  });

  it('onboards a user without a secret: creates it tagged with the user, then rotates it', async () => {
    secrets.on(DescribeSecretCommand).rejects(awsError('ResourceNotFoundException', 400));
    const results = await startRotations(new SecretsManagerClient({}), due('ci'), defaultConfig, LAMBDA);
    expect(results[0]?.outcome).toBe('onboarded');
    expect(secrets).toHaveReceivedCommandWith(CreateSecretCommand, {
      Name: 'keyrot/ci',
      Tags: [
        { Key: 'keyrot:user', Value: 'ci' },
        { Key: 'keyrot:user-arn', Value: 'arn:aws:iam::123456789012:user/machine/ci' },
      ],
    });
    expect(secrets).toHaveReceivedCommandWith(RotateSecretCommand, {
      SecretId: 'keyrot/ci',
      RotationLambdaARN: LAMBDA,
    });
  });

  it('reports an unfinished rotation as in progress, and carries on past a failure', async () => {
    secrets.on(DescribeSecretCommand).resolves(describeOutput({ V1: ['AWSCURRENT'] }));
    secrets
      .on(RotateSecretCommand, { SecretId: 'keyrot/a' })
      .rejects(
        Object.assign(awsError('InvalidRequestException'), {
          message: "A previous rotation isn't complete. That rotation will be reattempted.",
        }),
      )
      .on(RotateSecretCommand, { SecretId: 'keyrot/b' })
      .rejects(awsError('AccessDeniedException', 403, 'not allowed'))
      .on(RotateSecretCommand, { SecretId: 'keyrot/c' })
      .resolves({});
    const results = await startRotations(
      new SecretsManagerClient({}),
      due('a', 'b', 'c'),
      defaultConfig,
      LAMBDA,
    );
    expect(results).toEqual([
      { userName: 'a', secretName: 'keyrot/a', outcome: 'in-progress' },
      {
        userName: 'b',
        secretName: 'keyrot/b',
        outcome: 'failed',
        error: 'AccessDeniedException: not allowed',
      },
      { userName: 'c', secretName: 'keyrot/c', outcome: 'started' },
    ]);
  });

  it('encrypts a new secret with the configured customer-managed KMS key', async () => {
    secrets.on(DescribeSecretCommand).rejects(awsError('ResourceNotFoundException', 400));
    const config = { ...defaultConfig, secretKmsKeyId: 'alias/keyrot' };
    await startRotations(new SecretsManagerClient({}), due('ci'), config, LAMBDA);
    expect(secrets).toHaveReceivedCommandWith(CreateSecretCommand, {
      Name: 'keyrot/ci',
      KmsKeyId: 'alias/keyrot',
    });
  });
});
