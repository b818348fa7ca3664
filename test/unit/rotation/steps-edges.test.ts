import {
  CreateAccessKeyCommand,
  DeleteAccessKeyCommand,
  GetAccessKeyLastUsedCommand,
  ListAccessKeysCommand,
} from '@aws-sdk/client-iam';
import {
  GetSecretValueCommand,
  PutSecretValueCommand,
  TagResourceCommand,
} from '@aws-sdk/client-secrets-manager';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  BrokenUserError,
  KeyLimitError,
  KeyrotError,
  KeyTestError,
  NotManagedError,
  RotationInProgressError,
} from '../../../lib/errors.js';
import { createSecret, finishSecret, testSecret } from '../../../lib/rotation/steps.js';
import { awsError } from '../../helpers/aws-errors.js';
import { awsModel, credentialOf, MODEL_SECRET_ARN, MODEL_USER_ARN } from '../../helpers/aws-model.js';
import { mockDeps, START } from '../../helpers/rotation-mocks.js';

// The rotation steps at their edges, on the in-memory model (test/helpers/aws-model.ts): what each
// refusal says, what each failure leaves behind, and which failures are passed on.
const aws = awsModel();
const CUR = 'AKIACUR0000000000000';
const OLD = 'AKIAOLD0000000000000';
const T = '11111111-2222-3333-4444-555555555555';
const input = { secretId: MODEL_SECRET_ARN, token: T };
const intentTag = (known: string[], minutesAgo: number, token = 'T0') => ({
  'keyrot:intent': `${token} ${(START.getTime() - minutesAgo * 60_000) / 1000} ${known.join('+') || '-'}`,
});

beforeEach(() => {
  aws.state.user = { name: 'ci', arn: MODEL_USER_ARN, path: '/machine/' };
  aws.state.keys = [];
  aws.state.secret = undefined;
  aws.state.nextKey = 1;
  aws.state.failOnce.clear();
  aws.install();
});

describe('createSecret, at its edges', () => {
  it('refuses a secret without the keyrot:user tag, naming it', async () => {
    aws.addSecret({ V1: [CUR, ['AWSCURRENT']] });
    delete aws.state.secret?.tags['keyrot:user'];
    const { deps } = mockDeps();
    await expect(createSecret(deps, input)).rejects.toThrow(
      new NotManagedError('Secret keyrot/ci has no "keyrot:user" tag, so it is not a keyrot secret.'),
    );
    expect(aws.iam).not.toHaveReceivedCommand(CreateAccessKeyCommand);
  });

  it('reports the abandoned attempt’s key it deleted, then lists the keys again and rotates in the freed slot', async () => {
    aws.addKey(CUR);
    aws.addKey('AKIAORPHAN0000000000', { created: START });
    aws.addSecret(
      { V1: [CUR, ['AWSCURRENT']] },
      { ...intentTag([CUR], 20), 'keyrot:cutover': 'V1 2026-05-01T00:00:00.000Z' },
    );
    const { deps } = mockDeps();
    const result = await createSecret(deps, input);
    expect(result).toMatchObject({
      created: true,
      orphansDeleted: ['AKIAORPHAN0000000000'],
      deletedForRoom: [],
    });
    expect(aws.state.keys.map((k) => k.id)).toEqual([CUR, 'AKIAMODEL00000000001']);
    expect(aws.state.secret?.tags['keyrot:intent']).toBe(`${T} ${START.getTime() / 1000} ${CUR}`);
  });

  it('keeps a key the abandoned attempt made but someone used: it counts as a key, so there is no free slot', async () => {
    aws.addKey(CUR);
    aws.addKey('AKIAUSED000000000000', { created: START, lastUsed: START });
    aws.addSecret(
      { V1: [CUR, ['AWSCURRENT']] },
      { ...intentTag([CUR], 20), 'keyrot:cutover': 'V1 2026-05-01T00:00:00.000Z' },
    );
    const { deps } = mockDeps();
    const error = await createSecret(deps, input).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KeyLimitError);
    expect((error as Error).message).toBe(
      `ci has no free key slot: ${CUR} (Active) and AKIAUSED000000000000 (Active). keyrot only deletes an inactive key to make room, and both are active. Retire the previous key first (keyrot retire deactivates it once nothing uses it), then rotate again.`,
    );
    expect(aws.iam).not.toHaveReceivedCommand(DeleteAccessKeyCommand);
  });

  it('passes on a failure of the clean-up that is not the key guard’s refusal', async () => {
    aws.addKey(CUR);
    aws.addKey('AKIAORPHAN0000000000', { created: START });
    aws.addSecret(
      { V1: [CUR, ['AWSCURRENT']] },
      { ...intentTag([CUR], 20), 'keyrot:cutover': 'V1 2026-05-01T00:00:00.000Z' },
    );
    aws.iam.on(DeleteAccessKeyCommand).rejects(awsError('ServiceFailure', 500));
    const { deps } = mockDeps();
    await expect(createSecret(deps, input)).rejects.toMatchObject({ name: 'ServiceFailure' });
    expect(aws.iam).not.toHaveReceivedCommand(CreateAccessKeyCommand);
  });

  it('says in one KeyLimitError why each inactive key can’t make room', async () => {
    aws.addKey(CUR);
    aws.addKey(OLD, { status: 'Inactive', created: new Date('2025-12-01T00:00:00Z') });
    aws.addSecret(
      { V0: [OLD, ['AWSPREVIOUS']], V1: [CUR, ['AWSCURRENT']] },
      { [`keyrot:deactivated:${OLD}`]: START.toISOString(), 'keyrot:cutover': 'V1 2026-05-01T00:00:00.000Z' },
    );
    const { deps } = mockDeps();
    const error = await createSecret(deps, input).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KeyLimitError);
    expect((error as Error).message).toBe(
      `ci has no free key slot: ${OLD} (Inactive) and ${CUR} (Active). keyrot will not delete ${OLD} of ci: keyrot deactivated it today, and it is kept as the rollback reserve for deleteAfterDays 7 (keyrot rollback --user ci can still bring it back). Wait, or in an emergency: keyrot rotate --user ci --compromised. Nothing was changed.`,
    );
    expect(aws.state.keys).toHaveLength(2);
  });

  it('makes room and creates the key with one key fewer in the intent', async () => {
    aws.addKey(CUR);
    aws.addKey(OLD, { status: 'Inactive', created: new Date('2025-12-01T00:00:00Z') });
    aws.addSecret(
      { V0: [OLD, ['AWSPREVIOUS']], V1: [CUR, ['AWSCURRENT']] },
      { 'keyrot:cutover': 'V1 2026-05-01T00:00:00.000Z' },
    );
    const { deps } = mockDeps();
    const result = await createSecret(deps, input);
    expect(result).toMatchObject({ created: true, deletedForRoom: [OLD], orphansDeleted: [] });
    expect(aws.state.secret?.tags['keyrot:intent']).toBe(`${T} ${START.getTime() / 1000} ${CUR}`);
  });

  it('loses when the token’s version holds another key after the write: deletes its own key at once', async () => {
    aws.addKey(CUR);
    aws.addSecret({ V1: [CUR, ['AWSCURRENT']] }, { 'keyrot:cutover': 'V1 2026-05-01T00:00:00.000Z' });
    aws.secrets
      .on(GetSecretValueCommand, { VersionId: T })
      .resolves({ SecretString: credentialOf('AKIAOTHERPROC0000000') });
    const { deps } = mockDeps();
    const error = await createSecret(deps, input).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RotationInProgressError);
    expect((error as Error).message).toBe(
      'A rotation of ci is in progress: another process stored its new key under the same token.',
    );
    expect(aws.iam).toHaveReceivedCommandWith(DeleteAccessKeyCommand, {
      UserName: 'ci',
      AccessKeyId: 'AKIAMODEL00000000001',
    });
  });

  it('a lost race keeps the refusal’s cause', async () => {
    aws.addKey(CUR);
    aws.addSecret({ V1: [CUR, ['AWSCURRENT']] }, { 'keyrot:cutover': 'V1 2026-05-01T00:00:00.000Z' });
    aws.state.failOnce.set('PutSecretValue', awsError('ResourceExistsException'));
    const { deps } = mockDeps();
    const error = await createSecret(deps, input).catch((e: unknown) => e);
    expect((error as Error).message).toBe(
      'A rotation of ci is in progress: another process stored its new key first.',
    );
    expect((error as Error).cause).toMatchObject({ name: 'ResourceExistsException' });
    expect(aws.state.keys.map((k) => k.id)).toEqual([CUR]);
  });

  it('passes on any other failure to store the key, leaving the key for the abandoned-attempt rule', async () => {
    aws.addKey(CUR);
    aws.addSecret({ V1: [CUR, ['AWSCURRENT']] }, { 'keyrot:cutover': 'V1 2026-05-01T00:00:00.000Z' });
    aws.state.failOnce.set('PutSecretValue', awsError('InternalServiceError', 500));
    const { deps } = mockDeps();
    await expect(createSecret(deps, input)).rejects.toMatchObject({ name: 'InternalServiceError' });
    expect(aws.iam).not.toHaveReceivedCommand(DeleteAccessKeyCommand);
    expect(aws.state.keys).toHaveLength(2);
  });

  it('reports "in progress" when IAM refuses the key for the limit, with IAM’s error as the cause', async () => {
    aws.addKey(CUR);
    aws.addSecret({ V1: [CUR, ['AWSCURRENT']] }, { 'keyrot:cutover': 'V1 2026-05-01T00:00:00.000Z' });
    for (const name of ['LimitExceeded', 'LimitExceededException']) {
      aws.iam.on(CreateAccessKeyCommand).rejects(awsError(name, 409));
      const { deps } = mockDeps();
      const error = await createSecret(deps, input).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RotationInProgressError);
      expect((error as Error).message).toBe(
        'A rotation of ci is in progress: another process created a key just now.',
      );
      expect((error as Error).cause).toMatchObject({ name });
    }
  });

  it('passes on an answered IAM refusal at once, without listing keys again', async () => {
    aws.addKey(CUR);
    aws.addSecret({ V1: [CUR, ['AWSCURRENT']] }, { 'keyrot:cutover': 'V1 2026-05-01T00:00:00.000Z' });
    aws.iam.on(CreateAccessKeyCommand).rejects(awsError('AccessDenied', 403));
    const { deps } = mockDeps();
    await expect(createSecret(deps, input)).rejects.toMatchObject({ name: 'AccessDenied' });
    expect(aws.iam).toHaveReceivedCommandTimes(CreateAccessKeyCommand, 1);
  });

  it('refuses an IAM answer without a key', async () => {
    aws.addKey(CUR);
    aws.addSecret({ V1: [CUR, ['AWSCURRENT']] }, { 'keyrot:cutover': 'V1 2026-05-01T00:00:00.000Z' });
    for (const AccessKey of [undefined, { AccessKeyId: 'AKIAX0000000000000000' }, { SecretAccessKey: 'x' }]) {
      aws.iam.on(CreateAccessKeyCommand).resolves({ AccessKey } as never);
      const { deps } = mockDeps();
      await expect(createSecret(deps, input)).rejects.toThrow(new KeyrotError('IAM returned no key for ci.'));
    }
  });
});

describe('testSecret and finishSecret, at their edges', () => {
  it('refuses to test a token whose version has no value', async () => {
    aws.addSecret({ V1: [CUR, ['AWSCURRENT']] });
    const { deps } = mockDeps();
    await expect(testSecret(deps, { ...input, userArn: MODEL_USER_ARN })).rejects.toThrow(
      new KeyrotError(`Version ${T} of ${MODEL_SECRET_ARN} has no value; run createSecret first.`),
    );
  });

  it('signs with the pending key, and passes on an error that is not about propagation at once', async () => {
    aws.addSecret({ V1: [CUR, ['AWSCURRENT']] });
    const secretVersions = aws.state.secret?.versions;
    secretVersions?.set(T, { value: credentialOf('AKIANEW0000000000000'), stages: ['AWSPENDING'] });
    const seen: unknown[] = [];
    const { deps, clock } = mockDeps();
    const stsWith = deps.clients.stsWith;
    deps.clients.stsWith = (credentials) => {
      seen.push(credentials);
      return stsWith(credentials);
    };
    aws.sts.on(GetCallerIdentityCommand).rejects(new TypeError('a bug'));
    await expect(testSecret(deps, { ...input, userArn: MODEL_USER_ARN })).rejects.toThrow('a bug');
    expect(seen).toEqual([
      { accessKeyId: 'AKIANEW0000000000000', secretAccessKey: 'fake-secret-AKIANEW0000000000000' },
    ]);
    expect(clock.sleeps).toEqual([]);
  });

  it.each([
    ['a timeout', Object.assign(new Error('timed out'), { name: 'TimeoutError' }), 'TimeoutError: timed out'],
    ['a network error', Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }), 'Error: refused'],
    // Named and described the same way whatever the message: "TimeoutError: ", not String()'s "TimeoutError".
    ['a timeout without a message', Object.assign(new Error(''), { name: 'TimeoutError' }), 'TimeoutError: '],
  ])('rides out %s, and says what happened last when it gives up', async (_what, error, last) => {
    aws.addSecret({ V1: [CUR, ['AWSCURRENT']] });
    aws.state.secret?.versions.set(T, {
      value: credentialOf('AKIANEW0000000000000'),
      stages: ['AWSPENDING'],
    });
    aws.sts.on(GetCallerIdentityCommand).rejects(error);
    const { deps, clock } = mockDeps(undefined, {
      propagationTimeoutMs: 7_000,
      abandonAfterMs: 15 * 60_000,
      idleDaysBeforeDeactivate: 3,
      deleteAfterDays: 7,
    });
    await expect(testSecret(deps, { ...input, userArn: MODEL_USER_ARN })).rejects.toThrow(
      new KeyTestError(
        `The new key AKIANEW0000000000000 did not authenticate as ${MODEL_USER_ARN} within 7 s (4 attempts; last: ${last}). The old key stays current; the rotation is retried.`,
      ),
    );
    // 1 s, 2 s, then 4 s reaches the 7 s deadline exactly, which is still allowed; 8 s more is not.
    expect(clock.sleeps).toEqual([1_000, 2_000, 4_000]);
  });

  it('waits up to the deadline exactly, doubling the wait up to 16 s', async () => {
    aws.addSecret({ V1: [CUR, ['AWSCURRENT']] });
    aws.state.secret?.versions.set(T, {
      value: credentialOf('AKIANEW0000000000000'),
      stages: ['AWSPENDING'],
    });
    aws.sts.on(GetCallerIdentityCommand).resolves({ Arn: 'arn:aws:iam::123456789012:user/machine/other' });
    const { deps, clock } = mockDeps(undefined, {
      propagationTimeoutMs: 63_000,
      abandonAfterMs: 15 * 60_000,
      idleDaysBeforeDeactivate: 3,
      deleteAfterDays: 7,
    });
    await expect(testSecret(deps, { ...input, userArn: MODEL_USER_ARN })).rejects.toThrow(
      '(8 attempts; last: it authenticated as arn:aws:iam::123456789012:user/machine/other)',
    );
    expect(clock.sleeps).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 16_000, 16_000]);
    expect(clock.now().getTime() - START.getTime()).toBe(63_000);
  });

  it('finishSecret refuses a token that is not AWSPENDING', async () => {
    aws.addSecret({ V1: [CUR, ['AWSCURRENT']], [T]: [OLD, []] });
    const { deps } = mockDeps();
    await expect(finishSecret(deps, input)).rejects.toThrow(
      new KeyrotError(`Version ${T} of keyrot/ci is not AWSPENDING, so it can't be made current.`),
    );
    await expect(finishSecret(deps, { ...input, token: 'T-missing' })).rejects.toThrow(/is not AWSPENDING/);
    expect(aws.secrets).not.toHaveReceivedCommand(TagResourceCommand);
  });

  it('finishSecret moves AWSCURRENT onto a secret’s first version without RemoveFromVersionId', async () => {
    aws.addSecret({ [T]: [CUR, ['AWSPENDING']] });
    const { deps } = mockDeps();
    await expect(finishSecret(deps, input)).resolves.toEqual({ moved: true, redeployFailures: [] });
    expect(aws.stageHolder('AWSCURRENT')).toBe(T);
    expect(aws.state.secret?.tags['keyrot:cutover']).toBe(`${T} ${START.toISOString()}`);
  });
});

describe('createSecret: an unfinished attempt’s keys, and its own key after a lost race', () => {
  const GONE = 'AKIAGONE000000000000';
  const ORPHAN = 'AKIAORPHAN0000000000';

  it('counts a key the intent knew as explained, even one no version holds (a consumer’s pre-keyrot key)', async () => {
    // The attempt that recorded the intent is a minute old, and its key is not stored yet; the one key
    // there is was known to it, so it is nobody's unstored key: nothing is in progress.
    aws.addKey(OLD);
    aws.addSecret({ V1: [GONE, ['AWSCURRENT']] }, intentTag([OLD], 1));
    const { deps } = mockDeps();
    const result = await createSecret(deps, input);
    expect(result).toMatchObject({ created: true, orphansDeleted: [], deletedForRoom: [] });
    expect(aws.state.keys.map((k) => k.id)).toEqual([OLD, 'AKIAMODEL00000000001']);
    // Nothing was cleaned up, so the keys are not listed again.
    expect(aws.iam).toHaveReceivedCommandTimes(ListAccessKeysCommand, 1);
  });

  it('names every unstored key of an attempt still in progress', async () => {
    aws.addKey('AKIAORPHANA000000000', { created: START });
    aws.addKey('AKIAORPHANB000000000', { created: START });
    aws.addSecret({}, intentTag([], 2));
    const { deps } = mockDeps();
    await expect(createSecret(deps, input)).rejects.toThrow(
      new RotationInProgressError(
        'A rotation of ci is in progress: key AKIAORPHANA000000000, AKIAORPHANB000000000 was created 120 s ago and is not stored yet. If that attempt crashed, keyrot deletes the key once the attempt is 15 minutes old; run again then.',
      ),
    );
    expect(aws.state.keys).toHaveLength(2);
  });

  it('keeps an abandoned attempt’s key that was used, even long ago (an orphan was never used)', async () => {
    aws.addKey(CUR);
    aws.addKey(ORPHAN, {
      created: new Date(START.getTime() - 30 * 86_400_000),
      lastUsed: new Date(START.getTime() - 10 * 86_400_000),
    });
    aws.addSecret(
      { V1: [CUR, ['AWSCURRENT']] },
      { ...intentTag([CUR], 30 * 24 * 60), 'keyrot:cutover': 'V1 2026-05-01T00:00:00.000Z' },
    );
    const { deps } = mockDeps();
    await expect(createSecret(deps, input)).rejects.toBeInstanceOf(KeyLimitError);
    expect(aws.state.keys.map((k) => k.id)).toEqual([CUR, ORPHAN]);
    expect(aws.iam).not.toHaveReceivedCommand(DeleteAccessKeyCommand);
  });

  it('does not report an abandoned key another process deleted first as its own clean-up', async () => {
    aws.addKey(ORPHAN, { created: START });
    aws.addSecret({}, intentTag([], 20));
    // The first listing still shows the key; by the key guard's own listing it is gone.
    let listings = 0;
    aws.iam.on(ListAccessKeysCommand).callsFake(() => {
      listings++;
      return {
        AccessKeyMetadata:
          listings === 1
            ? [{ AccessKeyId: ORPHAN, Status: 'Active', CreateDate: START, UserName: 'ci' }]
            : [],
      };
    });
    aws.state.keys = [];
    const { deps } = mockDeps();
    const result = await createSecret(deps, input);
    expect(result).toMatchObject({ created: true, orphansDeleted: [] });
    expect(aws.iam).not.toHaveReceivedCommand(DeleteAccessKeyCommand);
  });

  it('makes no room on a broken user (AWSCURRENT’s key is gone): it touches none of its keys', async () => {
    aws.addKey(CUR);
    aws.addKey(OLD, { status: 'Inactive', created: new Date('2025-12-01T00:00:00Z') });
    aws.addSecret({ V1: [GONE, ['AWSCURRENT']] }, { 'keyrot:cutover': 'V1 2026-05-01T00:00:00.000Z' });
    const { deps } = mockDeps();
    await expect(createSecret(deps, input)).rejects.toBeInstanceOf(BrokenUserError);
    expect(aws.state.keys.map((k) => k.id)).toEqual([CUR, OLD]);
    expect(aws.iam).not.toHaveReceivedCommand(CreateAccessKeyCommand);
  });

  it('passes on a failure to make room that is not the key guard’s refusal', async () => {
    aws.addKey(CUR);
    aws.addKey(OLD, { status: 'Inactive', created: new Date('2025-12-01T00:00:00Z') });
    aws.addSecret({ V1: [CUR, ['AWSCURRENT']] }, { 'keyrot:cutover': 'V1 2026-05-01T00:00:00.000Z' });
    aws.iam.on(DeleteAccessKeyCommand).rejects(awsError('ServiceFailure', 500));
    const { deps } = mockDeps();
    await expect(createSecret(deps, input)).rejects.toMatchObject({ name: 'ServiceFailure' });
    expect(aws.iam).not.toHaveReceivedCommand(CreateAccessKeyCommand);
  });

  it('says why each of two inactive keys can’t make room', async () => {
    // A secret with no version yet (no current key): one key was used today, the other is the
    // rollback reserve keyrot deactivated today.
    const OLD2 = 'AKIAOLDTWO0000000000';
    aws.addKey(OLD, { status: 'Inactive', created: new Date('2025-12-01T00:00:00Z'), lastUsed: START });
    aws.addKey(OLD2, { status: 'Inactive', created: new Date('2025-12-02T00:00:00Z') });
    aws.addSecret({}, { [`keyrot:deactivated:${OLD2}`]: START.toISOString() });
    const { deps } = mockDeps();
    const error = await createSecret(deps, input).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KeyLimitError);
    expect((error as Error).message).toMatch(
      new RegExp(
        `^ci has no free key slot: ${OLD} \\(Inactive\\) and ${OLD2} \\(Inactive\\)\\. keyrot will not delete ${OLD} of ci: it was used today .*Nothing was changed\\. keyrot will not delete ${OLD2} of ci: keyrot deactivated it today.*Nothing was changed\\.$`,
      ),
    );
    expect(aws.state.keys).toHaveLength(2);
  });

  it('finds nothing under the token after a write that seemed to succeed: deletes its own key', async () => {
    aws.addKey(CUR);
    aws.addSecret({ V1: [CUR, ['AWSCURRENT']] }, { 'keyrot:cutover': 'V1 2026-05-01T00:00:00.000Z' });
    aws.secrets.on(PutSecretValueCommand).resolves({});
    const { deps } = mockDeps();
    await expect(createSecret(deps, input)).rejects.toThrow(
      new RotationInProgressError(
        'A rotation of ci is in progress: another process stored its new key under the same token.',
      ),
    );
    expect(aws.state.keys.map((k) => k.id)).toEqual([CUR]);
  });

  it('after a lost race, keeps its own key when the key guard refuses (someone used it already)', async () => {
    aws.addKey(CUR);
    aws.addSecret({ V1: [CUR, ['AWSCURRENT']] }, { 'keyrot:cutover': 'V1 2026-05-01T00:00:00.000Z' });
    aws.state.failOnce.set('PutSecretValue', awsError('ResourceExistsException'));
    aws.iam.on(GetAccessKeyLastUsedCommand).resolves({
      AccessKeyLastUsed: { LastUsedDate: START, ServiceName: 'sts', Region: 'us-east-1' },
    });
    const { deps } = mockDeps();
    await expect(createSecret(deps, input)).rejects.toThrow(
      new RotationInProgressError(
        'A rotation of ci is in progress: another process stored its new key first.',
      ),
    );
    expect(aws.state.keys.map((k) => k.id)).toEqual([CUR, 'AKIAMODEL00000000001']);
    expect(aws.iam).not.toHaveReceivedCommand(DeleteAccessKeyCommand);
  });

  it('after a lost race, passes on a failure to delete its own key that is not a refusal', async () => {
    aws.addKey(CUR);
    aws.addSecret({ V1: [CUR, ['AWSCURRENT']] }, { 'keyrot:cutover': 'V1 2026-05-01T00:00:00.000Z' });
    aws.state.failOnce.set('PutSecretValue', awsError('ResourceExistsException'));
    aws.iam.on(DeleteAccessKeyCommand).rejects(awsError('ServiceFailure', 500));
    const { deps } = mockDeps();
    await expect(createSecret(deps, input)).rejects.toMatchObject({ name: 'ServiceFailure' });
  });
});

describe('testSecret: what it rides out, what it passes on, and its STS client', () => {
  const pendingNew = () => {
    aws.addSecret({ V1: [CUR, ['AWSCURRENT']] });
    aws.state.secret?.versions.set(T, {
      value: credentialOf('AKIANEW0000000000000'),
      stages: ['AWSPENDING'],
    });
  };
  const shortDeps = () =>
    mockDeps(undefined, {
      propagationTimeoutMs: 1_000,
      abandonAfterMs: 15 * 60_000,
      idleDaysBeforeDeactivate: 3,
      deleteAfterDays: 7,
    });

  it('says "nobody" when STS answers without an ARN', async () => {
    pendingNew();
    aws.sts.on(GetCallerIdentityCommand).resolves({});
    const { deps } = shortDeps();
    await expect(testSecret(deps, { ...input, userArn: MODEL_USER_ARN })).rejects.toThrow(
      '(2 attempts; last: it authenticated as nobody)',
    );
  });

  it.each([
    ['a thrown value that is not an Error, even one shaped like an AWS error', { $metadata: {}, name: 'X' }],
    [
      'a Node error code that is not a network errno (ERR_*)',
      Object.assign(new Error('bad arg'), { code: 'ERR_SOCKET_CLOSED' }),
    ],
    [
      'a Node error code ending like one (ABORT_ERR)',
      Object.assign(new Error('aborted'), { code: 'ABORT_ERR' }),
    ],
  ])('passes on %s at once', async (_what, thrown) => {
    pendingNew();
    const { deps, clock } = shortDeps();
    // A client of its own: the SDK mock turns a thrown non-Error into an Error.
    deps.clients.stsWith = () =>
      ({
        send: async () => {
          throw thrown;
        },
        destroy: () => {},
      }) as unknown as ReturnType<typeof deps.clients.stsWith>;
    const error = await testSecret(deps, { ...input, userArn: MODEL_USER_ARN }).catch((e: unknown) => e);
    expect(error).toBe(thrown);
    expect(clock.sleeps).toEqual([]);
  });

  it('names an AWS error by its error name, not its JavaScript class name', async () => {
    pendingNew();
    aws.sts.on(GetCallerIdentityCommand).rejects(
      Object.assign(new Error('not yet'), {
        name: 'InvalidClientTokenId',
        $metadata: { httpStatusCode: 403 },
      }),
    );
    const { deps } = shortDeps();
    await expect(testSecret(deps, { ...input, userArn: MODEL_USER_ARN })).rejects.toThrow(
      '(2 attempts; last: InvalidClientTokenId: not yet)',
    );
  });

  it('destroys the STS client it made, whether the key proved itself or not', async () => {
    pendingNew();
    const { deps } = shortDeps();
    const destroyed: number[] = [];
    const stsWith = deps.clients.stsWith;
    deps.clients.stsWith = (credentials) => {
      const client = stsWith(credentials);
      client.destroy = () => destroyed.push(1);
      return client;
    };
    await testSecret(deps, { ...input, userArn: MODEL_USER_ARN });
    expect(destroyed).toHaveLength(1);
    aws.sts.on(GetCallerIdentityCommand).resolves({});
    await expect(testSecret(deps, { ...input, userArn: MODEL_USER_ARN })).rejects.toBeInstanceOf(
      KeyTestError,
    );
    expect(destroyed).toHaveLength(2);
  });
});
