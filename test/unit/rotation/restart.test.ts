import { ListAccessKeysCommand } from '@aws-sdk/client-iam';
import { TagResourceCommand, UpdateSecretVersionStageCommand } from '@aws-sdk/client-secrets-manager';
import { beforeEach, describe, expect, it } from 'vitest';
import { type Config, defaultConfig } from '../../../lib/config.js';
import { NotManagedError, RotationInProgressError } from '../../../lib/errors.js';
import { rotateUser } from '../../../lib/rotation/driver.js';
import { restartRotation } from '../../../lib/rotation/restart.js';
import { awsError } from '../../helpers/aws-errors.js';
import {
  awsModel,
  expectNoKeyChanged,
  expectNothingChanged,
  MODEL_SECRET_ARN,
  MODEL_USER_ARN,
  rejectionOf,
} from '../../helpers/aws-model.js';
import { fakeTarget, mockDeps, START } from '../../helpers/rotation-mocks.js';

const aws = awsModel();
const config = defaultConfig;
const OLD = 'AKIAOLD0000000000000';
const NEW = 'AKIANEW0000000000000';
const EARLIER = '2026-05-01T00:00:00.000Z';
const NOW = START.toISOString();

beforeEach(() => {
  aws.install();
  aws.state.user = { name: 'ci', arn: MODEL_USER_ARN, path: '/machine/' };
  aws.state.keys = [];
  aws.state.secret = undefined;
  aws.state.nextKey = 1;
  aws.state.failOnce.clear();
});

/** OLD is AWSCURRENT (V1); an unfinished rotation's AWSPENDING version T holds NEW. */
function stuckRotation() {
  aws.addKey(OLD);
  return aws.addSecret(
    { V1: [OLD, ['AWSCURRENT']], T: [NEW, ['AWSPENDING']] },
    { 'keyrot:cutover': `V1 ${EARLIER}` },
  );
}

const setPendingValue = (value: string | undefined) => {
  const pending = aws.state.secret?.versions.get('T');
  if (pending) pending.value = value;
};
const keys = () => aws.state.keys.map((k) => `${k.id} ${k.status}`);
const stageCalls = () =>
  aws.secrets.commandCalls(UpdateSecretVersionStageCommand).map((c) => c.args[0].input);
const tagCalls = () => aws.secrets.commandCalls(TagResourceCommand).map((c) => c.args[0].input);

describe('restartRotation (keyrot rotate --restart)', () => {
  it.each([
    ['holds no key yet (the stub RotateSecret makes)', undefined, 'it holds no key yet'],
    [
      'holds a key IAM no longer has',
      JSON.stringify({
        Version: 1,
        AccessKeyId: NEW,
        SecretAccessKey: 'x',
        UserName: 'ci',
        CreatedAt: NOW,
      }),
      `its key ${NEW} no longer exists in IAM`,
    ],
    ['holds no keyrot credential', '{"password":"hunter2"}', 'it holds no keyrot credential'],
  ])(
    'cancels a pending version that %s: records it, takes AWSPENDING off, deletes nothing',
    async (_what, value, why) => {
      // Prepare
      stuckRotation();
      setPendingValue(value);
      const { deps } = mockDeps();
      // Act
      const result = await restartRotation(deps, config, 'ci');
      // Assess
      expect(result).toStrictEqual({ cancelledVersion: 'T', why });
      expect(tagCalls()).toEqual([
        { SecretId: MODEL_SECRET_ARN, Tags: [{ Key: 'keyrot:cancelled', Value: `T ${NOW}` }] },
      ]);
      expect(stageCalls()).toEqual([
        { SecretId: MODEL_SECRET_ARN, VersionStage: 'AWSPENDING', RemoveFromVersionId: 'T' },
      ]);
      expect(aws.stageHolder('AWSPENDING')).toBeUndefined();
      expect(aws.keyAt('AWSCURRENT')).toBe(OLD);
      expect(aws.state.secret?.versions.get('T')).toEqual({ value, stages: [] });
      expect(aws.state.secret?.tags['keyrot:cancelled']).toBe(`T ${NOW}`);
      expect(keys()).toEqual([`${OLD} Active`]);
      expectNoKeyChanged(aws);
    },
  );

  it.each([
    ['active', 'Active'],
    ['inactive', 'Inactive'],
  ] as const)(
    'refuses while the pending key exists (%s in IAM): a target may hold it; nothing changes',
    async (_what, status) => {
      stuckRotation();
      aws.addKey(NEW, { created: START, status });
      const { deps } = mockDeps();
      const error = await rejectionOf(restartRotation(deps, config, 'ci'));
      expect(error).toBeInstanceOf(RotationInProgressError);
      expect(error.message).toBe(
        `The unfinished rotation of ci (AWSPENDING version T) holds key ${NEW}, which exists and may already be at a target, so keyrot won't cancel it. Fix what stopped it (the rotate function's log says), then finish it with "keyrot rotate --user ci".`,
      );
      expect(aws.iam).toHaveReceivedCommandWith(ListAccessKeysCommand, { UserName: 'ci' });
      expect(aws.stageHolder('AWSPENDING')).toBe('T');
      expect(keys()).toEqual([`${OLD} Active`, `${NEW} ${status}`]);
      expectNothingChanged(aws);
    },
  );

  it('refuses the first rotation, current but never cut over, while its key exists', async () => {
    aws.addKey(NEW);
    aws.addSecret({ T: [NEW, ['AWSCURRENT', 'AWSPENDING']] });
    const { deps } = mockDeps();
    await expect(restartRotation(deps, config, 'ci')).rejects.toThrow(RotationInProgressError);
    expect(aws.state.secret?.versions.get('T')?.stages).toEqual(['AWSCURRENT', 'AWSPENDING']);
    expectNothingChanged(aws);
  });

  it.each([
    ['no AWSPENDING at all', { V1: [OLD, ['AWSCURRENT']] }],
    [
      'AWSPENDING on the version a finished rotation made current',
      { V0: ['AKIAOLDER00000000000', ['AWSPREVIOUS']], V1: [OLD, ['AWSCURRENT', 'AWSPENDING']] },
    ],
  ] as [string, Record<string, [string, string[]]>][])(
    'with %s, cancels nothing and says so',
    async (_what, versions) => {
      aws.addKey(OLD);
      aws.addSecret(versions, { 'keyrot:cutover': `V1 ${EARLIER}` });
      const { deps } = mockDeps();
      await expect(restartRotation(deps, config, 'ci')).resolves.toStrictEqual({});
      expect(aws.iam).not.toHaveReceivedCommand(ListAccessKeysCommand);
      expectNothingChanged(aws);
    },
  );

  it('converges after a crash between recording the cancellation and taking AWSPENDING off', async () => {
    stuckRotation();
    aws.state.failOnce.set('UpdateSecretVersionStage', awsError('InternalServiceError', 500));
    const { deps } = mockDeps();
    await expect(restartRotation(deps, config, 'ci')).rejects.toThrow(/InternalServiceError/);
    expect(aws.stageHolder('AWSPENDING')).toBe('T');
    expect(aws.state.secret?.tags['keyrot:cancelled']).toBe(`T ${NOW}`);

    await expect(restartRotation(deps, config, 'ci')).resolves.toStrictEqual({
      cancelledVersion: 'T',
      why: `its key ${NEW} no longer exists in IAM`,
    });
    expect(aws.stageHolder('AWSPENDING')).toBeUndefined();
    expect(keys()).toEqual([`${OLD} Active`]);
  });

  it('lets the next rotation make a new key under a new token: the gone key is never pushed to a target', async () => {
    // Prepare: a locally driven rotation stores its key, then a target refuses it; the key is later
    // deleted by hand, so that rotation can never finish.
    aws.addKey(OLD);
    aws.addSecret({ V1: [OLD, ['AWSCURRENT']] }, { 'keyrot:cutover': `V1 ${EARLIER}` });
    let up = false;
    const repo = fakeTarget('repo', {
      push: async () => {
        if (!up) throw new Error('503 Service Unavailable');
      },
    });
    const { deps } = mockDeps([repo.target]);
    const withRepo: Config = {
      ...config,
      users: { ci: { targets: [{ type: 'fake', name: 'repo', options: {} }] } },
    };
    await expect(rotateUser(deps, withRepo, 'ci')).rejects.toThrow(/Pushing the new key of ci failed/);
    const stuckToken = aws.stageHolder('AWSPENDING');
    const goneKey = aws.keyAt('AWSPENDING');
    aws.state.keys = aws.state.keys.filter((k) => k.id !== goneKey);
    up = true;
    // Act: what `keyrot rotate --user ci --restart` does.
    const restart = await restartRotation(deps, withRepo, 'ci');
    const next = await rotateUser(deps, withRepo, 'ci');
    // Assess
    expect(restart).toStrictEqual({
      cancelledVersion: stuckToken,
      why: `its key ${goneKey} no longer exists in IAM`,
    });
    expect(next).toMatchObject({ resumed: false, accessKeyId: 'AKIAMODEL00000000002' });
    expect(aws.stageHolder('AWSCURRENT')).not.toBe(stuckToken);
    expect(aws.keyAt('AWSCURRENT')).toBe('AKIAMODEL00000000002');
    expect(aws.keyAt('AWSPREVIOUS')).toBe(OLD);
    // The refused push of the gone key, then the new key; the gone key never again.
    expect(repo.pushed).toEqual([goneKey, 'AKIAMODEL00000000002']);
    expect(aws.state.secret?.tags['keyrot:target:repo']).toMatch(/^AKIAMODEL00000000002 /);
    expect(keys()).toEqual([`${OLD} Active`, 'AKIAMODEL00000000002 Active']);
  });

  describe('refusals change nothing', () => {
    it('a user outside the machine path', async () => {
      stuckRotation();
      aws.state.user = { name: 'ci', arn: 'arn:aws:iam::123456789012:user/people/ci', path: '/people/' };
      const { deps } = mockDeps();
      const error = await rejectionOf(restartRotation(deps, config, 'ci'));
      expect(error).toBeInstanceOf(NotManagedError);
      expect(error.message).toMatch(/^ci is not a machine user \(IAM path \/people\/\)/);
      expect(aws.stageHolder('AWSPENDING')).toBe('T');
      expectNothingChanged(aws);
    });

    it('a user IAM does not have', async () => {
      stuckRotation();
      const { deps } = mockDeps();
      const error = await rejectionOf(restartRotation(deps, config, 'nobody'));
      expect(error).toBeInstanceOf(NotManagedError);
      expect(error.message).toMatch(/^IAM has no user named "nobody"/);
      expectNothingChanged(aws);
    });

    it('a secret whose keyrot tags disagree with IAM', async () => {
      stuckRotation();
      if (aws.state.secret)
        aws.state.secret.tags['keyrot:user-arn'] = 'arn:aws:iam::123456789012:user/machine/other';
      const { deps } = mockDeps();
      const error = await rejectionOf(restartRotation(deps, config, 'ci'));
      expect(error).toBeInstanceOf(NotManagedError);
      expect(error.message).toMatch(/^Secret keyrot\/ci does not match IAM \(keyrot:user-arn is /);
      expect(aws.stageHolder('AWSPENDING')).toBe('T');
      expectNothingChanged(aws);
    });

    it('a secret it is not allowed to read: the error as AWS gave it', async () => {
      stuckRotation();
      aws.state.failOnce.set('DescribeSecret', awsError('AccessDeniedException', 400));
      const { deps } = mockDeps();
      const error = await rejectionOf(restartRotation(deps, config, 'ci'));
      expect(error.name).toBe('AccessDeniedException');
      expectNothingChanged(aws);
    });

    it('a user without a keyrot secret', async () => {
      aws.addKey(OLD);
      const { deps } = mockDeps();
      const error = await rejectionOf(restartRotation(deps, config, 'ci'));
      expect(error).toBeInstanceOf(NotManagedError);
      expect(error.message).toBe(
        'ci has no keyrot secret (keyrot/ci), so there is no rotation to restart. Rotate it: keyrot rotate --user ci.',
      );
      expectNothingChanged(aws);
    });
  });
});
