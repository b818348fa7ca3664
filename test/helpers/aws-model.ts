import {
  CreateAccessKeyCommand,
  DeleteAccessKeyCommand,
  GetAccessKeyLastUsedCommand,
  GetUserCommand,
  IAMClient,
  ListAccessKeysCommand,
  UpdateAccessKeyCommand,
} from '@aws-sdk/client-iam';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { expect } from 'vitest';
import { awsError } from './aws-errors.js';

/**
 * A small in-memory model of the IAM and Secrets Manager state one machine user has, served through
 * aws-sdk-client-mock, for unit tests that drive whole use cases (rotation, emergency, rollback)
 * without an emulator. It follows the documented behaviour keyrot relies on: a token's value is
 * immutable (a different value under it is ResourceExistsException), the first version of a secret
 * becomes AWSCURRENT, moving AWSCURRENT makes the old version AWSPREVIOUS, and a stale
 * RemoveFromVersionId is InvalidParameterException. Every command is still recorded by the mocks, so
 * tests assert on the exact calls as well as on the resulting state.
 */
export interface ModelKey {
  id: string;
  secret: string;
  status: 'Active' | 'Inactive';
  created: Date;
  lastUsed?: Date;
}

export interface ModelVersion {
  value?: string;
  stages: string[];
}

export interface ModelSecret {
  arn: string;
  name: string;
  tags: Record<string, string>;
  versions: Map<string, ModelVersion>;
}

export const MODEL_USER = 'ci';
export const MODEL_USER_ARN = 'arn:aws:iam::123456789012:user/machine/ci';
export const MODEL_SECRET_NAME = 'keyrot/ci';
export const MODEL_SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:keyrot/ci-AbCdEf';

export function awsModel() {
  const iam = mockClient(IAMClient);
  const secrets = mockClient(SecretsManagerClient);
  const sts = mockClient(STSClient);
  const state = {
    user: { name: MODEL_USER, arn: MODEL_USER_ARN, path: '/machine/' },
    keys: [] as ModelKey[],
    secret: undefined as ModelSecret | undefined,
    nextKey: 1,
    /** Set to make the next call of a command fail once (crash injection). */
    failOnce: new Map<string, Error>(),
  };

  const userFor = (name: string | undefined) => {
    if (name !== state.user.name) throw awsError('NoSuchEntity', 404);
  };
  const secretFor = (id: string | undefined) => {
    const s = state.secret;
    if (s === undefined || (id !== s.arn && id !== s.name)) throw awsError('ResourceNotFoundException');
    return s;
  };
  const failing = (command: string) => {
    const error = state.failOnce.get(command);
    if (error) {
      state.failOnce.delete(command);
      throw error;
    }
  };
  const moveStage = (s: ModelSecret, stage: string, to: string | undefined, from: string | undefined) => {
    const holder = [...s.versions].find(([, v]) => v.stages.includes(stage))?.[0];
    if (holder !== undefined && to !== undefined && holder !== to && from !== holder)
      throw awsError('InvalidParameterException');
    if (from !== undefined && holder !== from) throw awsError('InvalidParameterException');
    if (holder !== undefined && holder !== to) {
      const v = s.versions.get(holder);
      if (v) v.stages = v.stages.filter((x) => x !== stage);
    }
    if (to !== undefined) {
      const v = s.versions.get(to);
      if (v === undefined) throw awsError('ResourceNotFoundException');
      if (!v.stages.includes(stage)) v.stages.push(stage);
      if (stage === 'AWSCURRENT' && holder !== undefined && holder !== to) {
        for (const other of s.versions.values())
          other.stages = other.stages.filter((x) => x !== 'AWSPREVIOUS');
        s.versions.get(holder)?.stages.push('AWSPREVIOUS');
      }
    }
  };

  function install() {
    iam.reset();
    secrets.reset();
    sts.reset();
    iam.on(GetUserCommand).callsFake((input: { UserName?: string }) => {
      userFor(input.UserName);
      return { User: { UserName: state.user.name, Arn: state.user.arn, Path: state.user.path } };
    });
    iam.on(ListAccessKeysCommand).callsFake((input: { UserName?: string }) => {
      failing('ListAccessKeys');
      userFor(input.UserName);
      return {
        AccessKeyMetadata: state.keys.map((k) => ({
          AccessKeyId: k.id,
          Status: k.status,
          CreateDate: k.created,
          UserName: state.user.name,
        })),
      };
    });
    iam.on(GetAccessKeyLastUsedCommand).callsFake((input: { AccessKeyId?: string }) => {
      const key = state.keys.find((k) => k.id === input.AccessKeyId);
      return {
        AccessKeyLastUsed: key?.lastUsed
          ? { LastUsedDate: key.lastUsed, ServiceName: 'sts', Region: 'us-east-1' }
          : { ServiceName: 'N/A', Region: 'N/A' },
      };
    });
    iam.on(CreateAccessKeyCommand).callsFake((input: { UserName?: string }) => {
      userFor(input.UserName);
      if (state.keys.length >= 2) throw awsError('LimitExceeded', 409);
      const id = `AKIAMODEL${String(state.nextKey++).padStart(11, '0')}`;
      state.keys.push({
        id,
        secret: `fake-secret-${id}`,
        status: 'Active',
        created: new Date(Date.parse('2026-06-01T12:00:00Z') + state.nextKey * 1000),
      });
      failing('CreateAccessKey');
      return {
        AccessKey: {
          AccessKeyId: id,
          SecretAccessKey: `fake-secret-${id}`,
          UserName: state.user.name,
          Status: 'Active',
        },
      };
    });
    iam
      .on(UpdateAccessKeyCommand)
      .callsFake((input: { AccessKeyId?: string; Status?: 'Active' | 'Inactive' }) => {
        const key = state.keys.find((k) => k.id === input.AccessKeyId);
        if (key === undefined) throw awsError('NoSuchEntity', 404);
        key.status = input.Status ?? key.status;
        return {};
      });
    iam.on(DeleteAccessKeyCommand).callsFake((input: { AccessKeyId?: string }) => {
      if (!state.keys.some((k) => k.id === input.AccessKeyId)) throw awsError('NoSuchEntity', 404);
      state.keys = state.keys.filter((k) => k.id !== input.AccessKeyId);
      return {};
    });

    secrets
      .on(CreateSecretCommand)
      .callsFake((input: { Name?: string; Tags?: Array<{ Key?: string; Value?: string }> }) => {
        if (state.secret) throw awsError('ResourceExistsException');
        state.secret = {
          arn: MODEL_SECRET_ARN,
          name: input.Name ?? '',
          tags: Object.fromEntries((input.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? ''])),
          versions: new Map(),
        };
        return { ARN: MODEL_SECRET_ARN, Name: input.Name };
      });
    secrets.on(DescribeSecretCommand).callsFake((input: { SecretId?: string }) => {
      failing('DescribeSecret');
      const s = secretFor(input.SecretId);
      return {
        ARN: s.arn,
        Name: s.name,
        RotationEnabled: false,
        // "VersionIdsToStages: A list of the versions of the secret that have staging labels attached"
        // (DescribeSecret, Secrets Manager API Reference): a version without a label is not listed.
        VersionIdsToStages: Object.fromEntries(
          [...s.versions].filter(([, v]) => v.stages.length > 0).map(([id, v]) => [id, [...v.stages]]),
        ),
        Tags: Object.entries(s.tags).map(([Key, Value]) => ({ Key, Value })),
      };
    });
    secrets.on(GetSecretValueCommand).callsFake((input: { SecretId?: string; VersionId?: string }) => {
      const s = secretFor(input.SecretId);
      const v = input.VersionId === undefined ? undefined : s.versions.get(input.VersionId);
      if (v?.value === undefined) throw awsError('ResourceNotFoundException');
      return { SecretString: v.value, VersionId: input.VersionId };
    });
    secrets
      .on(ListSecretVersionIdsCommand)
      .callsFake((input: { SecretId?: string; IncludeDeprecated?: boolean }) => {
        const s = secretFor(input.SecretId);
        // Versions without a staging label are deprecated, and listed only with IncludeDeprecated
        // (ListSecretVersionIds, Secrets Manager API Reference).
        const listed = [...s.versions].filter(
          ([, v]) => input.IncludeDeprecated === true || v.stages.length > 0,
        );
        return { Versions: listed.map(([VersionId, v]) => ({ VersionId, VersionStages: v.stages })) };
      });
    secrets
      .on(PutSecretValueCommand)
      .callsFake(
        (input: {
          SecretId?: string;
          ClientRequestToken?: string;
          SecretString?: string;
          VersionStages?: string[];
        }) => {
          failing('PutSecretValue');
          const s = secretFor(input.SecretId);
          const token = input.ClientRequestToken ?? `v${s.versions.size + 1}`;
          const existing = s.versions.get(token);
          if (existing) {
            if (existing.value !== input.SecretString) throw awsError('ResourceExistsException');
            return { VersionId: token };
          }
          const first = s.versions.size === 0;
          s.versions.set(token, { value: input.SecretString, stages: [] });
          for (const stage of input.VersionStages ?? ['AWSCURRENT']) moveStage(s, stage, token, undefined);
          if (first && !s.versions.get(token)?.stages.includes('AWSCURRENT'))
            s.versions.get(token)?.stages.push('AWSCURRENT');
          return { VersionId: token };
        },
      );
    secrets
      .on(UpdateSecretVersionStageCommand)
      .callsFake(
        (input: {
          SecretId?: string;
          VersionStage?: string;
          MoveToVersionId?: string;
          RemoveFromVersionId?: string;
        }) => {
          failing('UpdateSecretVersionStage');
          const s = secretFor(input.SecretId);
          moveStage(s, input.VersionStage ?? '', input.MoveToVersionId, input.RemoveFromVersionId);
          return {};
        },
      );
    secrets
      .on(TagResourceCommand)
      .callsFake((input: { SecretId?: string; Tags?: Array<{ Key?: string; Value?: string }> }) => {
        failing('TagResource');
        const s = secretFor(input.SecretId);
        for (const t of input.Tags ?? []) s.tags[t.Key ?? ''] = t.Value ?? '';
        return {};
      });
    secrets.on(UntagResourceCommand).callsFake((input: { SecretId?: string; TagKeys?: string[] }) => {
      const s = secretFor(input.SecretId);
      for (const k of input.TagKeys ?? []) delete s.tags[k];
      return {};
    });
    sts
      .on(GetCallerIdentityCommand)
      .callsFake(() => ({ Arn: state.user.arn, Account: '123456789012', UserId: 'AIDA' }));
  }

  /** Adds a key to the user (a pre-keyrot key, or one keyrot made earlier). */
  function addKey(id: string, options: Partial<Omit<ModelKey, 'id'>> = {}): ModelKey {
    const key: ModelKey = {
      id,
      secret: options.secret ?? `fake-secret-${id}`,
      status: options.status ?? 'Active',
      created: options.created ?? new Date('2026-01-01T00:00:00Z'),
      ...(options.lastUsed ? { lastUsed: options.lastUsed } : {}),
    };
    state.keys.push(key);
    return key;
  }

  /** Creates the user's keyrot secret, with versions id -> [key id, stages]. */
  function addSecret(versions: Record<string, [string, string[]]> = {}, tags: Record<string, string> = {}) {
    state.secret = {
      arn: MODEL_SECRET_ARN,
      name: MODEL_SECRET_NAME,
      tags: { 'keyrot:user': state.user.name, 'keyrot:user-arn': state.user.arn, ...tags },
      versions: new Map(
        Object.entries(versions).map(([id, [keyId, stages]]) => [
          id,
          { value: credentialOf(keyId, state.user.name), stages: [...stages] },
        ]),
      ),
    };
    return state.secret;
  }

  const key = (id: string) => state.keys.find((k) => k.id === id);
  const stageHolder = (stage: string) =>
    [...(state.secret?.versions ?? new Map<string, ModelVersion>())].find(([, v]) =>
      v.stages.includes(stage),
    )?.[0];
  /** The access key id a stage's version holds. */
  const keyAt = (stage: string) => {
    const id = stageHolder(stage);
    const value = id === undefined ? undefined : state.secret?.versions.get(id)?.value;
    return value === undefined ? undefined : (JSON.parse(value) as { AccessKeyId: string }).AccessKeyId;
  };

  return { iam, secrets, sts, state, install, addKey, addSecret, key, stageHolder, keyAt };
}

export const credentialOf = (id: string, userName = MODEL_USER) =>
  JSON.stringify({
    Version: 1,
    AccessKeyId: id,
    SecretAccessKey: `fake-secret-${id}`,
    UserName: userName,
    CreatedAt: '2026-01-01T00:00:00.000Z',
  });

type AwsModel = ReturnType<typeof awsModel>;

/** No key was created, switched or deleted. */
export function expectNoKeyChanged(aws: AwsModel): void {
  expect(aws.iam).not.toHaveReceivedCommand(CreateAccessKeyCommand);
  expect(aws.iam).not.toHaveReceivedCommand(UpdateAccessKeyCommand);
  expect(aws.iam).not.toHaveReceivedCommand(DeleteAccessKeyCommand);
}

/** No key changed, and neither did the secret: no stage moved, no tag written, no value stored. */
export function expectNothingChanged(aws: AwsModel): void {
  expectNoKeyChanged(aws);
  expect(aws.secrets).not.toHaveReceivedCommand(UpdateSecretVersionStageCommand);
  expect(aws.secrets).not.toHaveReceivedCommand(TagResourceCommand);
  expect(aws.secrets).not.toHaveReceivedCommand(PutSecretValueCommand);
}

/** The error a promise rejects with; a promise that resolves, or rejects with no Error, fails the test. */
export async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof Error)) throw new Error(`expected a rejection, got ${String(error)}`);
  return error;
}
