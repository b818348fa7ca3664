import { CreateAccessKeyCommand, DeleteAccessKeyCommand } from '@aws-sdk/client-iam';
import {
  DescribeSecretCommand,
  PutSecretValueCommand,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { beforeEach, describe, expect, it } from 'vitest';
import { defaultConfig } from '../../../lib/config.js';
import { NotManagedError } from '../../../lib/errors.js';
import {
  RotationRequestError,
  runRotationStep,
  type StepFailure,
} from '../../../lib/rotation/lambda-step.js';
import { awsModel, MODEL_SECRET_ARN, MODEL_USER_ARN } from '../../helpers/aws-model.js';
import { fakeTarget, mockDeps, START } from '../../helpers/rotation-mocks.js';

// runRotationStep on the in-memory model (test/helpers/aws-model.ts): each step's outcome as the rotate
// function returns it, what it hands the failure callback, and what a refused request leaves alone.
const aws = awsModel();
const CUR = 'AKIACUR0000000000000';
const T = '11111111-2222-3333-4444-555555555555';
const event = (Step: string, token = T) => ({ Step, SecretId: MODEL_SECRET_ARN, ClientRequestToken: token });

let emptyPending: string | undefined;

/**
 * The model's DescribeSecret, with rotation on (Secrets Manager invokes the function only then), and
 * the empty AWSPENDING version RotateSecret makes before createSecret (the model has no value-less
 * versions: it is listed until a value is stored under the token).
 */
function rotationOn() {
  aws.secrets.on(DescribeSecretCommand).callsFake(() => {
    const s = aws.state.secret;
    if (s === undefined) throw new Error('no secret in the model');
    const versions = Object.fromEntries([...s.versions].map(([id, v]) => [id, [...v.stages]]));
    if (emptyPending !== undefined && !s.versions.has(emptyPending)) versions[emptyPending] = ['AWSPENDING'];
    return {
      ARN: s.arn,
      Name: s.name,
      RotationEnabled: true,
      VersionIdsToStages: versions,
      Tags: Object.entries(s.tags).map(([Key, Value]) => ({ Key, Value })),
    };
  });
}

/** RotateSecret's empty AWSPENDING version under the token. */
function pendingVersion(token = T) {
  emptyPending = token;
}

beforeEach(() => {
  aws.state.user = { name: 'ci', arn: MODEL_USER_ARN, path: '/machine/' };
  aws.state.keys = [];
  aws.state.secret = undefined;
  aws.state.nextKey = 1;
  aws.state.failOnce.clear();
  aws.install();
  emptyPending = undefined;
  rotationOn();
});

describe('runRotationStep, each step on the model', () => {
  it('createSecret returns the keys it deleted to make room and the orphans it cleaned up', async () => {
    aws.addKey(CUR);
    aws.addKey('AKIAINACTIVE00000000', { status: 'Inactive' });
    aws.addSecret({ V1: [CUR, ['AWSCURRENT']] });
    pendingVersion();
    const { deps } = mockDeps();
    expect(await runRotationStep(deps, defaultConfig, event('createSecret'))).toEqual({
      step: 'createSecret',
      user: 'ci',
      deletedForRoom: ['AKIAINACTIVE00000000'],
      orphansDeleted: [],
    });
    expect(aws.keyAt('AWSPENDING')).toBe('AKIAMODEL00000000001');
    expect(aws.state.keys.map((k) => k.id)).toEqual([CUR, 'AKIAMODEL00000000001']);
  });

  it('testSecret signs with the pending key and checks it against the ARN IAM gives', async () => {
    aws.addKey(CUR);
    aws.addKey('AKIANEW0000000000000');
    aws.addSecret({ V1: [CUR, ['AWSCURRENT']], [T]: ['AKIANEW0000000000000', ['AWSPENDING']] });
    const { deps } = mockDeps();
    expect(await runRotationStep(deps, defaultConfig, event('testSecret'))).toEqual({
      step: 'testSecret',
      user: 'ci',
    });
    expect(aws.sts).toHaveReceivedCommandTimes(GetCallerIdentityCommand, 1);
    expect(aws.stageHolder('AWSCURRENT')).toBe('V1');
  });

  it('testSecret fails when the pending key authenticates as another identity than IAM’s user', async () => {
    aws.addKey(CUR);
    aws.addKey('AKIANEW0000000000000');
    aws.addSecret({ V1: [CUR, ['AWSCURRENT']], [T]: ['AKIANEW0000000000000', ['AWSPENDING']] });
    aws.sts.on(GetCallerIdentityCommand).resolves({ Arn: 'arn:aws:iam::123456789012:user/machine/other' });
    const { deps } = mockDeps(undefined, {
      propagationTimeoutMs: 1_000,
      abandonAfterMs: 15 * 60_000,
      idleDaysBeforeDeactivate: 3,
      deleteAfterDays: 7,
    });
    await expect(runRotationStep(deps, defaultConfig, event('testSecret'))).rejects.toThrow(
      `did not authenticate as ${MODEL_USER_ARN}`,
    );
  });

  it('setSecret pushes the pending key to the user’s targets', async () => {
    aws.addKey(CUR);
    aws.addKey('AKIANEW0000000000000');
    aws.addSecret({ V1: [CUR, ['AWSCURRENT']], [T]: ['AKIANEW0000000000000', ['AWSPENDING']] });
    const repo = fakeTarget('repo');
    const { deps } = mockDeps([repo.target]);
    const asked: string[] = [];
    deps.targetsFor = (userName) => {
      asked.push(userName);
      return [repo.target];
    };
    expect(await runRotationStep(deps, defaultConfig, event('setSecret'))).toEqual({
      step: 'setSecret',
      user: 'ci',
    });
    expect(repo.pushed).toEqual(['AKIANEW0000000000000']);
    // The user the step asks about is the secret's (IAM's) user.
    expect(new Set(asked)).toEqual(new Set(['ci']));
    expect(aws.state.secret?.tags['keyrot:target:repo']).toBe(
      `AKIANEW0000000000000 ${T} ${START.toISOString()}`,
    );
  });

  it('finishSecret on the pending token moves AWSCURRENT and says so', async () => {
    aws.addKey(CUR);
    aws.addKey('AKIANEW0000000000000');
    aws.addSecret({ V1: [CUR, ['AWSCURRENT']], [T]: ['AKIANEW0000000000000', ['AWSPENDING']] });
    const { deps } = mockDeps();
    expect(await runRotationStep(deps, defaultConfig, event('finishSecret'))).toEqual({
      step: 'finishSecret',
      user: 'ci',
      moved: true,
      redeployFailures: [],
    });
    expect(aws.stageHolder('AWSCURRENT')).toBe(T);
    expect(aws.stageHolder('AWSPREVIOUS')).toBe('V1');
    expect(aws.state.secret?.tags['keyrot:cutover']).toBe(`${T} ${START.toISOString()}`);
  });
});

describe('runRotationStep tells the failure callback about a step that failed, then rethrows', () => {
  it('hands it the step, user, secret name, token and the error itself', async () => {
    aws.addKey(CUR);
    aws.addSecret({ V1: [CUR, ['AWSCURRENT']] });
    pendingVersion();
    const boom = new Error('IAM unreachable');
    aws.state.failOnce.set('ListAccessKeys', boom);
    const failures: StepFailure[] = [];
    const { deps } = mockDeps();
    const error = await runRotationStep(deps, defaultConfig, event('createSecret'), async (f) => {
      failures.push(f);
    }).catch((e: unknown) => e);
    expect(error).toBe(boom);
    expect(failures).toEqual([
      { step: 'createSecret', userName: 'ci', secretName: 'keyrot/ci', token: T, error: boom },
    ]);
    expect(aws.iam).not.toHaveReceivedCommand(CreateAccessKeyCommand);
  });

  it('a user outside the machine path fails the step, reported, before any key is made', async () => {
    aws.state.user = { name: 'ci', arn: MODEL_USER_ARN, path: '/' };
    aws.addKey(CUR);
    aws.addSecret({ V1: [CUR, ['AWSCURRENT']] });
    pendingVersion();
    const failures: StepFailure[] = [];
    const { deps } = mockDeps();
    const error = await runRotationStep(deps, defaultConfig, event('createSecret'), async (f) => {
      failures.push(f);
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotManagedError);
    expect((error as Error).message).toBe(
      'ci is not a machine user (IAM path /); keyrot only manages users under /machine/.',
    );
    expect(failures.map((f) => f.error)).toEqual([error]);
    expect(aws.iam).not.toHaveReceivedCommand(CreateAccessKeyCommand);
    expect(aws.secrets).not.toHaveReceivedCommand(PutSecretValueCommand);
  });

  it('tags that disagree with IAM fail the step, reported, before any stage moves', async () => {
    aws.addKey(CUR);
    aws.addKey('AKIANEW0000000000000');
    aws.addSecret(
      { V1: [CUR, ['AWSCURRENT']], [T]: ['AKIANEW0000000000000', ['AWSPENDING']] },
      { 'keyrot:user-arn': 'arn:aws:iam::123456789012:user/machine/other' },
    );
    const failures: StepFailure[] = [];
    const { deps } = mockDeps();
    await expect(
      runRotationStep(deps, defaultConfig, event('finishSecret'), async (f) => {
        failures.push(f);
      }),
    ).rejects.toThrow(/^Secret keyrot\/ci does not match IAM \(keyrot:user-arn is /);
    expect(failures).toHaveLength(1);
    expect(aws.secrets).not.toHaveReceivedCommand(UpdateSecretVersionStageCommand);
    expect(aws.stageHolder('AWSCURRENT')).toBe('V1');
  });

  it('is not told about a refused request: nothing was accepted', async () => {
    aws.addKey(CUR);
    aws.addSecret({ V1: [CUR, ['AWSCURRENT']] });
    const failures: StepFailure[] = [];
    const { deps } = mockDeps();
    await expect(
      runRotationStep(deps, defaultConfig, event('createSecret'), async (f) => {
        failures.push(f);
      }),
    ).rejects.toBeInstanceOf(RotationRequestError);
    expect(failures).toEqual([]);
    expect(aws.iam).not.toHaveReceivedCommand(CreateAccessKeyCommand);
    expect(aws.iam).not.toHaveReceivedCommand(DeleteAccessKeyCommand);
  });
});

describe('runRotationStep refuses, before reading IAM', () => {
  it.each([
    [{ Step: 'createSecret', SecretId: '', ClientRequestToken: T }, 'The rotation event has no SecretId.'],
    [{ Step: 'createSecret', SecretId: 42, ClientRequestToken: T }, 'The rotation event has no SecretId.'],
    [
      { Step: 'createSecret', SecretId: MODEL_SECRET_ARN, ClientRequestToken: '' },
      'The rotation event has no ClientRequestToken.',
    ],
    [
      { Step: 42, SecretId: MODEL_SECRET_ARN, ClientRequestToken: T },
      'Unknown rotation step 42; expected one of createSecret, setSecret, testSecret, finishSecret.',
    ],
  ])('a malformed event %j', async (raw, message) => {
    const { deps } = mockDeps();
    await expect(runRotationStep(deps, defaultConfig, raw)).rejects.toThrow(
      new RotationRequestError(message),
    );
    expect(aws.secrets.calls()).toHaveLength(0);
  });

  it.each([
    ['without the keyrot:user-arn tag', 'keyrot:user-arn'],
    ['without the keyrot:user tag', 'keyrot:user'],
  ])('a secret %s', async (_, tag) => {
    aws.addKey(CUR);
    aws.addSecret({ V1: [CUR, ['AWSCURRENT']] });
    pendingVersion();
    delete aws.state.secret?.tags[tag];
    const { deps } = mockDeps();
    await expect(runRotationStep(deps, defaultConfig, event('createSecret'))).rejects.toThrow(
      new NotManagedError(
        'Secret keyrot/ci is not a keyrot secret (it needs the prefix "keyrot/" and the tags keyrot:user and keyrot:user-arn); refusing to rotate it.',
      ),
    );
    expect(aws.iam.calls()).toHaveLength(0);
  });

  it('finishSecret on a token no version has', async () => {
    aws.addKey(CUR);
    aws.addSecret({ V1: [CUR, ['AWSCURRENT']] });
    const { deps } = mockDeps();
    const error = await runRotationStep(deps, defaultConfig, event('finishSecret')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RotationRequestError);
    expect((error as Error).name).toBe('RotationRequestError');
    expect((error as Error).message).toBe(
      `Token ${T} is not the pending version of keyrot/ci (its stages: no such version).`,
    );
    expect(aws.secrets).not.toHaveReceivedCommand(UpdateSecretVersionStageCommand);
  });

  it('createSecret on a token that is AWSCURRENT (only finishSecret accepts a replay)', async () => {
    aws.addKey(CUR);
    aws.addSecret({ [T]: [CUR, ['AWSCURRENT']] });
    const { deps } = mockDeps();
    await expect(runRotationStep(deps, defaultConfig, event('createSecret'))).rejects.toThrow(
      new RotationRequestError(
        `Token ${T} is not the pending version of keyrot/ci (its stages: ["AWSCURRENT"]).`,
      ),
    );
    expect(aws.iam.calls()).toHaveLength(0);
  });
});
