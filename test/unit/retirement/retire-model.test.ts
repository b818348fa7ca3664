import {
  DeleteAccessKeyCommand,
  GetAccessKeyLastUsedCommand,
  ListAccessKeysCommand,
  ListUsersCommand,
  UpdateAccessKeyCommand,
} from '@aws-sdk/client-iam';
import { TagResourceCommand, UntagResourceCommand } from '@aws-sdk/client-secrets-manager';
import { beforeEach, describe, expect, it } from 'vitest';
import { defaultConfig } from '../../../lib/config.js';
import {
  machineUserNames,
  machineUsers,
  readRetireState,
  retireUser,
} from '../../../lib/retirement/retire.js';
import { awsError } from '../../helpers/aws-errors.js';
import { awsModel, MODEL_SECRET_ARN, MODEL_USER_ARN } from '../../helpers/aws-model.js';
import { mockDeps, START } from '../../helpers/rotation-mocks.js';

// retireUser end to end on the in-memory model (test/helpers/aws-model.ts): each kind of decision
// carried out exactly, and every refusal leaving the keys as they were.
const aws = awsModel();
const config = defaultConfig;
const NEW = 'AKIANEW0000000000000';
const OLD = 'AKIAOLD0000000000000';
const DAY = 86_400_000;
const later = new Date(START.getTime() + 30 * DAY);
const CUTOVER = { 'keyrot:cutover': 'V2 2026-05-01T00:00:00.000Z' };
const rotated = {
  V1: [OLD, ['AWSPREVIOUS']] as [string, string[]],
  V2: [NEW, ['AWSCURRENT']] as [string, string[]],
};

beforeEach(() => {
  aws.state.user = { name: 'ci', arn: MODEL_USER_ARN, path: '/machine/' };
  aws.state.keys = [];
  aws.state.secret = undefined;
  aws.install();
});

const kinds = (result: Awaited<ReturnType<typeof retireUser>>) =>
  result?.applied.map((d) => `${d.accessKeyId}:${d.kind}`);

describe('retireUser on the model', () => {
  it('deletes a key keyrot deactivated deleteAfterDays ago, and forgets its records', async () => {
    aws.addKey(OLD, { status: 'Inactive' });
    aws.addKey(NEW, { created: START });
    aws.addSecret(rotated, {
      ...CUTOVER,
      [`keyrot:deactivated:${OLD}`]: new Date(later.getTime() - 8 * DAY).toISOString(),
    });
    const { deps } = mockDeps();
    const result = await retireUser(deps, config, 'ci', later);
    expect(kinds(result)).toEqual([`${OLD}:delete`]);
    expect(aws.iam).toHaveReceivedCommandWith(DeleteAccessKeyCommand, { UserName: 'ci', AccessKeyId: OLD });
    expect(aws.state.keys.map((k) => k.id)).toEqual([NEW]);
    expect(aws.state.secret?.tags).not.toHaveProperty(`keyrot:deactivated:${OLD}`);
    expect(aws.state.secret?.tags).not.toHaveProperty(`keyrot:inactive-seen:${OLD}`);
    expect(aws.secrets).not.toHaveReceivedCommand(TagResourceCommand);
  });

  it('deactivates the idle AWSPREVIOUS key once due, keeping the record of when (nothing forgotten)', async () => {
    aws.addKey(OLD);
    aws.addKey(NEW, { created: START });
    aws.addSecret(rotated, CUTOVER);
    const { deps } = mockDeps();
    const result = await retireUser(deps, config, 'ci', later);
    expect(kinds(result)).toEqual([`${OLD}:deactivate`]);
    expect(aws.key(OLD)).toMatchObject({ status: 'Inactive' });
    expect(aws.key(NEW)).toMatchObject({ status: 'Active' });
    expect(aws.state.secret?.tags).toMatchObject({ [`keyrot:deactivated:${OLD}`]: START.toISOString() });
    expect(aws.state.secret?.tags).not.toHaveProperty(`keyrot:inactive-seen:${OLD}`);
    expect(aws.secrets).not.toHaveReceivedCommand(UntagResourceCommand);
  });

  it('fails, changing no key, when a call fails for a reason that is not the key guard’s (not listed as refused)', async () => {
    aws.addKey(OLD);
    aws.addKey(NEW, { created: START });
    aws.addSecret(rotated, CUTOVER);
    aws.state.failOnce.set('TagResource', awsError('ThrottlingException', 400));
    const { deps } = mockDeps();
    await expect(retireUser(deps, config, 'ci', later)).rejects.toMatchObject({
      name: 'ThrottlingException',
    });
    expect(aws.key(OLD)).toMatchObject({ status: 'Active' });
    expect(aws.iam).not.toHaveReceivedCommand(UpdateAccessKeyCommand);
  });

  it('holds a key a target still holds (targets read live through targetViews), changing nothing', async () => {
    aws.addKey(OLD);
    aws.addKey(NEW, { created: START });
    aws.addSecret(rotated, CUTOVER);
    const { deps } = mockDeps();
    const seen: Array<[string, number]> = [];
    const result = await retireUser(
      {
        ...deps,
        targetViews: async (userName, records) => {
          seen.push([userName, records.size]);
          return [{ name: 'deploy', type: 'github', fingerprint: { state: 'holds', accessKeyId: OLD } }];
        },
      },
      config,
      'ci',
      later,
    );
    expect(seen).toEqual([['ci', 0]]);
    expect(result?.state.heldByTargets).toEqual({ [OLD]: ['github target "deploy"'] });
    expect(result?.decisions.find((d) => d.accessKeyId === OLD)?.kind).toBe('hold');
    expect(result?.applied).toEqual([]);
    expect(aws.iam).not.toHaveReceivedCommand(UpdateAccessKeyCommand);
  });

  it('records when it first saw a key someone else deactivated, with the clock’s time', async () => {
    aws.addKey(OLD, { status: 'Inactive' });
    aws.addKey(NEW, { created: START });
    aws.addSecret(rotated, CUTOVER);
    const { deps } = mockDeps();
    const result = await retireUser(deps, config, 'ci', later);
    expect(kinds(result)).toEqual([`${OLD}:record-inactive`]);
    expect(aws.secrets).toHaveReceivedCommandWith(TagResourceCommand, {
      SecretId: MODEL_SECRET_ARN,
      Tags: [{ Key: `keyrot:inactive-seen:${OLD}`, Value: START.toISOString() }],
    });
    expect(aws.iam).not.toHaveReceivedCommand(UpdateAccessKeyCommand);
    expect(aws.iam).not.toHaveReceivedCommand(DeleteAccessKeyCommand);
    expect(aws.secrets).not.toHaveReceivedCommand(UntagResourceCommand);
  });

  it('forgets the records of a key that is gone, touching no key', async () => {
    aws.addKey(NEW, { created: START });
    aws.addSecret(rotated, { ...CUTOVER, [`keyrot:deactivated:${OLD}`]: START.toISOString() });
    const { deps } = mockDeps();
    const result = await retireUser(deps, config, 'ci', later);
    expect(kinds(result)).toEqual([`${OLD}:forget`]);
    expect(aws.secrets).toHaveReceivedCommandWith(UntagResourceCommand, {
      SecretId: MODEL_SECRET_ARN,
      TagKeys: [`keyrot:deactivated:${OLD}`, `keyrot:inactive-seen:${OLD}`],
    });
    expect(aws.iam).not.toHaveReceivedCommand(UpdateAccessKeyCommand);
  });

  it('changes nothing of a broken user, and says why', async () => {
    aws.addKey(OLD);
    aws.addSecret(rotated, CUTOVER);
    const { deps } = mockDeps();
    const result = await retireUser(deps, config, 'ci', later);
    expect(result?.broken).toMatchObject({ reason: 'current-key-missing' });
    expect(result?.applied).toEqual([]);
    expect(aws.iam).not.toHaveReceivedCommand(UpdateAccessKeyCommand);
  });

  it('lists a refusal of the key guard (the key was used between deciding and acting) and goes on', async () => {
    aws.addKey(OLD);
    aws.addKey(NEW, { created: START });
    aws.addSecret(rotated, CUTOVER);
    let reads = 0;
    aws.iam.on(GetAccessKeyLastUsedCommand).callsFake(() => {
      reads++;
      return {
        AccessKeyLastUsed:
          reads === 1
            ? { ServiceName: 'N/A', Region: 'N/A' }
            : { LastUsedDate: later, ServiceName: 's3', Region: 'us-east-1' },
      };
    });
    const { deps } = mockDeps();
    const result = await retireUser(deps, config, 'ci', later);
    expect(result?.applied).toEqual([]);
    expect(result?.refused).toEqual([
      {
        decision: expect.objectContaining({ accessKeyId: OLD, kind: 'deactivate' }),
        reason: expect.stringMatching(
          /^keyrot will not deactivate AKIAOLD0000000000000 of ci: it was used today/,
        ),
      },
    ]);
    expect(aws.key(OLD)).toMatchObject({ status: 'Active' });
  });

  it('stops at once when the user breaks under the run (AWSCURRENT’s key deactivated by hand)', async () => {
    aws.addKey(OLD);
    aws.addKey(NEW, { created: START });
    aws.addSecret(rotated, CUTOVER);
    let lists = 0;
    aws.iam.on(ListAccessKeysCommand).callsFake(() => {
      lists++;
      return {
        AccessKeyMetadata: aws.state.keys.map((k) => ({
          AccessKeyId: k.id,
          Status: lists > 1 && k.id === NEW ? 'Inactive' : k.status,
          CreateDate: k.created,
        })),
      };
    });
    const { deps } = mockDeps();
    const result = await retireUser(deps, config, 'ci', later);
    expect(result?.broken).toMatchObject({ reason: 'current-key-inactive' });
    expect(result?.applied).toEqual([]);
    expect(aws.iam).not.toHaveReceivedCommand(UpdateAccessKeyCommand);
  });

  it('changes nothing of a user onboarded but never rotated (a secret without versions, so no AWSCURRENT)', async () => {
    aws.addKey(OLD);
    aws.addSecret({});
    const { deps } = mockDeps();
    const result = await retireUser(deps, config, 'ci', later);
    expect(result).not.toHaveProperty('broken');
    expect(result?.decisions.map((d) => `${d.accessKeyId}:${d.kind}`)).toEqual([`${OLD}:keep`]);
    expect(result?.state).not.toHaveProperty('currentKeyId');
    expect(result?.state).not.toHaveProperty('cutoverAt');
    expect(result?.applied).toEqual([]);
    expect(aws.iam).not.toHaveReceivedCommand(UpdateAccessKeyCommand);
    expect(aws.iam).not.toHaveReceivedCommand(DeleteAccessKeyCommand);
  });

  it('is undefined for a user without a secret', async () => {
    aws.addKey(OLD);
    const { deps } = mockDeps();
    await expect(retireUser(deps, config, 'ci', later)).resolves.toBeUndefined();
    await expect(readRetireState(deps, config, 'ci')).resolves.toBeUndefined();
  });
});

describe('readRetireState on the model', () => {
  it('names the keys each stage holds, reads last use only for keys no stage holds, and the cut-over of the current version', async () => {
    aws.addKey(OLD, { lastUsed: START });
    aws.addKey(NEW, { created: START, lastUsed: START });
    aws.addSecret(rotated, {
      'keyrot:cutover': 'V2 2026-05-01T00:00:00.000Z',
      [`keyrot:inactive-seen:${OLD}`]: START.toISOString(),
    });
    const { deps } = mockDeps();
    const read = await readRetireState(deps, config, {
      userName: 'ci',
      arn: MODEL_USER_ARN,
      path: '/machine/',
    });
    expect(read?.state).toEqual({
      userName: 'ci',
      keys: [
        {
          accessKeyId: OLD,
          status: 'Active',
          createdAt: new Date('2026-01-01T00:00:00Z'),
          lastUsedAt: START,
        },
        { accessKeyId: NEW, status: 'Active', createdAt: START },
      ],
      currentKeyId: NEW,
      previousKeyId: OLD,
      cutoverAt: new Date('2026-05-01T00:00:00.000Z'),
      deactivatedAt: {},
      inactiveSeenAt: { [OLD]: START },
    });
    expect(aws.iam).toHaveReceivedCommandTimes(GetAccessKeyLastUsedCommand, 1);
    expect(aws.iam).toHaveReceivedCommandWith(GetAccessKeyLastUsedCommand, { AccessKeyId: OLD });
  });

  it('counts a separate AWSPENDING key as held, but not AWSPENDING left on the current version; an old cut-over is no cut-over', async () => {
    aws.addKey(NEW, { created: START });
    aws.addKey('AKIAPEND000000000000', { created: later });
    aws.addSecret(
      { V2: [NEW, ['AWSCURRENT', 'AWSPENDING']] },
      { 'keyrot:cutover': 'V1 2026-05-01T00:00:00.000Z' },
    );
    const { deps } = mockDeps();
    let read = await readRetireState(deps, config, 'ci');
    expect(read?.state).not.toHaveProperty('pendingKeyId');
    expect(read?.state).not.toHaveProperty('cutoverAt');
    const secret = aws.state.secret;
    if (secret)
      secret.versions = new Map([
        ['V2', { value: secret.versions.get('V2')?.value, stages: ['AWSCURRENT'] }],
        [
          'T3',
          {
            value: JSON.stringify({
              Version: 1,
              AccessKeyId: 'AKIAPEND000000000000',
              SecretAccessKey: 'x',
              UserName: 'ci',
              CreatedAt: 'x',
            }),
            stages: ['AWSPENDING'],
          },
        ],
      ]);
    aws.iam.resetHistory();
    read = await readRetireState(deps, config, 'ci');
    expect(read?.state.pendingKeyId).toBe('AKIAPEND000000000000');
    expect(aws.iam).not.toHaveReceivedCommand(GetAccessKeyLastUsedCommand);
  });
});

describe('machineUsers', () => {
  it('lists the users under the machine path exactly, skipping nameless ones, sorted by name', async () => {
    aws.iam
      .on(ListUsersCommand)
      .resolvesOnce({
        Users: [
          {
            UserName: 'zeta',
            Arn: 'arn:aws:iam::1:user/machine/zeta',
            Path: '/machine/',
            UserId: 'a',
            CreateDate: START,
          },
          {
            UserName: 'lookalike',
            Arn: 'arn:aws:iam::1:user/machines/lookalike',
            Path: '/machines/',
            UserId: 'b',
            CreateDate: START,
          },
        ],
        IsTruncated: true,
        Marker: 'm1',
      })
      .resolvesOnce({
        Users: [
          {
            UserName: 'alpha',
            Arn: 'arn:aws:iam::1:user/machine/alpha',
            Path: '/machine/',
            UserId: 'c',
            CreateDate: START,
          },
          { UserName: '', Arn: 'x', Path: '/machine/', UserId: 'd', CreateDate: START },
        ],
      });
    const { deps } = mockDeps();
    await expect(machineUsers(deps, config)).resolves.toEqual([
      { userName: 'alpha', arn: 'arn:aws:iam::1:user/machine/alpha', path: '/machine/' },
      { userName: 'zeta', arn: 'arn:aws:iam::1:user/machine/zeta', path: '/machine/' },
    ]);
    expect(aws.iam).toHaveReceivedCommandWith(ListUsersCommand, { PathPrefix: '/machine/', MaxItems: 1000 });
    expect(aws.iam).toHaveReceivedCommandWith(ListUsersCommand, { PathPrefix: '/machine/', Marker: 'm1' });
  });

  it('takes a user IAM lists without ARN or path as having an empty ARN and the root path', async () => {
    aws.iam.on(ListUsersCommand).resolves({
      Users: [{ UserName: 'ci', UserId: 'a', CreateDate: START } as never],
    });
    const { deps } = mockDeps();
    await expect(machineUsers(deps, { ...config, machinePath: '/' })).resolves.toEqual([
      { userName: 'ci', arn: '', path: '/' },
    ]);
    await expect(machineUsers(deps, config)).resolves.toEqual([]);
  });

  it('names them', async () => {
    aws.iam.on(ListUsersCommand).resolves({
      Users: [{ UserName: 'ci', Path: '/machine/', UserId: 'a', CreateDate: START } as never],
    });
    const { deps } = mockDeps();
    await expect(machineUserNames(deps, config)).resolves.toEqual(['ci']);
  });
});
