import {
  GenerateCredentialReportCommand,
  GetAccessKeyLastUsedCommand,
  GetCredentialReportCommand,
  IAMClient,
  ListAccessKeysCommand,
  ListUsersCommand,
} from '@aws-sdk/client-iam';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  type SecretListEntry,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { defaultConfig } from '../../../lib/config.js';
import type { CredentialReportRow } from '../../../lib/inventory/credential-report.js';
import { retireAccount, retireAll } from '../../../lib/retirement/retire.js';
import { type ListedSecret, selectForRetirement } from '../../../lib/retirement/select.js';
import { listManagedSecrets } from '../../../lib/secret/list.js';
import { awsError } from '../../helpers/aws-errors.js';
import { manualClock } from '../../helpers/clock.js';
import { credential, describeOutput, mockDeps, START } from '../../helpers/rotation-mocks.js';

const iam = mockClient(IAMClient);
const secrets = mockClient(SecretsManagerClient);
const created = new Date('2026-01-01T00:00:00Z');

beforeEach(() => {
  iam.reset();
  secrets.reset();
});

const entry = (user: string, extraTags: Record<string, string> = {}): SecretListEntry => ({
  Name: `keyrot/${user}`,
  ARN: `arn:aws:secretsmanager:us-east-1:123456789012:secret:keyrot/${user}-AbCdEf`,
  Tags: [
    { Key: 'keyrot:user', Value: user },
    ...Object.entries(extraTags).map(([Key, Value]) => ({ Key, Value })),
  ],
});

const listed = (user: string, tags: Record<string, string> = {}): ListedSecret => ({
  tags: { 'keyrot:user': user, ...tags },
});

const row = (user: string, keys: CredentialReportRow['keys']): CredentialReportRow => ({
  userName: user,
  arn: `arn:aws:iam::123456789012:user/machine/${user}`,
  passwordEnabled: false,
  keys,
});
const active = (slot: 1 | 2) => ({ slot, status: 'Active' as const, createdAt: created });
const inactive = (slot: 1 | 2) => ({ slot, status: 'Inactive' as const, createdAt: created });

describe('selectForRetirement', () => {
  it('selects only onboarded users that may hold a key other than the current one, and says why', () => {
    const selection = selectForRetirement({
      machineUsers: ['zed', 'solo', 'two', 'slot2', 'off', 'new', 'records', 'keyless', 'stranger'],
      secrets: new Map(
        ['zed', 'solo', 'two', 'slot2', 'off', 'new', 'records', 'keyless'].map((u) => [
          u,
          u === 'records' ? listed(u, { 'keyrot:deactivated:AKIAOLD': '2026-06-01T00:00:00Z' }) : listed(u),
        ]),
      ),
      reportRows: [
        row('zed', [active(1)]),
        row('solo', [active(1)]),
        row('two', [active(1), active(2)]),
        // Slot 1's inactive key shows as N/A in the report; slot 2 being filled gives it away.
        row('slot2', [active(2)]),
        row('off', [inactive(1)]),
        row('records', [active(1)]),
        row('keyless', []),
        row('stranger', [active(1), active(2)]),
      ],
    });
    expect(selection).toEqual({
      machineUsers: 9,
      managed: 8,
      selected: [
        { userName: 'new', reason: 'not-in-report' },
        { userName: 'off', reason: 'inactive-key' },
        { userName: 'records', reason: 'lifecycle-records' },
        { userName: 'slot2', reason: 'two-keys' },
        { userName: 'two', reason: 'two-keys' },
      ],
    });
  });

  it('never selects a machine user without a keyrot secret, whatever its keys', () => {
    const selection = selectForRetirement({
      machineUsers: ['ci'],
      secrets: new Map(),
      reportRows: [row('ci', [active(1), inactive(2)])],
    });
    expect(selection).toEqual({ machineUsers: 1, managed: 0, selected: [] });
  });

  it('selects a user whose only record is when keyrot first saw a key inactive', () => {
    const selection = selectForRetirement({
      machineUsers: ['ci'],
      secrets: new Map([['ci', listed('ci', { 'keyrot:inactive-seen:AKIAOLD': '2026-06-01T00:00:00Z' })]]),
      reportRows: [row('ci', [active(1)])],
    });
    expect(selection.selected).toEqual([{ userName: 'ci', reason: 'lifecycle-records' }]);
  });

  it('ignores tags that are not retirement records', () => {
    const selection = selectForRetirement({
      machineUsers: ['ci'],
      secrets: new Map([['ci', listed('ci', { 'keyrot:cutover': 'V2 2026-06-01T00:00:00Z', owner: 'x' })]]),
      reportRows: [row('ci', [active(1)])],
    });
    expect(selection.selected).toEqual([]);
  });
});

describe('listManagedSecrets (ListSecrets, which retirement selects from)', () => {
  it('asks for secrets under the prefix that carry the keyrot:user tag, 100 per page', async () => {
    secrets.on(ListSecretsCommand).resolves({ SecretList: [entry('ci')] });
    const found = await listManagedSecrets(new SecretsManagerClient({}), defaultConfig);
    expect(Object.keys(found)).toEqual(['ci']);
    expect(secrets).toHaveReceivedCommandWith(ListSecretsCommand, {
      MaxResults: 100,
      Filters: [
        { Key: 'name', Values: ['keyrot/'] },
        { Key: 'tag-key', Values: ['keyrot:user'] },
      ],
    });
  });

  it.each([
    [99, 1],
    [100, 1],
    [101, 2],
    [250, 3],
  ])('reads every page: %i secrets in pages of 100 take %i call(s)', async (count, pages) => {
    const all = Array.from({ length: count }, (_, i) => entry(`user-${String(i).padStart(4, '0')}`));
    secrets.on(ListSecretsCommand).callsFake((input: { NextToken?: string; MaxResults?: number }) => {
      const from = Number(input.NextToken ?? 0);
      const size = input.MaxResults ?? 100;
      const to = from + size;
      return { SecretList: all.slice(from, to), ...(to < count ? { NextToken: String(to) } : {}) };
    });
    const found = await listManagedSecrets(new SecretsManagerClient({}), defaultConfig);
    expect(Object.keys(found)).toHaveLength(count);
    expect(secrets.commandCalls(ListSecretsCommand)).toHaveLength(pages);
  });

  it('leaves out a secret whose name does not match its keyrot:user tag, or that lacks the tag', async () => {
    secrets.on(ListSecretsCommand).resolves({
      SecretList: [
        entry('ci'),
        { ...entry('ci'), Name: 'keyrot/impostor' },
        { Name: 'keyrot/untagged', ARN: 'arn:x', Tags: [] },
        { ...entry('other'), Name: 'keyrot-other/other' },
      ],
    });
    const found = await listManagedSecrets(new SecretsManagerClient({}), defaultConfig);
    expect(Object.values(found).map((s) => s.secretName)).toEqual(['keyrot/ci']);
  });
});

describe('retireAccount', () => {
  const report = (rows: string[]) =>
    new TextEncoder().encode(
      [
        'user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated',
        ...rows,
      ].join('\n'),
    );
  const reportRow = (user: string, keys: 1 | 2) =>
    `${user},arn:aws:iam::123456789012:user/machine/${user},2026-01-01T00:00:00+00:00,false,N/A,N/A,N/A,false,true,2026-01-01T00:00:00+00:00,N/A,N/A,N/A,${keys === 2 ? 'true,2026-06-01T12:00:00+00:00' : 'false,N/A'},N/A,N/A,N/A,false,N/A,false,N/A`;

  it('makes per-user calls only for the selected user, and none for users without a secret', async () => {
    const { deps } = mockDeps();
    iam.on(ListUsersCommand).resolves({
      Users: ['ci', 'quiet', 'bare'].map((UserName) => ({
        UserName,
        Path: '/machine/',
        UserId: UserName,
        Arn: `arn:aws:iam::123456789012:user/machine/${UserName}`,
        CreateDate: created,
      })),
    });
    secrets.on(ListSecretsCommand).resolves({ SecretList: [entry('ci'), entry('quiet')] });
    iam.on(GenerateCredentialReportCommand).resolves({ State: 'COMPLETE' });
    iam
      .on(GetCredentialReportCommand)
      .resolves({ Content: report([reportRow('ci', 2), reportRow('quiet', 1), reportRow('bare', 2)]) });
    secrets
      .on(DescribeSecretCommand)
      .resolves(describeOutput({ V1: ['AWSPREVIOUS'], V2: ['AWSCURRENT'] }, { cutover: 'V2' }));
    secrets
      .on(GetSecretValueCommand, { VersionId: 'V2' })
      .resolves({ SecretString: credential('AKIANEW0000000000000') });
    secrets
      .on(GetSecretValueCommand, { VersionId: 'V1' })
      .resolves({ SecretString: credential('AKIAOLD0000000000000') });
    iam.on(ListAccessKeysCommand).resolves({
      AccessKeyMetadata: [
        { AccessKeyId: 'AKIAOLD0000000000000', Status: 'Active', CreateDate: created },
        { AccessKeyId: 'AKIANEW0000000000000', Status: 'Active', CreateDate: START },
      ],
    });
    iam
      .on(GetAccessKeyLastUsedCommand)
      .resolves({ AccessKeyLastUsed: { LastUsedDate: START, ServiceName: 'iam', Region: 'us-east-1' } });

    const { selection, results } = await retireAccount(deps, defaultConfig, START, {
      reportClock: manualClock(START),
    });

    expect(selection).toEqual({
      machineUsers: 3,
      managed: 2,
      selected: [{ userName: 'ci', reason: 'two-keys' }],
    });
    expect(results).toEqual([expect.objectContaining({ userName: 'ci', secretName: 'keyrot/ci' })]);
    expect(secrets.commandCalls(DescribeSecretCommand).map((c) => c.args[0].input.SecretId)).toEqual([
      'keyrot/ci',
    ]);
    expect(iam.commandCalls(ListAccessKeysCommand).map((c) => c.args[0].input.UserName)).toEqual(['ci']);
    expect(iam).toHaveReceivedCommandWith(ListUsersCommand, { PathPrefix: '/machine/', MaxItems: 1000 });
  });

  /** Two selected users, ci and ops, each with an old and a new key and a rotated secret. */
  const twoSelected = () => {
    iam.on(ListUsersCommand).resolves({
      Users: ['ci', 'ops'].map((UserName) => ({
        UserName,
        Path: '/machine/',
        UserId: UserName,
        Arn: `arn:aws:iam::123456789012:user/machine/${UserName}`,
        CreateDate: created,
      })),
    });
    secrets.on(ListSecretsCommand).resolves({ SecretList: [entry('ci'), entry('ops')] });
    iam.on(GenerateCredentialReportCommand).resolves({ State: 'COMPLETE' });
    iam
      .on(GetCredentialReportCommand)
      .resolves({ Content: report([reportRow('ci', 2), reportRow('ops', 2)]) });
    for (const user of ['ci', 'ops']) {
      const arn = `arn:aws:secretsmanager:us-east-1:123456789012:secret:keyrot/${user}-AbCdEf`;
      secrets.on(DescribeSecretCommand, { SecretId: `keyrot/${user}` }).resolves({
        ARN: arn,
        Name: `keyrot/${user}`,
        VersionIdsToStages: { V1: ['AWSPREVIOUS'], V2: ['AWSCURRENT'] },
        Tags: [
          { Key: 'keyrot:user', Value: user },
          { Key: 'keyrot:user-arn', Value: `arn:aws:iam::123456789012:user/machine/${user}` },
          { Key: 'keyrot:cutover', Value: 'V2 2026-05-01T00:00:00.000Z' },
        ],
      });
      for (const [version, id] of [
        ['V1', `AKIAOLD${user.toUpperCase()}0000000000`.slice(0, 20)],
        ['V2', `AKIANEW${user.toUpperCase()}0000000000`.slice(0, 20)],
      ] as const) {
        secrets.on(GetSecretValueCommand, { SecretId: arn, VersionId: version }).resolves({
          SecretString: JSON.stringify({ ...JSON.parse(credential(id)), UserName: user }),
        });
      }
      iam.on(ListAccessKeysCommand, { UserName: user }).resolves({
        AccessKeyMetadata: [
          {
            AccessKeyId: `AKIAOLD${user.toUpperCase()}0000000000`.slice(0, 20),
            Status: 'Active',
            CreateDate: created,
          },
          {
            AccessKeyId: `AKIANEW${user.toUpperCase()}0000000000`.slice(0, 20),
            Status: 'Active',
            CreateDate: START,
          },
        ],
      });
    }
    iam
      .on(GetAccessKeyLastUsedCommand)
      .resolves({ AccessKeyLastUsed: { LastUsedDate: START, ServiceName: 'iam', Region: 'us-east-1' } });
  };

  it('goes on with the other users when one fails, returning that user’s error', async () => {
    const { deps } = mockDeps();
    twoSelected();
    const denied = awsError('AccessDenied', 403);
    iam.on(ListAccessKeysCommand, { UserName: 'ci' }).rejects(denied);
    const { results } = await retireAccount(deps, defaultConfig, START, { reportClock: manualClock(START) });
    expect(results).toEqual([
      { userName: 'ci', error: denied },
      expect.objectContaining({ userName: 'ops', secretName: 'keyrot/ops' }),
    ]);
    expect(results[1]).not.toHaveProperty('broken');
  });

  it('leaves out a selected user whose secret is gone by the time it is read', async () => {
    const { deps } = mockDeps();
    twoSelected();
    secrets
      .on(DescribeSecretCommand, { SecretId: 'keyrot/ci' })
      .rejects(awsError('ResourceNotFoundException'));
    const { selection, results } = await retireAccount(deps, defaultConfig, START, {
      reportClock: manualClock(START),
    });
    expect(selection.selected.map((s) => s.userName)).toEqual(['ci', 'ops']);
    expect(results).toEqual([expect.objectContaining({ userName: 'ops' })]);
  });

  it('waits for the credential report on the report clock it is given', async () => {
    const { deps } = mockDeps();
    twoSelected();
    iam
      .on(GenerateCredentialReportCommand)
      .resolvesOnce({ State: 'STARTED' })
      .resolves({ State: 'COMPLETE' });
    const reportClock = manualClock(START);
    const { results } = await retireAccount(deps, defaultConfig, START, { reportClock });
    expect(reportClock.sleeps).toEqual([500]);
    expect(iam).toHaveReceivedCommandTimes(GenerateCredentialReportCommand, 2);
    expect(results.map((r) => r.userName)).toEqual(['ci', 'ops']);
  });

  it('retireAll gives retireAccount’s results alone', async () => {
    const { deps } = mockDeps();
    twoSelected();
    const results = await retireAll(deps, defaultConfig, START, { dryRun: true });
    expect(results).toEqual([
      expect.objectContaining({ userName: 'ci', applied: [], decisions: expect.any(Array) }),
      expect.objectContaining({ userName: 'ops', applied: [], decisions: expect.any(Array) }),
    ]);
  });

  it('asks for no credential report when no machine user has a secret', async () => {
    const { deps } = mockDeps();
    iam.on(ListUsersCommand).resolves({ Users: [{ UserName: 'ci', Path: '/machine/' } as never] });
    secrets.on(ListSecretsCommand).resolves({ SecretList: [] });
    const { selection, results } = await retireAccount(deps, defaultConfig, START);
    expect(selection).toEqual({ machineUsers: 1, managed: 0, selected: [] });
    expect(results).toEqual([]);
    expect(iam).not.toHaveReceivedCommand(GenerateCredentialReportCommand);
  });

  it('asks for nothing else when the account has no machine user', async () => {
    const { deps } = mockDeps();
    iam.on(ListUsersCommand).resolves({ Users: [] });
    const { selection } = await retireAccount(deps, defaultConfig, START);
    expect(selection).toEqual({ machineUsers: 0, managed: 0, selected: [] });
    expect(secrets).not.toHaveReceivedCommand(ListSecretsCommand);
  });
});
