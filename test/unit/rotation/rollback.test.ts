import { UpdateAccessKeyCommand } from '@aws-sdk/client-iam';
import { TagResourceCommand, UpdateSecretVersionStageCommand } from '@aws-sdk/client-secrets-manager';
import { beforeEach, describe, expect, it } from 'vitest';
import { defaultConfig } from '../../../lib/config.js';
import { BrokenUserError, KeyrotError, NotManagedError } from '../../../lib/errors.js';
import { rollbackUser } from '../../../lib/rotation/rollback.js';
import { awsModel, MODEL_SECRET_ARN, MODEL_USER_ARN } from '../../helpers/aws-model.js';
import { fakeTarget, mockDeps, START } from '../../helpers/rotation-mocks.js';

const aws = awsModel();
const config = defaultConfig;
const NEW = 'AKIANEW0000000000000';
const OLD = 'AKIAOLD0000000000000';
const CUTOVER = (v: string) => ({ 'keyrot:cutover': `${v} 2026-05-01T00:00:00.000Z` });

beforeEach(() => {
  aws.state.user = { name: 'ci', arn: MODEL_USER_ARN, path: '/machine/' };
  aws.state.keys = [];
  aws.state.secret = undefined;
  aws.install();
});

const stageMoves = () =>
  aws.secrets.commandCalls(UpdateSecretVersionStageCommand).map((c) => c.args[0].input);

describe('rollbackUser', () => {
  it('reactivates the previous key, makes it current again, pushes it and records the cut-over', async () => {
    // Prepare
    aws.addKey(OLD, { status: 'Inactive' });
    aws.addKey(NEW, { created: START });
    aws.addSecret(
      { V1: [OLD, ['AWSPREVIOUS']], V2: [NEW, ['AWSCURRENT']] },
      { ...CUTOVER('V2'), [`keyrot:deactivated:${OLD}`]: '2026-05-20T00:00:00.000Z' },
    );
    const { target, pushed } = fakeTarget('ci-target');
    const { deps } = mockDeps([target]);
    // Act
    const result = await rollbackUser(deps, config, 'ci');
    // Assess
    expect(result).toEqual({
      userName: 'ci',
      secretName: 'keyrot/ci',
      restoredKeyId: OLD,
      reactivated: true,
      replacedKeyId: NEW,
      completed: false,
    });
    expect(aws.iam).toHaveReceivedCommandWith(UpdateAccessKeyCommand, {
      UserName: 'ci',
      AccessKeyId: OLD,
      Status: 'Active',
    });
    expect(stageMoves()).toEqual([
      {
        SecretId: MODEL_SECRET_ARN,
        VersionStage: 'AWSCURRENT',
        MoveToVersionId: 'V1',
        RemoveFromVersionId: 'V2',
      },
    ]);
    expect(aws.keyAt('AWSCURRENT')).toBe(OLD);
    expect(aws.keyAt('AWSPREVIOUS')).toBe(NEW);
    expect(pushed).toEqual([OLD]);
    expect(aws.state.secret?.tags['keyrot:cutover']).toBe(`V1 ${START.toISOString()}`);
    // The reserve's lifecycle record is gone with its reactivation.
    expect(aws.state.secret?.tags[`keyrot:deactivated:${OLD}`]).toBeUndefined();
    expect(aws.key(NEW)).toMatchObject({ status: 'Active' });
  });

  it('leaves an active previous key as it is, and detaches AWSPENDING from the version it demotes', async () => {
    aws.addKey(OLD);
    aws.addKey(NEW, { created: START });
    aws.addSecret({ V1: [OLD, ['AWSPREVIOUS']], V2: [NEW, ['AWSCURRENT', 'AWSPENDING']] }, CUTOVER('V2'));
    const { deps } = mockDeps();
    const result = await rollbackUser(deps, config, 'ci');
    expect(result).toMatchObject({ reactivated: false, restoredKeyId: OLD, completed: false });
    expect(aws.iam).not.toHaveReceivedCommand(UpdateAccessKeyCommand);
    expect(stageMoves()).toEqual([
      { SecretId: MODEL_SECRET_ARN, VersionStage: 'AWSPENDING', RemoveFromVersionId: 'V2' },
      {
        SecretId: MODEL_SECRET_ARN,
        VersionStage: 'AWSCURRENT',
        MoveToVersionId: 'V1',
        RemoveFromVersionId: 'V2',
      },
    ]);
    expect(aws.stageHolder('AWSPENDING')).toBeUndefined();
    expect(aws.keyAt('AWSCURRENT')).toBe(OLD);
  });

  it('completes a rollback that moved AWSCURRENT and crashed before recording: pushes again, records, no flip back', async () => {
    // AWSCURRENT is on V1 again, but the cut-over still names V2 (now AWSPREVIOUS).
    aws.addKey(OLD);
    aws.addKey(NEW, { created: START });
    aws.addSecret({ V1: [OLD, ['AWSCURRENT']], V2: [NEW, ['AWSPREVIOUS']] }, CUTOVER('V2'));
    const { target, pushed } = fakeTarget('ci-target');
    const { deps } = mockDeps([target]);
    const result = await rollbackUser(deps, config, 'ci');
    expect(result).toEqual({
      userName: 'ci',
      secretName: 'keyrot/ci',
      restoredKeyId: OLD,
      reactivated: false,
      completed: true,
    });
    expect(stageMoves()).toEqual([]);
    expect(pushed).toEqual([OLD]);
    expect(aws.secrets).toHaveReceivedCommandWith(TagResourceCommand, {
      SecretId: MODEL_SECRET_ARN,
      Tags: [{ Key: 'keyrot:cutover', Value: `V1 ${START.toISOString()}` }],
    });
    expect(aws.keyAt('AWSCURRENT')).toBe(OLD);
  });

  it('flips back when the cut-over names a version that is neither current nor previous', async () => {
    aws.addKey(OLD);
    aws.addKey(NEW, { created: START });
    aws.addSecret({ V1: [OLD, ['AWSPREVIOUS']], V2: [NEW, ['AWSCURRENT']] }, CUTOVER('V0'));
    const { deps } = mockDeps();
    const result = await rollbackUser(deps, config, 'ci');
    expect(result).toMatchObject({ completed: false, restoredKeyId: OLD });
    expect(aws.keyAt('AWSCURRENT')).toBe(OLD);
  });

  it('refuses a user without a secret, naming the secret and what to do', async () => {
    aws.addKey(OLD);
    const { deps } = mockDeps();
    await expect(rollbackUser(deps, config, 'ci')).rejects.toThrow(
      new NotManagedError(
        'ci has no keyrot secret (keyrot/ci), so there is nothing to roll back to. Rotate it first: keyrot rotate --user ci.',
      ),
    );
  });

  it('refuses while a rotation is unfinished, changing nothing', async () => {
    aws.addKey(OLD, { status: 'Inactive' });
    aws.addKey(NEW, { created: START });
    aws.addSecret(
      { V1: [OLD, ['AWSPREVIOUS']], V2: [NEW, ['AWSCURRENT']], T: [NEW, ['AWSPENDING']] },
      CUTOVER('V2'),
    );
    const { deps } = mockDeps();
    await expect(rollbackUser(deps, config, 'ci')).rejects.toThrow(/A rotation of ci is unfinished/);
    expect(aws.iam).not.toHaveReceivedCommand(UpdateAccessKeyCommand);
    expect(stageMoves()).toEqual([]);
  });

  it('refuses a broken user (AWSCURRENT names a key IAM does not have)', async () => {
    aws.addKey(OLD, { status: 'Inactive' });
    aws.addSecret({ V1: [OLD, ['AWSPREVIOUS']], V2: [NEW, ['AWSCURRENT']] }, CUTOVER('V2'));
    const { deps } = mockDeps();
    const error = await rollbackUser(deps, config, 'ci').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BrokenUserError);
    expect((error as Error).message).toMatch(
      /^Can't roll back ci: AWSCURRENT of keyrot\/ci holds AKIANEW\S+, which IAM does not have\. Fix: keyrot rotate --user ci$/,
    );
    expect(aws.iam).not.toHaveReceivedCommand(UpdateAccessKeyCommand);
  });

  it.each([
    [
      'there is no previous version',
      { V2: [NEW, ['AWSCURRENT']] as [string, string[]] },
      /has no previous version to roll back to/,
    ],
    [
      'the previous version is another user’s key',
      {
        V1: ['AKIAOTHER00000000000', ['AWSPREVIOUS']] as [string, string[]],
        V2: [NEW, ['AWSCURRENT']] as [string, string[]],
      },
      /holds no keyrot credential of ci/,
    ],
    [
      'the previous key was deleted',
      { V1: [OLD, ['AWSPREVIOUS']] as [string, string[]], V2: [NEW, ['AWSCURRENT']] as [string, string[]] },
      /the previous key AKIAOLD0000000000000 no longer exists \(retirement deleted it\)/,
    ],
  ])('refuses when %s, changing nothing', async (what, versions, message) => {
    aws.addKey(NEW, { created: START });
    aws.addSecret(versions, CUTOVER('V2'));
    if (what.includes('another user')) {
      const v1 = aws.state.secret?.versions.get('V1');
      if (v1) v1.value = v1.value?.replace('"UserName":"ci"', '"UserName":"other"');
    }
    const { deps } = mockDeps();
    const error = await rollbackUser(deps, config, 'ci').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KeyrotError);
    expect((error as Error).message).toMatch(message);
    expect(aws.iam).not.toHaveReceivedCommand(UpdateAccessKeyCommand);
    expect(stageMoves()).toEqual([]);
    expect(aws.secrets).not.toHaveReceivedCommand(TagResourceCommand);
  });

  it('rolls back a rotation whose cut-over was never recorded', async () => {
    aws.addKey(OLD);
    aws.addKey(NEW, { created: START });
    aws.addSecret({ V1: [OLD, ['AWSPREVIOUS']], V2: [NEW, ['AWSCURRENT']] });
    const { deps } = mockDeps();
    await expect(rollbackUser(deps, config, 'ci')).resolves.toMatchObject({
      restoredKeyId: OLD,
      completed: false,
    });
    expect(aws.keyAt('AWSCURRENT')).toBe(OLD);
  });

  it('refuses a secret with no version at all (its first key never stored), changing nothing', async () => {
    aws.addKey(OLD);
    aws.addSecret({});
    const { deps } = mockDeps();
    const error = await rollbackUser(deps, config, 'ci').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KeyrotError);
    expect((error as Error).message).toBe(
      'keyrot/ci has no AWSCURRENT version: keyrot has not stored a key of ci in it yet, so there is nothing to roll back to. Rotate it: keyrot rotate --user ci.',
    );
    expect(aws.secrets).not.toHaveReceivedCommand(TagResourceCommand);
    expect(aws.secrets).not.toHaveReceivedCommand(UpdateSecretVersionStageCommand);
    expect(aws.state.secret?.versions.size).toBe(0);
    expect(aws.key(OLD)).toMatchObject({ status: 'Active' });
  });

  it('refuses only one stored key with its exact advice, changing nothing', async () => {
    aws.addKey(NEW, { created: START });
    aws.addSecret({ V2: [NEW, ['AWSCURRENT']] }, CUTOVER('V2'));
    const { deps } = mockDeps();
    await expect(rollbackUser(deps, config, 'ci')).rejects.toThrow(
      new KeyrotError(
        'keyrot/ci has no previous version to roll back to: keyrot has stored only one key of ci so far. A key from before keyrot, if the user had one, is unchanged in IAM until retirement takes it out; `keyrot status --user ci` shows the keys.',
      ),
    );
    expect(aws.keyAt('AWSCURRENT')).toBe(NEW);
  });

  it.each([
    ['with a cut-over naming it', CUTOVER('V2')],
    ['with no cut-over recorded', {}],
  ])(
    'refuses AWSPREVIOUS on the AWSCURRENT version itself (a hand edit) %s: nothing flipped, pushed or recorded',
    async (_what, tags) => {
      aws.addKey(OLD);
      aws.addKey(NEW, { created: START });
      aws.addSecret({ V1: [OLD, []], V2: [NEW, ['AWSCURRENT', 'AWSPREVIOUS']] }, tags);
      const { target, pushed } = fakeTarget('ci-target');
      const { deps } = mockDeps([target]);
      const error = await rollbackUser(deps, config, 'ci').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(KeyrotError);
      expect((error as Error).message).toBe(
        'AWSPREVIOUS of keyrot/ci is on its AWSCURRENT version V2 (a hand edit), so no older version is named to roll back to. Put AWSPREVIOUS on the version to restore, then roll back.',
      );
      expect(stageMoves()).toEqual([]);
      expect(pushed).toEqual([]);
      expect(aws.secrets).not.toHaveReceivedCommand(TagResourceCommand);
      expect(aws.state.secret?.versions.get('V2')?.stages).toEqual(['AWSCURRENT', 'AWSPREVIOUS']);
    },
  );

  it('refuses a previous version that holds no keyrot credential', async () => {
    aws.addKey(NEW, { created: START });
    aws.addSecret({ V1: [OLD, ['AWSPREVIOUS']], V2: [NEW, ['AWSCURRENT']] }, CUTOVER('V2'));
    const v1 = aws.state.secret?.versions.get('V1');
    if (v1) v1.value = 'not json';
    const { deps } = mockDeps();
    await expect(rollbackUser(deps, config, 'ci')).rejects.toThrow(
      new KeyrotError(
        'The previous version of keyrot/ci holds no keyrot credential of ci; nothing to roll back to.',
      ),
    );
    expect(stageMoves()).toEqual([]);
  });
});
