import {
  CreateAccessKeyCommand,
  DeleteAccessKeyCommand,
  GetAccessKeyLastUsedCommand,
  IAMClient,
  ListAccessKeysCommand,
} from '@aws-sdk/client-iam';
import type { DescribeSecretCommandOutput, Tag } from '@aws-sdk/client-secrets-manager';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
  TagResourceCommand,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { KeyLimitError, KeyTestError, RotationInProgressError, TargetError } from '../../../lib/errors.js';
import { createSecret, finishSecret, setSecret, testSecret } from '../../../lib/rotation/steps.js';
import { toSnapshot } from '../../../lib/secret/secret.js';
import type { Target } from '../../../lib/targets/port.js';
import { awsError } from '../../helpers/aws-errors.js';
import {
  ARN,
  credential,
  describeOutput,
  fakeTarget,
  keepPutValues,
  mockDeps,
  START,
  TOKEN,
  USER_ARN,
} from '../../helpers/rotation-mocks.js';

const iam = mockClient(IAMClient);
const secrets = mockClient(SecretsManagerClient);
const sts = mockClient(STSClient);
const day = (n: number) => new Date(START.getTime() - n * 86_400_000);
const key = (id: string, status: 'Active' | 'Inactive', age = 10) => ({
  AccessKeyId: id,
  Status: status,
  CreateDate: day(age),
  UserName: 'ci',
});
const writes = () =>
  [
    ...iam.commandCalls(CreateAccessKeyCommand),
    ...iam.commandCalls(DeleteAccessKeyCommand),
    ...secrets.commandCalls(TagResourceCommand),
    ...secrets.commandCalls(PutSecretValueCommand),
    ...secrets.commandCalls(UpdateSecretVersionStageCommand),
  ].length;

beforeEach(() => {
  iam.reset();
  secrets.reset();
  sts.reset();
  iam.on(CreateAccessKeyCommand).resolves({
    AccessKey: {
      AccessKeyId: 'AKIANEW0000000000000',
      SecretAccessKey: 'new-secret',
      UserName: 'ci',
      Status: 'Active',
    },
  });
  keepPutValues(secrets);
  secrets.on(TagResourceCommand).resolves({});
  iam.on(DeleteAccessKeyCommand).resolves({});
  iam.on(GetAccessKeyLastUsedCommand).resolves({ AccessKeyLastUsed: { ServiceName: 'N/A', Region: 'N/A' } });
});

describe('createSecret', () => {
  it('returns the stored version for the token without touching IAM', async () => {
    const { deps } = mockDeps();
    secrets
      .on(DescribeSecretCommand)
      .resolves(describeOutput({ V1: ['AWSCURRENT'], [TOKEN]: ['AWSPENDING'] }));
    secrets
      .on(GetSecretValueCommand, { VersionId: TOKEN })
      .resolves({ SecretString: credential('AKIASTORED0000000000') });
    const result = await createSecret(deps, { secretId: ARN, token: TOKEN });
    expect(result).toMatchObject({ created: false, value: { AccessKeyId: 'AKIASTORED0000000000' } });
    expect(iam.calls()).toHaveLength(0);
  });

  it('creates the key and stores it as AWSPENDING under the token, after recording the intent', async () => {
    const { deps } = mockDeps();
    secrets.on(DescribeSecretCommand).resolves(describeOutput({ V1: ['AWSCURRENT'] }));
    iam.on(ListAccessKeysCommand).resolves({ AccessKeyMetadata: [key('AKIAOLD0000000000000', 'Active')] });
    const result = await createSecret(deps, { secretId: ARN, token: TOKEN });
    expect(result.created).toBe(true);
    expect(secrets).toHaveReceivedCommandWith(TagResourceCommand, {
      SecretId: ARN,
      Tags: [{ Key: 'keyrot:intent', Value: `${TOKEN} ${START.getTime() / 1000} AKIAOLD0000000000000` }],
    });
    expect(secrets).toHaveReceivedCommandWith(PutSecretValueCommand, {
      SecretId: ARN,
      ClientRequestToken: TOKEN,
      VersionStages: ['AWSPENDING'],
      SecretString: JSON.stringify({
        Version: 1,
        AccessKeyId: 'AKIANEW0000000000000',
        SecretAccessKey: 'new-secret',
        UserName: 'ci',
        CreatedAt: START.toISOString(),
      }),
    });
    expect(iam).not.toHaveReceivedCommand(DeleteAccessKeyCommand);
  });

  it('treats a version without a value (Secrets Manager stub) as not stored yet', async () => {
    const { deps } = mockDeps();
    secrets
      .on(DescribeSecretCommand)
      .resolves(describeOutput({ V1: ['AWSCURRENT'], [TOKEN]: ['AWSPENDING'] }));
    iam.on(ListAccessKeysCommand).resolves({ AccessKeyMetadata: [key('AKIAOLD0000000000000', 'Active')] });
    expect((await createSecret(deps, { secretId: ARN, token: TOKEN })).created).toBe(true);
  });

  it('refuses to rotate when both keys are active, deleting nothing', async () => {
    const { deps } = mockDeps();
    secrets.on(DescribeSecretCommand).resolves(describeOutput({ V1: ['AWSCURRENT'] }));
    secrets
      .on(GetSecretValueCommand, { VersionId: 'V1' })
      .resolves({ SecretString: credential('AKIACUR0000000000000') });
    iam.on(ListAccessKeysCommand).resolves({
      AccessKeyMetadata: [key('AKIACUR0000000000000', 'Active'), key('AKIAOTHER00000000000', 'Active')],
    });
    await expect(createSecret(deps, { secretId: ARN, token: TOKEN })).rejects.toThrow(KeyLimitError);
    await expect(createSecret(deps, { secretId: ARN, token: TOKEN })).rejects.toThrow(
      /ci has no free key slot: AKIACUR0000000000000 \(Active\) and AKIAOTHER00000000000 \(Active\)/,
    );
    expect(writes()).toBe(0);
  });

  it('deletes an inactive key held by no version to make room, and never an inactive AWSCURRENT key', async () => {
    const { deps } = mockDeps();
    secrets.on(DescribeSecretCommand).resolves(describeOutput({ V1: ['AWSCURRENT'] }));
    secrets
      .on(GetSecretValueCommand, { VersionId: 'V1' })
      .resolves({ SecretString: credential('AKIACUR0000000000000') });
    iam.on(ListAccessKeysCommand).resolves({
      AccessKeyMetadata: [key('AKIACUR0000000000000', 'Active'), key('AKIAOLD0000000000000', 'Inactive')],
    });
    await createSecret(deps, { secretId: ARN, token: TOKEN });
    expect(iam).toHaveReceivedCommandWith(DeleteAccessKeyCommand, {
      UserName: 'ci',
      AccessKeyId: 'AKIAOLD0000000000000',
    });
    expect(iam).toHaveReceivedCommandTimes(DeleteAccessKeyCommand, 1);

    iam.resetHistory();
    iam.on(ListAccessKeysCommand).resolves({
      AccessKeyMetadata: [key('AKIACUR0000000000000', 'Inactive'), key('AKIAOTHER00000000000', 'Active')],
    });
    await expect(createSecret(deps, { secretId: ARN, token: TOKEN })).rejects.toThrow(KeyLimitError);
    expect(iam).not.toHaveReceivedCommand(DeleteAccessKeyCommand);
  });

  it('loses the race for the token: deletes the key it just made and reports a rotation in progress', async () => {
    const { deps } = mockDeps();
    secrets.on(DescribeSecretCommand).resolves(describeOutput({ V1: ['AWSCURRENT'] }));
    let listed = 0;
    iam.on(ListAccessKeysCommand).callsFake(() => ({
      // Before the key is made, none; the key guard then sees the new key.
      AccessKeyMetadata: listed++ === 0 ? [] : [key('AKIANEW0000000000000', 'Active', 0)],
    }));
    secrets.on(PutSecretValueCommand).rejects(awsError('ResourceExistsException'));
    await expect(createSecret(deps, { secretId: ARN, token: TOKEN })).rejects.toThrow(
      new RotationInProgressError(
        'A rotation of ci is in progress: another process stored its new key first.',
      ),
    );
    expect(iam).toHaveReceivedCommandWith(DeleteAccessKeyCommand, {
      UserName: 'ci',
      AccessKeyId: 'AKIANEW0000000000000',
    });
  });

  it('reports a rotation in progress when IAM refuses a key because another process just made one', async () => {
    const { deps } = mockDeps();
    secrets.on(DescribeSecretCommand).resolves(describeOutput({ V1: ['AWSCURRENT'] }));
    iam.on(ListAccessKeysCommand).resolves({ AccessKeyMetadata: [key('AKIACUR0000000000000', 'Active')] });
    iam.on(CreateAccessKeyCommand).rejects(awsError('LimitExceeded', 409));
    await expect(createSecret(deps, { secretId: ARN, token: TOKEN })).rejects.toBeInstanceOf(
      RotationInProgressError,
    );
    expect(iam).not.toHaveReceivedCommand(DeleteAccessKeyCommand);
    expect(secrets).not.toHaveReceivedCommand(PutSecretValueCommand);
  });

  it('leaves a key an unfinished attempt may still store alone until the attempt is abandoned, then deletes it', async () => {
    // Prepare: an attempt with another token recorded its intent 5 minutes ago and created AKIAORPHAN0000000000.
    const { deps, clock } = mockDeps();
    const intent = {
      token: 'other-token-0000000000000000000000',
      at: new Date(START.getTime() - 5 * 60_000),
      knownKeyIds: ['AKIACUR0000000000000'],
    };
    secrets
      .on(DescribeSecretCommand)
      .resolves(describeOutput({ V1: ['AWSCURRENT'] }, { intent, cutover: 'V1' }));
    secrets
      .on(GetSecretValueCommand, { VersionId: 'V1' })
      .resolves({ SecretString: credential('AKIACUR0000000000000') });
    let keys = [key('AKIACUR0000000000000', 'Active'), key('AKIAORPHAN0000000000', 'Active', 0)];
    iam.on(ListAccessKeysCommand).callsFake(() => ({ AccessKeyMetadata: keys }));
    iam.on(DeleteAccessKeyCommand).callsFake((input: { AccessKeyId?: string }) => {
      keys = keys.filter((k) => k.AccessKeyId !== input.AccessKeyId);
      return {};
    });
    // Act, Assess: 5 minutes in, it may be a live attempt.
    await expect(createSecret(deps, { secretId: ARN, token: TOKEN })).rejects.toThrow(
      /A rotation of ci is in progress: key AKIAORPHAN0000000000 was created 300 s ago and is not stored yet\. If that attempt crashed, keyrot deletes the key once the attempt is 15 minutes old/,
    );
    expect(writes()).toBe(0);
    // 15 minutes in, it is abandoned: its key was never stored, so nobody can be using it.
    await clock.sleep(10 * 60_000);
    await createSecret(deps, { secretId: ARN, token: TOKEN });
    expect(iam).toHaveReceivedCommandWith(DeleteAccessKeyCommand, {
      UserName: 'ci',
      AccessKeyId: 'AKIAORPHAN0000000000',
    });
    expect(iam).toHaveReceivedCommandTimes(DeleteAccessKeyCommand, 1);
    expect(iam).toHaveReceivedCommandTimes(CreateAccessKeyCommand, 1);
  });

  it.each([
    ['AWSCURRENT', { V1: ['AWSPREVIOUS'], T1: ['AWSCURRENT'] }],
    ['AWSPENDING', { V1: ['AWSCURRENT'], T1: ['AWSPENDING'] }],
    ['AWSPREVIOUS', { V1: ['AWSCURRENT'], T1: ['AWSPREVIOUS'] }],
  ])(
    'never takes a key %s holds for an unstored attempt’s key, though the intent did not know it',
    async (_stage, versions) => {
      // Prepare: attempt T1 recorded its intent 5 minutes ago (knowing AKIAOLD), made AKIAMADE and
      // stored it under T1; its cut-over was never recorded. Another token now runs createSecret.
      const { deps } = mockDeps();
      const intent = {
        token: 'T1',
        at: new Date(START.getTime() - 5 * 60_000),
        knownKeyIds: ['AKIAOLD0000000000000'],
      };
      secrets.on(DescribeSecretCommand).resolves(describeOutput(versions, { intent, cutover: 'V1' }));
      secrets
        .on(GetSecretValueCommand, { VersionId: 'V1' })
        .resolves({ SecretString: credential('AKIAOLD0000000000000') });
      secrets
        .on(GetSecretValueCommand, { VersionId: 'T1' })
        .resolves({ SecretString: credential('AKIAMADE000000000000') });
      iam.on(ListAccessKeysCommand).resolves({
        AccessKeyMetadata: [
          key('AKIAOLD0000000000000', 'Active', 20),
          key('AKIAMADE000000000000', 'Active', 0),
        ],
      });
      // Act, Assess: the held key explains itself, so this is not "an attempt in progress"; with both
      // keys active there is simply no free slot.
      const error = await createSecret(deps, { secretId: ARN, token: TOKEN }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(KeyLimitError);
      expect(iam).not.toHaveReceivedCommand(DeleteAccessKeyCommand);
      expect(writes()).toBe(0);
    },
  );

  it('never treats keys as orphans once the rotation that recorded the intent finished (a key added by hand)', async () => {
    const { deps, clock } = mockDeps();
    await clock.sleep(86_400_000);
    const intent = { token: 'V1', at: START, knownKeyIds: ['AKIAPRE0000000000000'] };
    secrets
      .on(DescribeSecretCommand)
      .resolves(describeOutput({ V1: ['AWSCURRENT'] }, { intent, cutover: 'V1' }));
    secrets
      .on(GetSecretValueCommand, { VersionId: 'V1' })
      .resolves({ SecretString: credential('AKIACUR0000000000000') });
    iam.on(ListAccessKeysCommand).resolves({
      AccessKeyMetadata: [key('AKIACUR0000000000000', 'Active'), key('AKIAHAND000000000000', 'Active')],
    });
    await expect(createSecret(deps, { secretId: ARN, token: TOKEN })).rejects.toBeInstanceOf(KeyLimitError);
    expect(writes()).toBe(0);
  });
});

describe('setSecret', () => {
  it('does nothing for a user without targets', async () => {
    const { deps } = mockDeps();
    await setSecret(deps, { secretId: ARN, token: TOKEN, userName: 'ci' });
    expect(secrets.calls()).toHaveLength(0);
  });

  it('pushes the pending key to every target', async () => {
    const [a, b] = [fakeTarget('a'), fakeTarget('b')];
    const { deps } = mockDeps([a.target, b.target]);
    secrets.on(DescribeSecretCommand).resolves(describeOutput({ [TOKEN]: ['AWSPENDING'] }));
    secrets
      .on(GetSecretValueCommand, { SecretId: ARN, VersionId: TOKEN })
      .resolves({ SecretString: credential('AKIANEW0000000000000') });
    await setSecret(deps, { secretId: ARN, token: TOKEN, userName: 'ci' });
    expect([a.pushed, b.pushed]).toEqual([['AKIANEW0000000000000'], ['AKIANEW0000000000000']]);
    // What each target received is recorded on the secret, in one call.
    expect(secrets).toHaveReceivedCommandTimes(TagResourceCommand, 1);
    expect(secrets).toHaveReceivedCommandWith(TagResourceCommand, {
      SecretId: ARN,
      Tags: [
        { Key: 'keyrot:target:a', Value: `AKIANEW0000000000000 ${TOKEN} ${START.toISOString()}` },
        { Key: 'keyrot:target:b', Value: `AKIANEW0000000000000 ${TOKEN} ${START.toISOString()}` },
      ],
    });
  });

  it('names the target that failed and never the secret', async () => {
    const failing = fakeTarget('ci-repo', { push: () => Promise.reject(new Error('HTTP 502')) });
    const { deps } = mockDeps([failing.target]);
    secrets.on(DescribeSecretCommand).resolves(describeOutput({ [TOKEN]: ['AWSPENDING'] }));
    secrets.on(GetSecretValueCommand).resolves({ SecretString: credential('AKIANEW0000000000000') });
    const error = await setSecret(deps, { secretId: ARN, token: TOKEN, userName: 'ci' }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TargetError);
    expect((error as Error).message).toBe(
      'Pushing the new key of ci failed for 1 of 1 target; the old key stays current. The rotation is retried.\n  - fake target "ci-repo": Error: HTTP 502',
    );
    // Nothing was received, so nothing is recorded.
    expect(secrets).toHaveReceivedCommandTimes(TagResourceCommand, 0);
    expect((error as Error).message).not.toContain('secret-of-');
  });
});

describe('setSecret, with the snapshot the caller already read', () => {
  it('reads the targets’ records from that snapshot instead of describing the secret again', async () => {
    const a = fakeTarget('a');
    const { deps } = mockDeps([a.target]);
    const output = describeOutput({ V1: ['AWSCURRENT'], [TOKEN]: ['AWSPENDING'] });
    secrets.on(DescribeSecretCommand).resolves(output);
    secrets.on(GetSecretValueCommand).resolves({ SecretString: credential('AKIANEW0000000000000') });
    await setSecret(deps, { secretId: ARN, token: TOKEN, userName: 'ci' });
    const withoutSnapshot = secrets.commandCalls(DescribeSecretCommand).length;
    secrets.resetHistory();
    await setSecret(deps, { secretId: ARN, token: TOKEN, userName: 'ci', snapshot: toSnapshot(output) });
    expect(secrets.commandCalls(DescribeSecretCommand).length).toBe(withoutSnapshot - 1);
    expect(a.pushed).toEqual(['AKIANEW0000000000000', 'AKIANEW0000000000000']);
  });
});

describe('testSecret', () => {
  const pending = JSON.parse(credential('AKIANEW0000000000000'));

  it('rides out IAM eventual consistency: keeps asking STS with backoff until the key is accepted', async () => {
    const { deps, clock } = mockDeps();
    sts
      .on(GetCallerIdentityCommand)
      .rejectsOnce(awsError('InvalidClientTokenId', 403))
      .rejectsOnce(awsError('InvalidClientTokenId', 403))
      .rejectsOnce(awsError('InvalidClientTokenId', 403))
      .resolves({ Arn: USER_ARN });
    const result = await testSecret(deps, { secretId: ARN, token: TOKEN, pending, userArn: USER_ARN });
    expect(result).toEqual({ attempts: 4 });
    expect((clock as unknown as { sleeps: number[] }).sleeps).toEqual([1000, 2000, 4000]);
  });

  it('fails after the propagation timeout when the key never proves itself, checking the ARN and not just success', async () => {
    const { deps } = mockDeps([], {
      propagationTimeoutMs: 30_000,
      abandonAfterMs: 1,
      idleDaysBeforeDeactivate: 3,
      deleteAfterDays: 7,
    });
    sts.on(GetCallerIdentityCommand).resolves({ Arn: 'arn:aws:iam::123456789012:user/someone-else' });
    await expect(
      testSecret(deps, { secretId: ARN, token: TOKEN, pending, userArn: USER_ARN }),
    ).rejects.toThrow(
      new KeyTestError(
        `The new key AKIANEW0000000000000 did not authenticate as ${USER_ARN} within 30 s (5 attempts; last: it authenticated as arn:aws:iam::123456789012:user/someone-else). The old key stays current; the rotation is retried.`,
      ),
    );
  });

  it('then has every target verify it holds the key', async () => {
    const good = fakeTarget('good');
    const bad = fakeTarget('bad', { verify: () => Promise.reject(new Error('stale value')) });
    const { deps } = mockDeps([good.target, bad.target]);
    sts.on(GetCallerIdentityCommand).resolves({ Arn: USER_ARN });
    secrets.on(DescribeSecretCommand).resolves(describeOutput({ [TOKEN]: ['AWSPENDING'] }));
    await expect(
      testSecret(deps, { secretId: ARN, token: TOKEN, pending, userArn: USER_ARN }),
    ).rejects.toThrow(
      'Verifying the new key of ci failed for 1 of 2 targets; the old key stays current. The rotation is retried.\n  - fake target "bad": Error: stale value',
    );
    expect(good.verified).toEqual(['AKIANEW0000000000000']);
  });
});

describe('finishSecret', () => {
  it('moves AWSCURRENT from the old version to the token and records the cut-over', async () => {
    const { deps } = mockDeps();
    secrets
      .on(DescribeSecretCommand)
      .resolves(describeOutput({ V1: ['AWSCURRENT'], [TOKEN]: ['AWSPENDING'] }));
    expect(await finishSecret(deps, { secretId: ARN, token: TOKEN })).toEqual({
      moved: true,
      redeployFailures: [],
    });
    expect(secrets).toHaveReceivedCommandWith(UpdateSecretVersionStageCommand, {
      SecretId: ARN,
      VersionStage: 'AWSCURRENT',
      MoveToVersionId: TOKEN,
      RemoveFromVersionId: 'V1',
    });
    expect(secrets).toHaveReceivedCommandWith(TagResourceCommand, {
      Tags: [{ Key: 'keyrot:cutover', Value: `${TOKEN} ${START.toISOString()}` }],
    });
  });

  it('does nothing when the token is current and its cut-over recorded', async () => {
    const { deps } = mockDeps();
    secrets
      .on(DescribeSecretCommand)
      .resolves(describeOutput({ [TOKEN]: ['AWSCURRENT', 'AWSPENDING'] }, { cutover: TOKEN }));
    expect(await finishSecret(deps, { secretId: ARN, token: TOKEN })).toEqual({
      moved: false,
      redeployFailures: [],
    });
    expect(writes()).toBe(0);
  });

  it('accepts that another driver finished first when what it knew of AWSCURRENT was stale', async () => {
    const { deps } = mockDeps();
    const stale = toSnapshot(describeOutput({ V1: ['AWSCURRENT'], [TOKEN]: ['AWSPENDING'] }));
    secrets.on(UpdateSecretVersionStageCommand).rejects(awsError('InvalidParameterException'));
    secrets
      .on(DescribeSecretCommand)
      .resolves(describeOutput({ V1: ['AWSPREVIOUS'], [TOKEN]: ['AWSCURRENT'] }, { cutover: TOKEN }));
    expect(await finishSecret(deps, { secretId: ARN, token: TOKEN, snapshot: stale })).toEqual({
      moved: false,
      redeployFailures: [],
    });
    expect(secrets).not.toHaveReceivedCommand(TagResourceCommand);
  });

  it('records no cut-over when AWSCURRENT was not moved to the token after all (a stale RemoveFromVersionId)', async () => {
    // Prepare: the move is refused, and a fresh look shows AWSCURRENT still on another version.
    const { deps } = mockDeps();
    const stale = toSnapshot(describeOutput({ V1: ['AWSCURRENT'], [TOKEN]: ['AWSPENDING'] }));
    secrets.on(UpdateSecretVersionStageCommand).rejects(awsError('InvalidParameterException'));
    secrets
      .on(DescribeSecretCommand)
      .resolves(describeOutput({ V0: ['AWSCURRENT'], V1: ['AWSPREVIOUS'], [TOKEN]: ['AWSPENDING'] }));
    // Act, Assess: the refusal is passed on; nothing says the cut-over happened.
    await expect(finishSecret(deps, { secretId: ARN, token: TOKEN, snapshot: stale })).rejects.toMatchObject({
      name: 'InvalidParameterException',
    });
    expect(secrets).toHaveReceivedCommandWith(DescribeSecretCommand, { SecretId: ARN });
    expect(secrets).not.toHaveReceivedCommand(TagResourceCommand);
  });

  describe('redeploys', () => {
    /** A target with a redeploy; `received` is the version its record on the secret names. */
    const redeploying = (name: string, received: string, fail?: Error) => {
      const calls: string[] = [];
      const target: Target = {
        ...fakeTarget(name).target,
        redeploy: async (ctx) => {
          calls.push(ctx.versionId);
          if (fail) throw fail;
        },
      };
      const tag = {
        Key: `keyrot:target:${name}`,
        Value: `AKIA${name.toUpperCase()} ${received} ${START.toISOString()}`,
      };
      return { target, calls, tag };
    };
    const withTags = (output: DescribeSecretCommandOutput, tags: Tag[]) => ({
      ...output,
      Tags: [...(output.Tags ?? []), ...tags],
    });

    it('triggers the redeploy of each target that received this version, after moving AWSCURRENT', async () => {
      const fresh = redeploying('fresh', TOKEN);
      const behind = redeploying('behind', 'V1');
      const { deps } = mockDeps([fresh.target, behind.target, fakeTarget('plain').target]);
      secrets
        .on(DescribeSecretCommand)
        .resolves(
          withTags(describeOutput({ V1: ['AWSCURRENT'], [TOKEN]: ['AWSPENDING'] }), [fresh.tag, behind.tag]),
        );
      expect(await finishSecret(deps, { secretId: ARN, token: TOKEN })).toEqual({
        moved: true,
        redeployFailures: [],
      });
      expect(fresh.calls).toEqual([TOKEN]);
      // A target whose record names another version did not receive this key: nothing to pick up.
      expect(behind.calls).toEqual([]);
    });

    it('returns a failed redeploy without failing the step: the new key is current, the cut-over recorded', async () => {
      const error = new Error('HTTP 422 from the workflow dispatch');
      const broken = redeploying('broken', TOKEN, error);
      const { deps } = mockDeps([broken.target]);
      secrets
        .on(DescribeSecretCommand)
        .resolves(withTags(describeOutput({ V1: ['AWSCURRENT'], [TOKEN]: ['AWSPENDING'] }), [broken.tag]));
      expect(await finishSecret(deps, { secretId: ARN, token: TOKEN })).toEqual({
        moved: true,
        redeployFailures: [{ targetType: 'fake', targetName: 'broken', accessKeyId: 'AKIABROKEN', error }],
      });
      expect(secrets).toHaveReceivedCommandWith(UpdateSecretVersionStageCommand, { MoveToVersionId: TOKEN });
      expect(secrets).toHaveReceivedCommandWith(TagResourceCommand, {
        Tags: [{ Key: 'keyrot:cutover', Value: `${TOKEN} ${START.toISOString()}` }],
      });
    });

    it('redeploys again when a crash came between the move and the cut-over record, not once it is recorded', async () => {
      const fresh = redeploying('fresh', TOKEN);
      const { deps } = mockDeps([fresh.target]);
      secrets
        .on(DescribeSecretCommand)
        .resolvesOnce(withTags(describeOutput({ [TOKEN]: ['AWSCURRENT'] }), [fresh.tag]))
        .resolves(withTags(describeOutput({ [TOKEN]: ['AWSCURRENT'] }, { cutover: TOKEN }), [fresh.tag]));
      await finishSecret(deps, { secretId: ARN, token: TOKEN });
      await finishSecret(deps, { secretId: ARN, token: TOKEN });
      expect(fresh.calls).toEqual([TOKEN]);
    });
    it('redeploys nothing for a secret without the keyrot:user tag, and still records the cut-over', async () => {
      const fresh = redeploying('fresh', TOKEN);
      const { deps } = mockDeps([fresh.target]);
      secrets
        .on(DescribeSecretCommand)
        .resolves(
          withTags(describeOutput({ V1: ['AWSCURRENT'], [TOKEN]: ['AWSPENDING'] }, { tags: false }), [
            fresh.tag,
          ]),
        );
      expect(await finishSecret(deps, { secretId: ARN, token: TOKEN })).toEqual({
        moved: true,
        redeployFailures: [],
      });
      expect(fresh.calls).toEqual([]);
      expect(secrets).toHaveReceivedCommandWith(TagResourceCommand, {
        Tags: [{ Key: 'keyrot:cutover', Value: `${TOKEN} ${START.toISOString()}` }],
      });
    });
  });

  it('passes on other failures', async () => {
    const { deps } = mockDeps();
    secrets
      .on(DescribeSecretCommand)
      .resolves(describeOutput({ V1: ['AWSCURRENT'], [TOKEN]: ['AWSPENDING'] }));
    secrets.on(UpdateSecretVersionStageCommand).rejects(awsError('InternalServiceError', 500));
    await expect(finishSecret(deps, { secretId: ARN, token: TOKEN })).rejects.toMatchObject({
      name: 'InternalServiceError',
    });
    expect(secrets).not.toHaveReceivedCommand(TagResourceCommand);
    // Only a refused RemoveFromVersionId makes it look again.
    expect(secrets).toHaveReceivedCommandTimes(DescribeSecretCommand, 1);
  });
});
