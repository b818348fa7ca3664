import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  DeleteAccessKeyCommand,
  GetAccessKeyLastUsedCommand,
  IAMClient,
  ListAccessKeysCommand,
  UpdateAccessKeyCommand,
} from '@aws-sdk/client-iam';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  SecretsManagerClient,
  TagResourceCommand,
  UntagResourceCommand,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { BrokenUserError, KeyGuardError } from '../../../lib/errors.js';
import { changeKey, type KeyChangeRequest, reactivateKey } from '../../../lib/secret/guard.js';
import type { Intent } from '../../../lib/secret/secret.js';
import { ARN, credential, describeOutput, mockDeps, START } from '../../helpers/rotation-mocks.js';

const iam = mockClient(IAMClient);
const secrets = mockClient(SecretsManagerClient);
const CUR = 'AKIACUR0000000000000';
const OLD = 'AKIAOLD0000000000000';
const PEND = 'AKIAPEND000000000000';
const DAY = 86_400_000;
const policy = { idleDaysBeforeDeactivate: 3, deleteAfterDays: 7 };

let keys: Array<{ AccessKeyId: string; Status: 'Active' | 'Inactive'; CreateDate: Date }>;
let lastUsed: Record<string, Date | undefined>;

function account(options: {
  old?: 'Active' | 'Inactive';
  current?: 'Active' | 'Inactive' | 'missing';
  oldUsedDaysAgo?: number;
  tags?: { intent?: Intent; deactivatedOld?: Date };
  currentValue?: string;
  pending?: boolean;
}) {
  keys = [];
  if (options.current !== 'missing')
    keys.push({ AccessKeyId: CUR, Status: options.current ?? 'Active', CreateDate: START });
  if (options.old)
    keys.push({ AccessKeyId: OLD, Status: options.old, CreateDate: new Date(START.getTime() - 100 * DAY) });
  if (options.pending) keys.push({ AccessKeyId: PEND, Status: 'Active', CreateDate: START });
  lastUsed = {
    [OLD]:
      options.oldUsedDaysAgo === undefined
        ? undefined
        : new Date(START.getTime() - options.oldUsedDaysAgo * DAY),
  };
  const output = describeOutput(
    { V2: ['AWSCURRENT'], V1: ['AWSPREVIOUS'], ...(options.pending ? { V3: ['AWSPENDING'] } : {}) },
    { cutover: 'V2', ...(options.tags?.intent ? { intent: options.tags.intent } : {}) },
  );
  if (options.tags?.deactivatedOld)
    output.Tags?.push({ Key: `keyrot:deactivated:${OLD}`, Value: options.tags.deactivatedOld.toISOString() });
  secrets.on(DescribeSecretCommand).resolves(output);
  secrets
    .on(GetSecretValueCommand, { VersionId: 'V2' })
    .resolves({ SecretString: options.currentValue ?? credential(CUR) });
  secrets.on(GetSecretValueCommand, { VersionId: 'V1' }).resolves({ SecretString: credential(OLD) });
  secrets.on(GetSecretValueCommand, { VersionId: 'V3' }).resolves({ SecretString: credential(PEND) });
  secrets.on(ListSecretVersionIdsCommand).resolves({ Versions: [{ VersionId: 'V2' }] });
}

const request = (over: Partial<KeyChangeRequest> = {}): KeyChangeRequest => ({
  userName: 'ci',
  secretId: ARN,
  accessKeyId: OLD,
  change: 'deactivate',
  purpose: 'retire',
  now: START,
  ...over,
});
const changes = () =>
  iam.commandCalls(UpdateAccessKeyCommand).length + iam.commandCalls(DeleteAccessKeyCommand).length;

beforeEach(() => {
  iam.reset();
  secrets.reset();
  iam.on(ListAccessKeysCommand).callsFake(() => ({ AccessKeyMetadata: keys }));
  iam.on(GetAccessKeyLastUsedCommand).callsFake((input: { AccessKeyId: string }) => ({
    AccessKeyLastUsed: { ServiceName: 'sts', Region: 'us-east-1', LastUsedDate: lastUsed[input.AccessKeyId] },
  }));
  iam.on(UpdateAccessKeyCommand).resolves({});
  iam.on(DeleteAccessKeyCommand).resolves({});
  secrets.on(TagResourceCommand).resolves({});
  secrets.on(UntagResourceCommand).resolves({});
});

describe('the key guard', () => {
  it('deactivates an idle replaced key, recording when before it does', async () => {
    account({ old: 'Active', oldUsedDaysAgo: 5 });
    const { deps } = mockDeps();
    await expect(changeKey(deps, policy, request())).resolves.toMatchObject({ changed: true });
    expect(secrets).toHaveReceivedCommandWith(TagResourceCommand, {
      Tags: [{ Key: `keyrot:deactivated:${OLD}`, Value: START.toISOString() }],
    });
    expect(iam).toHaveReceivedCommandWith(UpdateAccessKeyCommand, { AccessKeyId: OLD, Status: 'Inactive' });
  });

  it.each([
    [
      'the key AWSCURRENT holds',
      { old: 'Active' as const },
      { accessKeyId: CUR },
      /it is the key AWSCURRENT holds/,
    ],
    [
      'the key AWSPENDING holds',
      { old: 'Active' as const, pending: true },
      { accessKeyId: PEND },
      /AWSPENDING holds/,
    ],
    [
      'a key used within the idle window',
      { old: 'Active' as const, oldUsedDaysAgo: 2 },
      {},
      /used 2 days ago/,
    ],
    [
      'a rollback reserve, to make room',
      { old: 'Inactive' as const, tags: { deactivatedOld: new Date(START.getTime() - 2 * DAY) } },
      { change: 'delete' as const, purpose: 'make-room' as const },
      /rollback reserve/,
    ],
    [
      'an active key, to make room',
      { old: 'Active' as const },
      { change: 'delete' as const, purpose: 'make-room' as const },
      /only an inactive key/,
    ],
    [
      'a key the intent knew, as an orphan',
      { old: 'Active' as const, tags: { intent: { token: 'T', at: START, knownKeyIds: [OLD] } } },
      { change: 'delete' as const, purpose: 'orphan' as const },
      /existed before the last rotation attempt/,
    ],
    [
      'a used key, as an orphan',
      {
        old: 'Active' as const,
        oldUsedDaysAgo: 30,
        tags: { intent: { token: 'T', at: START, knownKeyIds: [] } },
      },
      { change: 'delete' as const, purpose: 'orphan' as const },
      /it has been used/,
    ],
  ])('refuses %s, changing nothing', async (_what, state, over, message) => {
    account(state);
    const { deps } = mockDeps();
    await expect(changeKey(deps, policy, request(over))).rejects.toThrow(message);
    await expect(changeKey(deps, policy, request(over))).rejects.toBeInstanceOf(KeyGuardError);
    expect(changes()).toBe(0);
    expect(secrets).not.toHaveReceivedCommand(TagResourceCommand);
  });

  it('refuses an orphan a version of the secret holds', async () => {
    account({ old: 'Active', tags: { intent: { token: 'T', at: START, knownKeyIds: [] } } });
    secrets
      .on(ListSecretVersionIdsCommand)
      .resolves({ Versions: [{ VersionId: 'V2' }, { VersionId: 'V1' }] });
    const { deps } = mockDeps();
    await expect(changeKey(deps, policy, request({ change: 'delete', purpose: 'orphan' }))).rejects.toThrow(
      /a version of the secret holds it/,
    );
    expect(changes()).toBe(0);
  });

  it('refuses to take away the last active key', async () => {
    account({ old: 'Active', current: 'Inactive' });
    const { deps } = mockDeps();
    // The current key is inactive: the user is broken, which is refused first.
    await expect(changeKey(deps, policy, request())).rejects.toBeInstanceOf(BrokenUserError);
    expect(changes()).toBe(0);
  });

  it.each([
    [
      'AWSCURRENT names a key IAM does not have',
      { old: 'Active' as const, current: 'missing' as const },
      /which IAM does not have/,
    ],
    [
      "AWSCURRENT's key is inactive",
      { old: 'Active' as const, current: 'Inactive' as const },
      /is inactive in IAM/,
    ],
    [
      'AWSCURRENT holds garbage',
      { old: 'Active' as const, currentValue: 'garbage' },
      /does not hold a keyrot credential/,
    ],
  ])('touches no key of a broken user: %s', async (_what, state, message) => {
    account(state);
    const { deps } = mockDeps();
    const error = await changeKey(deps, policy, request()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BrokenUserError);
    expect((error as Error).message).toMatch(message);
    expect(changes()).toBe(0);
  });

  it('in an emergency takes a key in use, and a broken user’s leaked key, away', async () => {
    account({ old: 'Active', oldUsedDaysAgo: 0, current: 'missing' });
    keys.push({ AccessKeyId: 'AKIAOTHER00000000000', Status: 'Active', CreateDate: START });
    const { deps } = mockDeps();
    await expect(changeKey(deps, policy, request({ purpose: 'emergency' }))).resolves.toMatchObject({
      changed: true,
    });
    expect(iam).toHaveReceivedCommandWith(UpdateAccessKeyCommand, { AccessKeyId: OLD, Status: 'Inactive' });
  });

  it('deletes a key, then forgets its records; a key already gone is no change', async () => {
    account({
      old: 'Inactive',
      oldUsedDaysAgo: 20,
      tags: { deactivatedOld: new Date(START.getTime() - 10 * DAY) },
    });
    const { deps } = mockDeps();
    await expect(changeKey(deps, policy, request({ change: 'delete' }))).resolves.toMatchObject({
      changed: true,
    });
    expect(iam).toHaveReceivedCommandWith(DeleteAccessKeyCommand, { UserName: 'ci', AccessKeyId: OLD });
    expect(secrets).toHaveReceivedCommandWith(UntagResourceCommand, {
      TagKeys: [`keyrot:deactivated:${OLD}`, `keyrot:inactive-seen:${OLD}`],
    });
    keys = keys.filter((k) => k.AccessKeyId !== OLD);
    iam.resetHistory();
    await expect(changeKey(deps, policy, request({ change: 'delete' }))).resolves.toEqual({ changed: false });
    expect(changes()).toBe(0);
  });
});

describe('the key guard, at its edges', () => {
  it('deactivating a key already inactive is no change, and writes nothing', async () => {
    account({ old: 'Inactive' });
    const { deps } = mockDeps();
    await expect(changeKey(deps, policy, request())).resolves.toEqual({
      changed: false,
      key: { accessKeyId: OLD, status: 'Inactive', createdAt: new Date(START.getTime() - 100 * DAY) },
    });
    expect(changes()).toBe(0);
    expect(secrets).not.toHaveReceivedCommand(DescribeSecretCommand);
  });

  it('refuses the only active key left, in words, unless it is an orphan', async () => {
    account({ old: 'Active' });
    keys = keys.filter((k) => k.AccessKeyId !== CUR);
    secrets
      .on(DescribeSecretCommand)
      .rejects(Object.assign(new Error('no'), { name: 'ResourceNotFoundException' }));
    const { deps } = mockDeps();
    await expect(changeKey(deps, policy, request())).rejects.toThrow(
      new KeyGuardError(
        `keyrot will not deactivate ${OLD} of ci: it is the only active key the user has left. Nothing was changed.`,
      ),
    );
    // Without a secret, an orphan can't be keyrot's: refused for that reason instead.
    await expect(changeKey(deps, policy, request({ change: 'delete', purpose: 'orphan' }))).rejects.toThrow(
      'the user has no keyrot secret, so no attempt of keyrot made it',
    );
    expect(changes()).toBe(0);
  });

  it('for a user keyrot has not onboarded, deactivates without recording (there is no secret to tag)', async () => {
    account({ old: 'Active', oldUsedDaysAgo: 30 });
    secrets
      .on(DescribeSecretCommand)
      .rejects(Object.assign(new Error('no'), { name: 'ResourceNotFoundException' }));
    const { deps } = mockDeps();
    await expect(changeKey(deps, policy, request({ purpose: 'emergency' }))).resolves.toMatchObject({
      changed: true,
    });
    expect(secrets).not.toHaveReceivedCommand(TagResourceCommand);
    expect(iam).toHaveReceivedCommandWith(UpdateAccessKeyCommand, {
      UserName: 'ci',
      AccessKeyId: OLD,
      Status: 'Inactive',
    });
  });

  it('passes on a failure to read the secret other than "not found", changing nothing', async () => {
    account({ old: 'Active' });
    secrets
      .on(DescribeSecretCommand)
      .rejects(Object.assign(new Error('no'), { name: 'AccessDeniedException' }));
    const { deps } = mockDeps();
    await expect(changeKey(deps, policy, request())).rejects.toMatchObject({ name: 'AccessDeniedException' });
    expect(changes()).toBe(0);
  });

  it.each([
    [
      0,
      /it was used today \(2026-06-01T12:00:00.000Z\), within idleDaysBeforeDeactivate 3; a key in use is only taken away in an emergency \(keyrot rotate --user ci --compromised\)/,
    ],
    [2, /it was used 2 days ago/],
  ])('refuses a key used %i days ago, saying when and how to take it anyway', async (days, message) => {
    account({ old: 'Active', oldUsedDaysAgo: days });
    const { deps } = mockDeps();
    await expect(changeKey(deps, policy, request())).rejects.toThrow(message);
  });

  it('takes a key unused for exactly idleDaysBeforeDeactivate', async () => {
    account({ old: 'Active', oldUsedDaysAgo: policy.idleDaysBeforeDeactivate });
    const { deps } = mockDeps();
    await expect(changeKey(deps, policy, request())).resolves.toMatchObject({
      changed: true,
      key: { accessKeyId: OLD, lastUsedAt: new Date(START.getTime() - 3 * DAY) },
    });
  });

  it.each([
    [0, 'keyrot deactivated it today'],
    [6, 'keyrot deactivated it 6 days ago'],
  ])('keeps a rollback reserve deactivated %i days ago from make-room', async (days, said) => {
    account({ old: 'Inactive', tags: { deactivatedOld: new Date(START.getTime() - days * DAY) } });
    const { deps } = mockDeps();
    await expect(
      changeKey(deps, policy, request({ change: 'delete', purpose: 'make-room' })),
    ).rejects.toThrow(
      `${said}, and it is kept as the rollback reserve for deleteAfterDays 7 (keyrot rollback --user ci can still bring it back). Wait, or in an emergency: keyrot rotate --user ci --compromised`,
    );
  });

  it('deletes for room an inactive key deactivated deleteAfterDays ago, or with an unreadable record', async () => {
    account({ old: 'Inactive', tags: { deactivatedOld: new Date(START.getTime() - 7 * DAY) } });
    const { deps } = mockDeps();
    await expect(
      changeKey(deps, policy, request({ change: 'delete', purpose: 'make-room' })),
    ).resolves.toMatchObject({
      changed: true,
    });
    account({ old: 'Inactive' });
    const output = describeOutput({ V2: ['AWSCURRENT'], V1: ['AWSPREVIOUS'] }, { cutover: 'V2' });
    output.Tags?.push({ Key: `keyrot:deactivated:${OLD}`, Value: 'not a date' });
    secrets.on(DescribeSecretCommand).resolves(output);
    await expect(
      changeKey(deps, policy, request({ change: 'delete', purpose: 'make-room' })),
    ).resolves.toMatchObject({
      changed: true,
    });
  });

  it('deletes an orphan: unknown to the intent, unused and held by no version (versions without an id skipped)', async () => {
    account({ old: 'Active', tags: { intent: { token: 'T', at: START, knownKeyIds: [CUR] } } });
    secrets.on(ListSecretVersionIdsCommand).resolves({ Versions: [{}, { VersionId: 'V2' }] });
    const { deps } = mockDeps();
    await expect(
      changeKey(deps, policy, request({ change: 'delete', purpose: 'orphan' })),
    ).resolves.toMatchObject({
      changed: true,
    });
    expect(iam).toHaveReceivedCommandWith(DeleteAccessKeyCommand, { UserName: 'ci', AccessKeyId: OLD });
    expect(secrets).toHaveReceivedCommandWith(ListSecretVersionIdsCommand, {
      SecretId: ARN,
      IncludeDeprecated: true,
    });
  });

  it('takes its own attempt’s key even where the intent knew it, or the user is broken', async () => {
    account({
      old: 'Active',
      current: 'Inactive',
      tags: { intent: { token: 'T', at: START, knownKeyIds: [OLD] } },
    });
    const { deps } = mockDeps();
    await expect(
      changeKey(deps, policy, request({ change: 'delete', purpose: 'orphan', ownAttempt: true })),
    ).resolves.toMatchObject({ changed: true });
  });

  it.each(['NoSuchEntity', 'NoSuchEntityException'])(
    'a key gone under it (%s) is still forgotten',
    async (name) => {
      account({ old: 'Inactive', tags: { deactivatedOld: new Date(START.getTime() - 10 * DAY) } });
      iam.on(DeleteAccessKeyCommand).rejects(Object.assign(new Error('gone'), { name }));
      const { deps } = mockDeps();
      await expect(changeKey(deps, policy, request({ change: 'delete' }))).resolves.toMatchObject({
        changed: true,
      });
      expect(secrets).toHaveReceivedCommandWith(UntagResourceCommand, {
        SecretId: ARN,
        TagKeys: [`keyrot:deactivated:${OLD}`, `keyrot:inactive-seen:${OLD}`],
      });
    },
  );

  it('passes on any other failure to delete, forgetting nothing', async () => {
    account({ old: 'Inactive', tags: { deactivatedOld: new Date(START.getTime() - 10 * DAY) } });
    iam.on(DeleteAccessKeyCommand).rejects(Object.assign(new Error('x'), { name: 'ServiceFailure' }));
    const { deps } = mockDeps();
    await expect(changeKey(deps, policy, request({ change: 'delete' }))).rejects.toMatchObject({
      name: 'ServiceFailure',
    });
    expect(secrets).not.toHaveReceivedCommand(UntagResourceCommand);
  });
});

describe('the key guard, without records', () => {
  it('deletes an unused orphan of a secret that has no intent recorded', async () => {
    account({ old: 'Active' });
    const { deps } = mockDeps();
    await expect(
      changeKey(deps, policy, request({ change: 'delete', purpose: 'orphan' })),
    ).resolves.toMatchObject({
      changed: true,
    });
  });

  it('makes room for a user keyrot has not onboarded by deleting an inactive unused key', async () => {
    account({ old: 'Inactive' });
    secrets
      .on(DescribeSecretCommand)
      .rejects(Object.assign(new Error('no'), { name: 'ResourceNotFoundException' }));
    const { deps } = mockDeps();
    await expect(
      changeKey(deps, policy, request({ change: 'delete', purpose: 'make-room' })),
    ).resolves.toMatchObject({
      changed: true,
    });
    expect(iam).toHaveReceivedCommandWith(DeleteAccessKeyCommand, { UserName: 'ci', AccessKeyId: OLD });
    expect(secrets).not.toHaveReceivedCommand(UntagResourceCommand);
  });
});

describe('the key guard, for a user whose keys are not all active', () => {
  const noSecret = () =>
    secrets
      .on(DescribeSecretCommand)
      .rejects(Object.assign(new Error('no'), { name: 'ResourceNotFoundException' }));

  it('does not count an inactive key as the working key that remains', async () => {
    account({ old: 'Active', current: 'Inactive' });
    noSecret();
    const { deps } = mockDeps();
    await expect(changeKey(deps, policy, request({ purpose: 'emergency' }))).rejects.toThrow(
      'it is the only active key the user has left',
    );
    expect(changes()).toBe(0);
  });

  it('deletes an inactive key though no active key is left: it was nobody’s working key', async () => {
    account({ old: 'Inactive', current: 'missing' });
    noSecret();
    const { deps } = mockDeps();
    await expect(changeKey(deps, policy, request({ change: 'delete' }))).resolves.toMatchObject({
      changed: true,
    });
    expect(iam).toHaveReceivedCommandWith(DeleteAccessKeyCommand, { UserName: 'ci', AccessKeyId: OLD });
  });
});

describe('reactivateKey', () => {
  it('makes the key Active, then forgets its lifecycle records', async () => {
    const { deps } = mockDeps();
    await reactivateKey(deps, 'ci', ARN, OLD);
    expect(iam).toHaveReceivedCommandWith(UpdateAccessKeyCommand, {
      UserName: 'ci',
      AccessKeyId: OLD,
      Status: 'Active',
    });
    expect(secrets).toHaveReceivedCommandWith(UntagResourceCommand, {
      SecretId: ARN,
      TagKeys: [`keyrot:deactivated:${OLD}`, `keyrot:inactive-seen:${OLD}`],
    });
  });
});

describe('one key guard', () => {
  it('is the only code that deactivates or deletes an access key', () => {
    const offenders: string[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        if (statSync(path).isDirectory()) walk(path);
        else if (
          path.endsWith('.ts') &&
          /UpdateAccessKeyCommand|DeleteAccessKeyCommand/.test(readFileSync(path, 'utf8'))
        )
          offenders.push(path);
      }
    };
    walk('lib');
    walk('functions');
    // The test bed seeds accounts (it deactivates demo keys); it is never bundled into a function.
    expect(offenders.sort()).toEqual(['lib/secret/guard.ts', 'lib/testbed/seed.ts']);
  });
});
