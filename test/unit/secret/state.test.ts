import { GetUserCommand, IAMClient, ListAccessKeysCommand } from '@aws-sdk/client-iam';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { NotManagedError } from '../../../lib/errors.js';
import { toSnapshot } from '../../../lib/secret/secret.js';
import {
  assessHealth,
  getIamUser,
  readManagedUser,
  readStages,
  requireMachineUser,
  requireTagsMatchIam,
} from '../../../lib/secret/state.js';
import { awsError } from '../../helpers/aws-errors.js';
import {
  ARN,
  credential,
  describeOutput,
  machineUser,
  START,
  USER_ARN,
} from '../../helpers/rotation-mocks.js';

const iam = mockClient(IAMClient);
const secrets = mockClient(SecretsManagerClient);
const CUR = 'AKIACUR0000000000000';
const clients = { iam: new IAMClient({}), secrets: new SecretsManagerClient({}) };
const config = { machinePath: '/machine/', secretPrefix: 'keyrot/' };
const user = { userName: 'ci', arn: USER_ARN, path: '/machine/' };
const activeKey = (id: string, status: 'Active' | 'Inactive' = 'Active') => ({
  accessKeyId: id,
  status,
  createdAt: START,
});

beforeEach(() => {
  iam.reset();
  secrets.reset();
});

describe('getIamUser', () => {
  it('returns the user as IAM has it', async () => {
    iam.on(GetUserCommand, { UserName: 'ci' }).resolves(machineUser());
    await expect(getIamUser(clients.iam, 'ci')).resolves.toEqual(user);
  });

  it('defaults a user IAM answers without ARN or path to no ARN and the root path', async () => {
    iam.on(GetUserCommand).resolves({ User: undefined });
    await expect(getIamUser(clients.iam, 'ci')).resolves.toEqual({ userName: 'ci', arn: '', path: '/' });
  });

  it.each(['NoSuchEntity', 'NoSuchEntityException'])(
    'turns %s into NotManagedError naming the user',
    async (name) => {
      iam.on(GetUserCommand).rejects(awsError(name, 404));
      const error = await getIamUser(clients.iam, 'ci').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(NotManagedError);
      expect((error as Error).message).toBe(
        'IAM has no user named "ci". Check the name (keyrot plan lists the account\'s users).',
      );
      expect((error as Error).cause).toMatchObject({ name });
    },
  );

  it('passes on any other failure', async () => {
    iam.on(GetUserCommand).rejects(awsError('AccessDenied', 403));
    await expect(getIamUser(clients.iam, 'ci')).rejects.toMatchObject({ name: 'AccessDenied' });
  });
});

describe('requireMachineUser and requireTagsMatchIam', () => {
  it('refuses a user outside the machine path, naming both paths', () => {
    expect(() => requireMachineUser(config, { ...user, path: '/people/' })).toThrow(
      new NotManagedError(
        'ci is not a machine user (IAM path /people/); keyrot only manages users under /machine/.',
      ),
    );
    expect(() => requireMachineUser(config, user)).not.toThrow();
  });

  it('refuses a secret whose tags disagree with IAM, naming each mismatch', () => {
    const snapshot = toSnapshot(describeOutput({}, { tags: false }));
    expect(() => requireTagsMatchIam(snapshot, user)).toThrow(
      new NotManagedError(
        `Secret keyrot/ci does not match IAM (keyrot:user is null, IAM user is ci; keyrot:user-arn is null, IAM says ${USER_ARN}). keyrot changes nothing for it. If the secret is keyrot's, set its tags to what IAM says (aws secretsmanager tag-resource --secret-id keyrot/ci ...); otherwise remove it or change secretPrefix.`,
      ),
    );
    const good = toSnapshot(describeOutput({}));
    expect(() => requireTagsMatchIam(good, user)).not.toThrow();
    expect(() => requireTagsMatchIam(good, { ...user, arn: `${USER_ARN}x` })).toThrow(
      `(keyrot:user-arn is "${USER_ARN}", IAM says ${USER_ARN}x)`,
    );
    expect(() => requireTagsMatchIam(good, { ...user, userName: 'cd' })).toThrow(
      '(keyrot:user is "ci", IAM user is cd)',
    );
  });
});

describe('assessHealth', () => {
  const snapshot = (versions: Record<string, string[]>) => toSnapshot(describeOutput(versions));
  const current = { versionId: 'V1', kind: 'credential' as const, value: JSON.parse(credential(CUR)) };

  it('is healthy with no version yet, or only a first AWSPENDING', () => {
    expect(assessHealth('ci', snapshot({}), {}, [])).toBeUndefined();
    expect(assessHealth('ci', snapshot({ T: ['AWSPENDING'] }), {}, [])).toBeUndefined();
    expect(assessHealth('ci', snapshot({ V0: [] }), {}, [])).toBeUndefined();
  });

  it('names each broken state, with the fix', () => {
    expect(assessHealth('ci', snapshot({ V1: ['AWSPREVIOUS'] }), {}, [])).toEqual({
      reason: 'no-current',
      detail: 'keyrot/ci has no AWSCURRENT version',
      fix: 'keyrot rotate --user ci',
    });
    expect(
      assessHealth(
        'ci',
        snapshot({ V1: ['AWSCURRENT'] }),
        { current: { versionId: 'V1', kind: 'empty' } },
        [],
      ),
    ).toEqual({
      reason: 'current-unreadable',
      detail: 'AWSCURRENT of keyrot/ci (version V1) has no value',
      fix: 'keyrot rotate --user ci',
    });
    expect(
      assessHealth(
        'ci',
        snapshot({ V1: ['AWSCURRENT'] }),
        { current: { versionId: 'V1', kind: 'foreign' } },
        [],
      ),
    ).toMatchObject({
      reason: 'current-unreadable',
      detail: 'AWSCURRENT of keyrot/ci (version V1) does not hold a keyrot credential',
    });
    expect(
      assessHealth(
        'ci',
        snapshot({ V1: ['AWSCURRENT'] }),
        { current: { ...current, value: { ...current.value, UserName: 'other' } } },
        [activeKey(CUR)],
      ),
    ).toEqual({
      reason: 'current-other-user',
      detail: 'AWSCURRENT of keyrot/ci holds a key of other, not ci',
      fix: 'keyrot rotate --user ci',
    });
    expect(
      assessHealth('ci', snapshot({ V1: ['AWSCURRENT'] }), { current }, [activeKey('AKIAOTHER00000000000')]),
    ).toEqual({
      reason: 'current-key-missing',
      detail: `AWSCURRENT of keyrot/ci holds ${CUR}, which IAM does not have`,
      fix: 'keyrot rotate --user ci',
    });
    expect(
      assessHealth('ci', snapshot({ V1: ['AWSCURRENT'] }), { current }, [activeKey(CUR, 'Inactive')]),
    ).toEqual({
      reason: 'current-key-inactive',
      detail: `AWSCURRENT's key ${CUR} is inactive in IAM, so consumers using the secret fail`,
      fix: `aws iam update-access-key --user-name ci --access-key-id ${CUR} --status Active (or keyrot rotate --user ci)`,
    });
    expect(
      assessHealth('ci', snapshot({ V1: ['AWSCURRENT'] }), { current }, [activeKey(CUR)]),
    ).toBeUndefined();
  });
});

describe('readStages', () => {
  it('reads each stage’s version once, even where one version holds two stages', async () => {
    secrets.on(GetSecretValueCommand, { VersionId: 'V2' }).resolves({ SecretString: credential(CUR) });
    secrets
      .on(GetSecretValueCommand, { VersionId: 'V1' })
      .resolves({ SecretString: credential('AKIAOLD0000000000000') });
    const snap = toSnapshot(describeOutput({ V1: ['AWSPREVIOUS'], V2: ['AWSCURRENT', 'AWSPENDING'] }));
    const stages = await readStages(clients.secrets, snap);
    expect(stages.current).toEqual({
      versionId: 'V2',
      kind: 'credential',
      value: JSON.parse(credential(CUR)),
    });
    expect(stages.pending).toBe(stages.current);
    expect(stages.previous).toMatchObject({ versionId: 'V1', kind: 'credential' });
    expect(secrets).toHaveReceivedCommandTimes(GetSecretValueCommand, 2);
    expect(secrets).toHaveReceivedCommandWith(GetSecretValueCommand, { SecretId: ARN, VersionId: 'V2' });
  });

  it('leaves out stages no version holds', async () => {
    const stages = await readStages(clients.secrets, toSnapshot(describeOutput({})));
    expect(stages).toEqual({});
    expect(secrets).not.toHaveReceivedCommand(GetSecretValueCommand);
  });
});

describe('readManagedUser', () => {
  it('reads IAM, then the secret checked against IAM, the stages and the keys', async () => {
    iam.on(GetUserCommand).resolves(machineUser());
    iam
      .on(ListAccessKeysCommand)
      .resolves({ AccessKeyMetadata: [{ AccessKeyId: CUR, Status: 'Active', CreateDate: START }] });
    secrets
      .on(DescribeSecretCommand, { SecretId: 'keyrot/ci' })
      .resolves(describeOutput({ V1: ['AWSCURRENT'] }));
    secrets.on(GetSecretValueCommand).resolves({ SecretString: credential(CUR) });
    const managed = await readManagedUser({ clients }, config, 'ci');
    expect(managed?.user).toEqual(user);
    expect(managed?.keys).toEqual([activeKey(CUR)]);
    expect(managed?.stages.current).toMatchObject({ versionId: 'V1', kind: 'credential' });
    expect(managed).not.toHaveProperty('broken');
  });

  it('says broken, and is undefined without a secret; other failures pass on', async () => {
    iam.on(GetUserCommand).resolves(machineUser());
    iam.on(ListAccessKeysCommand).resolves({ AccessKeyMetadata: [] });
    secrets.on(DescribeSecretCommand).resolves(describeOutput({ V1: ['AWSCURRENT'] }));
    secrets.on(GetSecretValueCommand).resolves({ SecretString: credential(CUR) });
    await expect(readManagedUser({ clients }, config, 'ci')).resolves.toMatchObject({
      broken: { reason: 'current-key-missing' },
    });
    secrets.on(DescribeSecretCommand).rejects(awsError('ResourceNotFoundException'));
    await expect(readManagedUser({ clients }, config, 'ci')).resolves.toBeUndefined();
    secrets.on(DescribeSecretCommand).rejects(awsError('AccessDeniedException'));
    await expect(readManagedUser({ clients }, config, 'ci')).rejects.toMatchObject({
      name: 'AccessDeniedException',
    });
  });

  it('uses a user already read from IAM, and still refuses one outside the machine path', async () => {
    await expect(readManagedUser({ clients }, config, 'ci', { ...user, path: '/' })).rejects.toThrow(
      NotManagedError,
    );
    expect(iam).not.toHaveReceivedCommand(GetUserCommand);
    expect(secrets).not.toHaveReceivedCommand(DescribeSecretCommand);
  });
});
