import {
  GenerateCredentialReportCommand,
  GetAccessKeyLastUsedCommand,
  GetAccountAuthorizationDetailsCommand,
  GetCredentialReportCommand,
  GetLoginProfileCommand,
  IAMClient,
  ListAccessKeysCommand,
} from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { defaultConfig } from '../../../lib/config.js';
import { parsePolicyDocument } from '../../../lib/inventory/authorization-details.js';
import { readInventory, readLiveKeys } from '../../../lib/inventory/inventory.js';
import type { AccessKeyRecord } from '../../../lib/inventory/types.js';
import { awsError } from '../../helpers/aws-errors.js';
import { manualClock } from '../../helpers/clock.js';
import { reportContent } from '../../helpers/credential-report.js';

const iam = mockClient(IAMClient);
const sts = mockClient(STSClient);
const deps = () => ({ clients: { iam: new IAMClient({}), sts: new STSClient({}) }, clock: manualClock() });
const settings = defaultConfig.inventory;

const userDetail = (name: string, path = '/machine/') => ({
  UserName: name,
  UserId: `AIDA${name}`,
  Arn: `arn:aws:iam::123456789012:user${path}${name}`,
  Path: path,
  CreateDate: new Date('2025-01-01T00:00:00Z'),
  Tags: [{ Key: 'owner', Value: 'team' }],
});

/** Serves pages in order and records the Marker each call carried when it was made (the SDK's
 * paginator reuses one input object, so the mock's recorded inputs only show the last marker). */
function pages<T>(list: T[], markers: Array<string | undefined>) {
  let index = 0;
  return (input: { Marker?: string }) => {
    markers.push(input.Marker);
    return list[index++];
  };
}

const reportRow = (name: string, created: string, password = 'false') =>
  `${name},arn:aws:iam::123456789012:user/machine/${name},2025-01-01T00:00:00+00:00,${password},N/A,N/A,N/A,false,true,${created},N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A`;

beforeEach(() => {
  iam.reset();
  sts.reset();
  sts
    .on(GetCallerIdentityCommand)
    .resolves({ Account: '123456789012', Arn: 'arn:aws:iam::123456789012:user/keyrot' });
});

describe('readInventory', () => {
  it('follows every page of GetAccountAuthorizationDetails and resolves group and customer policies', async () => {
    // Prepare: three pages, as real IAM returns them when an account is large.
    const adminDoc = encodeURIComponent(
      JSON.stringify({ Statement: [{ Effect: 'Allow', Action: 'iam:*', Resource: '*' }] }),
    );
    const markers: Array<string | undefined> = [];
    iam.on(GetAccountAuthorizationDetailsCommand).callsFake(
      pages(
        [
          { UserDetailList: [{ ...userDetail('a'), GroupList: ['ops'] }], IsTruncated: true, Marker: 'm1' },
          {
            UserDetailList: [
              {
                ...userDetail('b'),
                AttachedManagedPolicies: [
                  { PolicyName: 'cust', PolicyArn: 'arn:aws:iam::123456789012:policy/cust' },
                ],
              },
            ],
            GroupDetailList: [
              {
                GroupName: 'ops',
                AttachedManagedPolicies: [
                  {
                    PolicyName: 'AdministratorAccess',
                    PolicyArn: 'arn:aws:iam::aws:policy/AdministratorAccess',
                  },
                ],
                GroupPolicyList: [{ PolicyName: 'inline-ops', PolicyDocument: adminDoc }],
              },
            ],
            IsTruncated: true,
            Marker: 'm2',
          },
          {
            UserDetailList: [userDetail('c', '/')],
            Policies: [
              {
                Arn: 'arn:aws:iam::123456789012:policy/cust',
                PolicyVersionList: [
                  { VersionId: 'v1', IsDefaultVersion: false, Document: '{}' },
                  { VersionId: 'v2', IsDefaultVersion: true, Document: adminDoc },
                ],
              },
            ],
            IsTruncated: false,
          },
        ],
        markers,
      ),
    );
    iam.on(ListAccessKeysCommand).resolves({ AccessKeyMetadata: [] });
    iam.on(GetLoginProfileCommand).rejects(awsError('NoSuchEntity', 404));
    // Act
    const result = await readInventory(deps(), settings, 'exact');
    // Assess
    expect(markers).toEqual([undefined, 'm1', 'm2']);
    expect(result.users.map((u) => u.userName)).toEqual(['a', 'b', 'c']);
    expect(result.users[0]?.policies).toEqual([
      {
        name: 'AdministratorAccess',
        arn: 'arn:aws:iam::aws:policy/AdministratorAccess',
        kind: 'aws-managed',
        via: 'group:ops',
      },
      {
        name: 'inline-ops',
        kind: 'inline',
        via: 'group:ops',
        document: { Statement: [{ Effect: 'Allow', Action: 'iam:*', Resource: '*' }] },
      },
    ]);
    expect(result.users[1]?.policies[0]).toMatchObject({
      kind: 'customer-managed',
      document: { Statement: [{ Action: 'iam:*' }] },
    });
    expect(result.users[0]?.tags).toEqual({ owner: 'team' });
    expect(result.accountId).toBe('123456789012');
  });

  it('exact strategy: pages through ListAccessKeys and asks each key when it was last used', async () => {
    iam.on(GetAccountAuthorizationDetailsCommand).resolves({ UserDetailList: [userDetail('a')] });
    const markers: Array<string | undefined> = [];
    iam.on(ListAccessKeysCommand).callsFake(
      pages(
        [
          {
            AccessKeyMetadata: [
              { AccessKeyId: 'AKIA2', Status: 'Inactive', CreateDate: new Date('2026-02-01T00:00:00Z') },
            ],
            IsTruncated: true,
            Marker: 'k1',
          },
          {
            AccessKeyMetadata: [
              { AccessKeyId: 'AKIA1', Status: 'Active', CreateDate: new Date('2026-01-01T00:00:00Z') },
            ],
          },
        ],
        markers,
      ),
    );
    iam.on(GetAccessKeyLastUsedCommand, { AccessKeyId: 'AKIA1' }).resolves({
      AccessKeyLastUsed: {
        LastUsedDate: new Date('2026-05-01T00:00:00Z'),
        ServiceName: 'sts',
        Region: 'us-east-1',
      },
    });
    iam
      .on(GetAccessKeyLastUsedCommand, { AccessKeyId: 'AKIA2' })
      .resolves({ AccessKeyLastUsed: { ServiceName: 'N/A', Region: 'N/A' } });
    iam.on(GetLoginProfileCommand).resolves({ LoginProfile: { UserName: 'a', CreateDate: new Date() } });

    const result = await readInventory(deps(), settings, 'exact');

    expect(markers).toEqual([undefined, 'k1']);
    expect(result.users[0]).toMatchObject({
      hasConsolePassword: true,
      keys: [
        {
          accessKeyId: 'AKIA1',
          status: 'Active',
          lastUsedAt: new Date('2026-05-01T00:00:00Z'),
          lastUsedService: 'sts',
        },
        { accessKeyId: 'AKIA2', status: 'Inactive' },
      ],
    });
    expect(result.users[0]?.keys[1]?.lastUsedAt).toBeUndefined();
    expect(result.usersReadExactly).toEqual(['a']);
  });

  it('report strategy: a constant number of calls, whatever the number of users', async () => {
    const names = Array.from({ length: 250 }, (_, i) => `user-${String(i).padStart(3, '0')}`);
    iam
      .on(GetAccountAuthorizationDetailsCommand)
      .resolves({ UserDetailList: names.map((n) => userDetail(n)) });
    iam.on(GenerateCredentialReportCommand).resolves({ State: 'COMPLETE' });
    iam
      .on(GetCredentialReportCommand)
      .resolves({ Content: reportContent(names.map((n) => reportRow(n, '2026-01-01T00:00:00+00:00'))) });

    const result = await readInventory(deps(), settings, 'report');

    expect(result.users).toHaveLength(250);
    expect(new Set(result.users.map((u) => u.keys.map((k) => k.slot).join(',')))).toEqual(new Set(['1']));
    expect(iam.calls()).toHaveLength(3);
    expect(result.usersReadExactly).toEqual([]);
  });

  it('report strategy: reads users the report does not list yet with per-user calls', async () => {
    iam
      .on(GetAccountAuthorizationDetailsCommand)
      .resolves({ UserDetailList: [userDetail('old'), userDetail('new')] });
    iam.on(GenerateCredentialReportCommand).resolves({ State: 'COMPLETE' });
    iam
      .on(GetCredentialReportCommand)
      .resolves({ Content: reportContent([reportRow('old', '2026-01-01T00:00:00+00:00', 'true')]) });
    iam.on(ListAccessKeysCommand, { UserName: 'new' }).resolves({
      AccessKeyMetadata: [
        { AccessKeyId: 'AKIANEW', Status: 'Active', CreateDate: new Date('2026-05-31T00:00:00Z') },
      ],
    });
    iam
      .on(GetAccessKeyLastUsedCommand)
      .resolves({ AccessKeyLastUsed: { ServiceName: 'N/A', Region: 'N/A' } });
    iam.on(GetLoginProfileCommand).rejects(awsError('NoSuchEntity', 404));

    const result = await readInventory(deps(), settings, 'report');

    expect(result.usersReadExactly).toEqual(['new']);
    expect(result.users.find((u) => u.userName === 'new')?.keys).toEqual([
      { accessKeyId: 'AKIANEW', status: 'Active', createdAt: new Date('2026-05-31T00:00:00Z') },
    ]);
    expect(result.users.find((u) => u.userName === 'old')).toMatchObject({
      hasConsolePassword: true,
      keys: [{ slot: 1 }],
    });
    expect(iam).not.toHaveReceivedCommandWith(ListAccessKeysCommand, { UserName: 'old' });
  });

  it('passes on errors other than "no login profile"', async () => {
    iam.on(GetAccountAuthorizationDetailsCommand).resolves({ UserDetailList: [userDetail('a')] });
    iam.on(ListAccessKeysCommand).resolves({ AccessKeyMetadata: [] });
    iam.on(GetLoginProfileCommand).rejects(awsError('ServiceFailure', 500));
    await expect(readInventory(deps(), settings, 'exact')).rejects.toMatchObject({ name: 'ServiceFailure' });
  });
});

describe('readLiveKeys', () => {
  const created = new Date('2026-01-01T00:00:00Z');
  const used = new Date('2026-03-01T00:00:00Z');
  const person = (userName: string, path: string, keys: AccessKeyRecord[]) => ({
    userName,
    userId: 'x',
    arn: 'y',
    path,
    createdAt: created,
    tags: {},
    hasConsolePassword: false,
    policies: [],
    keys,
  });
  const fromReport = (users: ReturnType<typeof person>[], usersReadExactly: string[] = []) => ({
    accountId: '1',
    strategy: 'report' as const,
    collectedAt: created,
    reportGeneratedAt: created,
    usersReadExactly,
    users,
  });

  it('takes the keys from ListAccessKeys and their last use from the report slot created in the same second', async () => {
    // Prepare: the report shows one key; since then it was deactivated and a second key was made.
    const inventory = fromReport([
      person('a', '/machine/', [
        { slot: 1, status: 'Active', createdAt: created, lastUsedAt: used, lastUsedService: 's3' },
      ]),
      person('b', '/', [{ slot: 1, status: 'Active', createdAt: created }]),
    ]);
    iam.on(ListAccessKeysCommand, { UserName: 'a' }).resolves({
      AccessKeyMetadata: [
        { AccessKeyId: 'AKIAOLD', Status: 'Inactive', CreateDate: new Date(created.getTime() + 300) },
        { AccessKeyId: 'AKIANEW', Status: 'Active', CreateDate: new Date('2026-03-02T00:00:00Z') },
      ],
    });
    iam
      .on(GetAccessKeyLastUsedCommand, { AccessKeyId: 'AKIANEW' })
      .resolves({ AccessKeyLastUsed: undefined });
    // Act
    const result = await readLiveKeys(deps(), inventory, ['a'], 4);
    // Assess: live status and ids; the report's last use kept; the new key asked; b untouched.
    expect(result.users[0]?.keys).toEqual([
      {
        accessKeyId: 'AKIAOLD',
        status: 'Inactive',
        createdAt: new Date(created.getTime() + 300),
        lastUsedAt: used,
        lastUsedService: 's3',
      },
      { accessKeyId: 'AKIANEW', status: 'Active', createdAt: new Date('2026-03-02T00:00:00Z') },
    ]);
    expect(result.users[1]).toEqual(inventory.users[1]);
    expect(iam).toHaveReceivedCommandTimes(ListAccessKeysCommand, 1);
    expect(iam).toHaveReceivedCommandTimes(GetAccessKeyLastUsedCommand, 1);
  });

  it('drops keys deleted since the report, and asks IAM for the use of a key the report shows without a date', async () => {
    const inventory = fromReport([
      person('a', '/machine/', [
        { slot: 1, status: 'Active', createdAt: created },
        { slot: 2, status: 'Inactive', createdAt: used, createdAtUnknown: true, lastUsedAt: used },
      ]),
    ]);
    iam.on(ListAccessKeysCommand, { UserName: 'a' }).resolves({
      AccessKeyMetadata: [
        // Created in the same second as the undated slot's last use: still not matched by it.
        { AccessKeyId: 'AKIAINACTIVE', Status: 'Inactive', CreateDate: used },
      ],
    });
    iam.on(GetAccessKeyLastUsedCommand).resolves({
      AccessKeyLastUsed: { LastUsedDate: used, ServiceName: 'sts', Region: 'us-east-1' },
    });
    const result = await readLiveKeys(deps(), inventory, ['a'], 4);
    expect(result.users[0]?.keys).toEqual([
      {
        accessKeyId: 'AKIAINACTIVE',
        status: 'Inactive',
        createdAt: used,
        lastUsedAt: used,
        lastUsedService: 'sts',
      },
    ]);
  });

  it('leaves users that were read live already (exact strategy, or newer than the report)', async () => {
    const live = person('a', '/machine/', [{ accessKeyId: 'AKIA1', status: 'Active', createdAt: created }]);
    expect(await readLiveKeys(deps(), fromReport([live], ['a']), ['a'], 4)).toEqual(
      fromReport([live], ['a']),
    );
    const exact = { ...fromReport([live]), strategy: 'exact' as const };
    expect(await readLiveKeys(deps(), exact, ['a'], 4)).toEqual(exact);
    expect(iam).toHaveReceivedCommandTimes(ListAccessKeysCommand, 0);
  });
});

describe('parsePolicyDocument', () => {
  it('reads URL-encoded and plain JSON documents, and gives up on anything else', () => {
    expect(parsePolicyDocument(encodeURIComponent('{"Statement":[]}'))).toEqual({ Statement: [] });
    expect(parsePolicyDocument('{"Statement":[]}')).toEqual({ Statement: [] });
    expect(parsePolicyDocument('%E0%A4%A')).toBeUndefined();
    expect(parsePolicyDocument(undefined)).toBeUndefined();
  });
});
