import { IAMClient } from '@aws-sdk/client-iam';
import {
  type DescribeSecretCommandOutput,
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
  UntagResourceCommand,
} from '@aws-sdk/client-secrets-manager';
import { STSClient } from '@aws-sdk/client-sts';
import type { AwsStub } from 'aws-sdk-client-mock';
import type { RotationDeps } from '../../lib/rotation/steps.js';
import { formatIntent, type Intent, TAG } from '../../lib/secret/secret.js';
import type { Target } from '../../lib/targets/target.js';
import { manualClock } from './clock.js';

export const ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:keyrot/ci-AbCdEf';
export const USER_ARN = 'arn:aws:iam::123456789012:user/machine/ci';
export const TOKEN = '11111111-2222-3333-4444-555555555555';
export const START = new Date('2026-06-01T12:00:00Z');

export function describeOutput(
  versions: Record<string, string[]>,
  options: {
    intent?: Intent;
    cutover?: string;
    rotationEnabled?: boolean;
    name?: string;
    tags?: boolean;
  } = {},
): DescribeSecretCommandOutput {
  const tags =
    options.tags === false
      ? []
      : [
          { Key: TAG.user, Value: 'ci' },
          { Key: TAG.userArn, Value: USER_ARN },
          ...(options.intent ? [{ Key: TAG.intent, Value: formatIntent(options.intent) }] : []),
          ...(options.cutover
            ? [{ Key: TAG.cutover, Value: `${options.cutover} 2026-05-01T00:00:00.000Z` }]
            : []),
        ];
  return {
    ARN,
    Name: options.name ?? 'keyrot/ci',
    RotationEnabled: options.rotationEnabled ?? true,
    VersionIdsToStages: versions,
    Tags: tags,
    $metadata: {},
  };
}

export const credential = (id: string) =>
  JSON.stringify({
    Version: 1,
    AccessKeyId: id,
    SecretAccessKey: `secret-of-${id}`,
    UserName: 'ci',
    CreatedAt: START.toISOString(),
  });

export function fakeTarget(
  name: string,
  behaviour: { push?: () => Promise<void>; verify?: () => Promise<void> } = {},
) {
  const pushed: string[] = [];
  const verified: string[] = [];
  const target: Target = {
    type: 'fake',
    name,
    push: async (c) => {
      pushed.push(c.accessKeyId);
      await behaviour.push?.();
    },
    verify: async (c) => {
      verified.push(c.accessKeyId);
      await behaviour.verify?.();
    },
  };
  return { target, pushed, verified };
}

export function mockDeps(
  targets: Target[] = [],
  settings: RotationDeps['settings'] = {
    propagationTimeoutMs: 120_000,
    abandonAfterMs: 15 * 60_000,
    idleDaysBeforeDeactivate: 3,
    deleteAfterDays: 7,
  },
) {
  const clock = manualClock(START);
  const deps: RotationDeps = {
    clients: {
      iam: new IAMClient({}),
      secrets: new SecretsManagerClient({}),
      stsWith: () => new STSClient({}),
    },
    clock,
    targetsFor: () => targets,
    settings,
  };
  return { deps, clock };
}

/**
 * Makes a mocked Secrets Manager keep what PutSecretValue stores under a token, so createSecret's
 * read-back finds its own value; other versions are not found unless a test says otherwise.
 */
// biome-ignore lint/suspicious/noExplicitAny: the stub of any client's mock
export function keepPutValues(secrets: AwsStub<any, any, any>): void {
  const stored = new Map<string, string>();
  secrets
    .on(PutSecretValueCommand)
    .callsFake((input: { ClientRequestToken?: string; SecretString?: string }) => {
      stored.set(input.ClientRequestToken ?? '', input.SecretString ?? '');
      return { VersionId: input.ClientRequestToken };
    });
  secrets.on(GetSecretValueCommand).callsFake((input: { VersionId?: string }) => {
    const value = stored.get(input.VersionId ?? '');
    if (value !== undefined) return { SecretString: value };
    throw Object.assign(new Error('not found'), {
      name: 'ResourceNotFoundException',
      $metadata: { httpStatusCode: 400 },
    });
  });
  secrets.on(UntagResourceCommand).resolves({});
  secrets.on(ListSecretVersionIdsCommand).resolves({ Versions: [] });
}

/** GetUser's answer for the machine user the mocks' secret belongs to (IAM is the truth about users). */
export function machineUser(userName = 'ci') {
  return {
    User: { UserName: userName, Arn: USER_ARN, Path: '/machine/', UserId: 'AIDATEST', CreateDate: START },
  };
}
