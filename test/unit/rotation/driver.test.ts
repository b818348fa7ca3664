import { CreateAccessKeyCommand, DeleteAccessKeyCommand, GetUserCommand } from '@aws-sdk/client-iam';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  PutSecretValueCommand,
  TagResourceCommand,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { beforeEach, describe, expect, it } from 'vitest';
import { type Config, defaultConfig } from '../../../lib/config.js';
import { KeyLimitError, NotManagedError, RotationInProgressError } from '../../../lib/errors.js';
import { rotateUser } from '../../../lib/rotation/driver.js';
import { derivedToken, toSnapshot } from '../../../lib/secret/secret.js';
import { awsError } from '../../helpers/aws-errors.js';
import { awsModel, MODEL_SECRET_ARN, MODEL_USER_ARN } from '../../helpers/aws-model.js';
import { fakeTarget, mockDeps, START } from '../../helpers/rotation-mocks.js';

const aws = awsModel();
const config: Config = defaultConfig;
const OLD = 'AKIAOLD0000000000000';
const PRE = 'AKIAPRE0000000000000';
const DAY = 86_400_000;
const ago = (days: number) => new Date(START.getTime() - days * DAY);

beforeEach(() => {
  aws.install();
  aws.state.user = { name: 'ci', arn: MODEL_USER_ARN, path: '/machine/' };
  aws.state.keys = [];
  aws.state.secret = undefined;
  aws.state.nextKey = 1;
  aws.state.failOnce.clear();
});

describe('rotateUser (the local driver)', () => {
  it('onboards a user: creates its secret, stores the new key under the derived token and makes it current', async () => {
    // Prepare
    aws.addKey(PRE, { lastUsed: ago(1) });
    const { deps } = mockDeps();
    // Act
    const result = await rotateUser(deps, config, 'ci');
    // Assess
    expect(aws.iam).toHaveReceivedCommandWith(GetUserCommand, { UserName: 'ci' });
    expect(aws.secrets).toHaveReceivedCommandTimes(CreateSecretCommand, 1);
    expect(aws.secrets).toHaveReceivedCommandWith(CreateSecretCommand, {
      Name: 'keyrot/ci',
      Tags: [
        { Key: 'keyrot:user', Value: 'ci' },
        { Key: 'keyrot:user-arn', Value: MODEL_USER_ARN },
      ],
    });
    const token = aws.secrets.commandCalls(PutSecretValueCommand)[0]?.args[0].input.ClientRequestToken;
    expect(token).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(result).toEqual({
      userName: 'ci',
      secretName: 'keyrot/ci',
      secretArn: MODEL_SECRET_ARN,
      accessKeyId: 'AKIAMODEL00000000001',
      resumed: false,
      onboarded: true,
      testAttempts: 1,
      deletedForRoom: [],
      orphansDeleted: [],
      redeployFailures: [],
    });
    expect(aws.keyAt('AWSCURRENT')).toBe('AKIAMODEL00000000001');
    expect(aws.state.secret?.tags['keyrot:cutover']).toMatch(new RegExp(`^${token} `));
    // The consumer's pre-keyrot key is untouched.
    expect(aws.key(PRE)).toMatchObject({ status: 'Active' });
    expect(aws.iam).not.toHaveReceivedCommand(DeleteAccessKeyCommand);
  });

  it('rotates an onboarded user with the token derived from the secret, leaving the old key AWSPREVIOUS', async () => {
    aws.addKey(OLD);
    aws.addSecret({ V1: [OLD, ['AWSCURRENT']] }, { 'keyrot:cutover': 'V1 2026-05-01T00:00:00.000Z' });
    const token = derivedToken(
      toSnapshot({
        ARN: MODEL_SECRET_ARN,
        Name: 'keyrot/ci',
        VersionIdsToStages: { V1: ['AWSCURRENT'] },
        Tags: [{ Key: 'keyrot:cutover', Value: 'V1 2026-05-01T00:00:00.000Z' }],
        $metadata: {},
      }),
    );
    const { deps } = mockDeps();
    const result = await rotateUser(deps, config, 'ci');
    expect(result).toMatchObject({ resumed: false, onboarded: false, accessKeyId: 'AKIAMODEL00000000001' });
    expect(aws.secrets).not.toHaveReceivedCommand(CreateSecretCommand);
    expect(aws.secrets).toHaveReceivedCommandWith(PutSecretValueCommand, {
      SecretId: MODEL_SECRET_ARN,
      ClientRequestToken: token,
      VersionStages: ['AWSPENDING'],
    });
    expect(aws.secrets).toHaveReceivedCommandWith(UpdateSecretVersionStageCommand, {
      VersionStage: 'AWSCURRENT',
      MoveToVersionId: token,
      RemoveFromVersionId: 'V1',
    });
    expect(aws.stageHolder('AWSCURRENT')).toBe(token);
    expect(aws.keyAt('AWSPREVIOUS')).toBe(OLD);
    expect(aws.key(OLD)).toMatchObject({ status: 'Active' });
  });

  it('resumes an unfinished rotation with its own token, whoever started it', async () => {
    aws.addKey(OLD);
    aws.addKey('AKIAPEND000000000000', { created: START });
    aws.addSecret({ V1: [OLD, ['AWSCURRENT']], T9: ['AKIAPEND000000000000', ['AWSPENDING']] });
    const { deps } = mockDeps();
    const result = await rotateUser(deps, config, 'ci');
    expect(result).toMatchObject({ resumed: true, onboarded: false, accessKeyId: 'AKIAPEND000000000000' });
    expect(aws.iam).not.toHaveReceivedCommand(CreateAccessKeyCommand);
    expect(aws.stageHolder('AWSCURRENT')).toBe('T9');
    expect(aws.state.secret?.tags['keyrot:cutover']).toBe(`T9 ${START.toISOString()}`);
  });

  it('refuses a user outside the machine path, and a user whose name AWS refuses for a secret, changing nothing', async () => {
    aws.state.user = { name: 'ci', arn: 'arn:aws:iam::123456789012:user/people/ci', path: '/people/' };
    const { deps } = mockDeps();
    await expect(rotateUser(deps, config, 'ci')).rejects.toThrow(
      /not a machine user \(IAM path \/people\/\)/,
    );
    aws.state.user = { name: 'ci', arn: 'arn:aws:iam::123456789012:user/machine/c,i', path: '/machine/' };
    await expect(rotateUser(deps, config, 'ci')).rejects.toThrow(NotManagedError);
    await expect(rotateUser(deps, config, 'ci')).rejects.toThrow(
      /keyrot can't manage ci: its path contains ","/,
    );
    expect(aws.secrets).not.toHaveReceivedCommand(CreateSecretCommand);
    expect(aws.iam).not.toHaveReceivedCommand(CreateAccessKeyCommand);
  });

  it('refuses a secret whose tags disagree with IAM', async () => {
    aws.addKey(OLD);
    aws.addSecret(
      { V1: [OLD, ['AWSCURRENT']] },
      { 'keyrot:user-arn': 'arn:aws:iam::123456789012:user/machine/other' },
    );
    const { deps } = mockDeps();
    await expect(rotateUser(deps, config, 'ci')).rejects.toThrow(/does not match IAM/);
    expect(aws.iam).not.toHaveReceivedCommand(CreateAccessKeyCommand);
    expect(aws.secrets).not.toHaveReceivedCommand(TagResourceCommand);
  });

  it('does not onboard a user with no free key slot, leaving no empty secret behind', async () => {
    aws.addKey(OLD, { lastUsed: ago(1) });
    aws.addKey(PRE, { status: 'Inactive', lastUsed: ago(config.policy.idleDaysBeforeDeactivate - 1) });
    const { deps } = mockDeps();
    const error = await rotateUser(deps, config, 'ci').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KeyLimitError);
    expect((error as Error).message).toBe(
      `ci has no free key slot: ${OLD} (Active) and ${PRE} (Inactive). keyrot only deletes an inactive key unused for idleDaysBeforeDeactivate (10) to make room. Deactivate the key no consumer uses, or in an emergency: keyrot rotate --user ci --compromised. Nothing was changed.`,
    );
    expect(aws.state.secret).toBeUndefined();
    expect(aws.state.keys.map((k) => k.id)).toEqual([OLD, PRE]);
  });

  it.each([
    ['unused since idleDaysBeforeDeactivate', { lastUsed: ago(10) }],
    ['never used', {}],
  ])(
    'onboards a user with two keys when the inactive one is %s, deleting it for room',
    async (_what, use) => {
      aws.addKey(OLD, { lastUsed: ago(1) });
      aws.addKey(PRE, { status: 'Inactive', ...use });
      const { deps } = mockDeps();
      const result = await rotateUser(deps, config, 'ci');
      expect(result).toMatchObject({ onboarded: true, deletedForRoom: [PRE] });
      expect(aws.iam).toHaveReceivedCommandWith(DeleteAccessKeyCommand, { UserName: 'ci', AccessKeyId: PRE });
      expect(aws.key(OLD)).toMatchObject({ status: 'Active' });
    },
  );

  it('does not onboard past two active keys, even unused ones', async () => {
    aws.addKey(OLD);
    aws.addKey(PRE);
    const { deps } = mockDeps();
    await expect(rotateUser(deps, config, 'ci')).rejects.toBeInstanceOf(KeyLimitError);
    expect(aws.state.secret).toBeUndefined();
  });

  it('uses the secret another driver onboarded first', async () => {
    aws.addKey(OLD);
    aws.secrets.on(CreateSecretCommand).callsFake(() => {
      aws.addSecret();
      throw awsError('ResourceExistsException');
    });
    const { deps } = mockDeps();
    const result = await rotateUser(deps, config, 'ci');
    expect(result).toMatchObject({ onboarded: false, accessKeyId: 'AKIAMODEL00000000001' });
    expect(aws.keyAt('AWSCURRENT')).toBe('AKIAMODEL00000000001');
  });

  it('passes on any other failure to create the secret, creating no key', async () => {
    aws.addKey(OLD);
    aws.secrets.on(CreateSecretCommand).rejects(awsError('AccessDeniedException'));
    const { deps } = mockDeps();
    await expect(rotateUser(deps, config, 'ci')).rejects.toThrow(/AccessDeniedException/);
    expect(aws.iam).not.toHaveReceivedCommand(CreateAccessKeyCommand);
  });

  it('passes on any other failure to read the secret, onboarding nothing', async () => {
    aws.addKey(OLD);
    aws.secrets.on(DescribeSecretCommand).rejects(awsError('AccessDeniedException'));
    const { deps } = mockDeps();
    await expect(rotateUser(deps, config, 'ci')).rejects.toThrow(/AccessDeniedException/);
    expect(aws.secrets).not.toHaveReceivedCommand(CreateSecretCommand);
    expect(aws.iam).not.toHaveReceivedCommand(CreateAccessKeyCommand);
  });

  it('reports a loser of a race as "in progress", deleting the key it made', async () => {
    aws.addKey(OLD);
    aws.addSecret({ V1: [OLD, ['AWSCURRENT']] }, { 'keyrot:cutover': 'V1 2026-05-01T00:00:00.000Z' });
    aws.secrets.on(PutSecretValueCommand).rejects(awsError('ResourceExistsException'));
    const { deps } = mockDeps();
    await expect(rotateUser(deps, config, 'ci')).rejects.toBeInstanceOf(RotationInProgressError);
    expect(aws.iam).toHaveReceivedCommandWith(DeleteAccessKeyCommand, {
      AccessKeyId: 'AKIAMODEL00000000001',
    });
    expect(aws.state.keys.map((k) => k.id)).toEqual([OLD]);
    expect(aws.keyAt('AWSCURRENT')).toBe(OLD);
  });

  it('resumes after a crash between creating and storing the key: the attempt’s key goes, the consumer’s pre-keyrot key stays', async () => {
    // Prepare: a consumer holds PRE (never used yet, so only the intent tells it from an attempt's key).
    aws.addKey(PRE);
    aws.state.failOnce.set('PutSecretValue', new Error('Task timed out'));
    const { deps, clock } = mockDeps();
    // Act: the first run dies after CreateAccessKey, before the key is stored.
    await expect(rotateUser(deps, config, 'ci')).rejects.toThrow('Task timed out');
    const orphan = 'AKIAMODEL00000000001';
    expect(aws.state.keys.map((k) => k.id)).toEqual([PRE, orphan]);
    const [token, , known] = (aws.state.secret?.tags['keyrot:intent'] ?? '').split(' ');
    expect(known).toBe(PRE);
    // Too early: the attempt may still be alive, so the retry stops and changes nothing.
    await expect(rotateUser(deps, config, 'ci')).rejects.toBeInstanceOf(RotationInProgressError);
    expect(aws.state.keys.map((k) => k.id)).toEqual([PRE, orphan]);
    // Once the attempt is abandoned, the retry cleans up its key and finishes.
    await clock.sleep(15 * 60_000);
    const result = await rotateUser(deps, config, 'ci');
    // Assess
    expect(result).toMatchObject({ orphansDeleted: [orphan], accessKeyId: 'AKIAMODEL00000000002' });
    expect(aws.iam.commandCalls(DeleteAccessKeyCommand).map((c) => c.args[0].input.AccessKeyId)).toEqual([
      orphan,
    ]);
    expect(aws.key(PRE)).toMatchObject({ status: 'Active' });
    expect(aws.stageHolder('AWSCURRENT')).toBe(token);
    expect(aws.keyAt('AWSCURRENT')).toBe('AKIAMODEL00000000002');
    expect(aws.state.keys.map((k) => k.id)).toEqual([PRE, 'AKIAMODEL00000000002']);
  });

  it('records the keys that existed in the intent before it creates a key', async () => {
    aws.addKey(OLD);
    aws.addSecret({ V1: [OLD, ['AWSCURRENT']] }, { 'keyrot:cutover': 'V1 2026-05-01T00:00:00.000Z' });
    const { deps } = mockDeps();
    await rotateUser(deps, config, 'ci');
    const token = aws.stageHolder('AWSCURRENT');
    expect(aws.secrets).toHaveReceivedNthCommandWith(TagResourceCommand, 1, {
      SecretId: MODEL_SECRET_ARN,
      Tags: [{ Key: 'keyrot:intent', Value: `${token} ${START.getTime() / 1000} ${OLD}` }],
    });
    const order = aws.iam
      .calls()
      .map((c) => (c.args[0] as { constructor: { name: string } }).constructor.name);
    expect(order).toContain('CreateAccessKeyCommand');
  });

  it('pushes the new key to the user’s targets, then has them verify it, before the cut-over', async () => {
    aws.addKey(OLD);
    aws.addSecret({ V1: [OLD, ['AWSCURRENT']] }, { 'keyrot:cutover': 'V1 2026-05-01T00:00:00.000Z' });
    const { target, pushed, verified } = fakeTarget('ci-repo');
    const { deps } = mockDeps([target]);
    const result = await rotateUser(deps, config, 'ci');
    expect(pushed).toEqual([result.accessKeyId]);
    expect(verified).toEqual([result.accessKeyId]);
    expect(aws.state.secret?.tags['keyrot:target:ci-repo']).toMatch(new RegExp(`^${result.accessKeyId} `));
  });
});
