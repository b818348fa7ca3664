import {
  GetAccessKeyLastUsedCommand,
  GetUserCommand,
  IAMClient,
  ListAccessKeysCommand,
  UpdateAccessKeyCommand,
} from '@aws-sdk/client-iam';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  SecretsManagerClient,
  TagResourceCommand,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { defaultConfig } from '../../../lib/config.js';
import { retireUser } from '../../../lib/retirement/retire.js';
import { credential, describeOutput, mockDeps, START, USER_ARN } from '../../helpers/rotation-mocks.js';

const iam = mockClient(IAMClient);
const secrets = mockClient(SecretsManagerClient);
const NEW = 'AKIANEW0000000000000';
const OLD = 'AKIAOLD0000000000000';
const later = new Date(START.getTime() + 30 * 86_400_000);

beforeEach(() => {
  iam.reset();
  secrets.reset();
  secrets.on(GetSecretValueCommand, { VersionId: 'V2' }).resolves({ SecretString: credential(NEW) });
  secrets.on(GetSecretValueCommand, { VersionId: 'V1' }).resolves({ SecretString: credential(OLD) });
  iam.on(ListAccessKeysCommand).resolves({
    AccessKeyMetadata: [
      { AccessKeyId: OLD, Status: 'Active', CreateDate: new Date('2026-01-01T00:00:00Z') },
      { AccessKeyId: NEW, Status: 'Active', CreateDate: START },
    ],
  });
  iam.on(GetAccessKeyLastUsedCommand).resolves({ AccessKeyLastUsed: { ServiceName: 'N/A', Region: 'N/A' } });
  secrets.on(TagResourceCommand).resolves({});
  iam.on(UpdateAccessKeyCommand).resolves({});
  iam.on(GetUserCommand).resolves({
    User: { UserName: 'ci', Arn: USER_ARN, Path: '/machine/', UserId: 'U', CreateDate: START },
  });
});

describe('retireUser', () => {
  const before = describeOutput({ V1: ['AWSPREVIOUS'], V2: ['AWSCURRENT'] }, { cutover: 'V2' });

  it('deactivates the idle AWSPREVIOUS key once due, recording when before it does', async () => {
    const { deps } = mockDeps();
    secrets.on(DescribeSecretCommand).resolves(before);
    const result = await retireUser(deps, defaultConfig, 'ci', later);
    expect(result?.applied.map((d) => `${d.accessKeyId}:${d.kind}`)).toEqual([`${OLD}:deactivate`]);
    expect(secrets).toHaveReceivedCommandWith(TagResourceCommand, {
      Tags: [{ Key: `keyrot:deactivated:${OLD}`, Value: START.toISOString() }],
    });
    expect(iam).toHaveReceivedCommandWith(UpdateAccessKeyCommand, {
      UserName: 'ci',
      AccessKeyId: OLD,
      Status: 'Inactive',
    });
  });

  it('changes nothing when AWSCURRENT moved between deciding and acting (a rollback landed)', async () => {
    const { deps } = mockDeps();
    const rolledBack = describeOutput({ V1: ['AWSCURRENT'], V2: ['AWSPREVIOUS'] }, { cutover: 'V1' });
    secrets.on(DescribeSecretCommand).resolvesOnce(before).resolves(rolledBack);
    const result = await retireUser(deps, defaultConfig, 'ci', later);
    expect(result?.skipped).toBe(
      'AWSCURRENT moved while retiring; nothing was changed, the next run decides again',
    );
    expect(result?.applied).toEqual([]);
    expect(iam).not.toHaveReceivedCommand(UpdateAccessKeyCommand);
    expect(secrets).not.toHaveReceivedCommand(TagResourceCommand);
  });

  it('changes nothing when a rotation started between deciding and acting (AWSPENDING appeared)', async () => {
    // Prepare: the first read decides; by the re-check a rotation has stored a new key as AWSPENDING.
    const { deps } = mockDeps();
    const rotating = describeOutput(
      { V1: ['AWSPREVIOUS'], V2: ['AWSCURRENT'], V3: ['AWSPENDING'] },
      { cutover: 'V2' },
    );
    secrets.on(DescribeSecretCommand).resolvesOnce(before).resolves(rotating);
    // Act
    const result = await retireUser(deps, defaultConfig, 'ci', later);
    // Assess
    expect(result?.skipped).toBe(
      'AWSPENDING moved while retiring; nothing was changed, the next run decides again',
    );
    expect(result?.decisions.map((d) => `${d.accessKeyId}:${d.kind}`)).toContain(`${OLD}:deactivate`);
    expect(result?.applied).toEqual([]);
    expect(iam).not.toHaveReceivedCommand(UpdateAccessKeyCommand);
    expect(secrets).not.toHaveReceivedCommand(TagResourceCommand);
  });

  it('makes no change on a dry run', async () => {
    const { deps } = mockDeps();
    secrets.on(DescribeSecretCommand).resolves(before);
    const result = await retireUser(deps, defaultConfig, 'ci', later, { dryRun: true });
    expect(result?.decisions.find((d) => d.accessKeyId === OLD)?.kind).toBe('deactivate');
    expect(iam).not.toHaveReceivedCommand(UpdateAccessKeyCommand);
    expect(secrets).toHaveReceivedCommandTimes(DescribeSecretCommand, 1);
  });
});
