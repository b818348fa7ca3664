import {
  AttachRolePolicyCommand,
  AttachUserPolicyCommand,
  CreateAccessKeyCommand,
  CreateLoginProfileCommand,
  CreateUserCommand,
  DeleteAccessKeyCommand,
  DeleteUserCommand,
  GenerateCredentialReportCommand,
  GetAccessKeyLastUsedCommand,
  GetAccountAuthorizationDetailsCommand,
  GetCredentialReportCommand,
  GetLoginProfileCommand,
  GetUserCommand,
  type IAMClient,
  ListAccessKeysCommand,
  ListUsersCommand,
  ListUserTagsCommand,
  PutRolePolicyCommand,
  PutUserPolicyCommand,
  TagUserCommand,
  UpdateAccessKeyCommand,
  UpdateAssumeRolePolicyCommand,
} from '@aws-sdk/client-iam';
import {
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  type KMSClient,
  ScheduleKeyDeletionCommand,
} from '@aws-sdk/client-kms';
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  ListSecretVersionIdsCommand,
  PutResourcePolicyCommand,
  PutSecretValueCommand,
  RotateSecretCommand,
  type SecretsManagerClient,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateSecretCommand,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import {
  CreateTopicCommand,
  DeleteTopicCommand,
  PublishCommand,
  SetTopicAttributesCommand,
  type SNSClient,
  SubscribeCommand,
} from '@aws-sdk/client-sns';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { AssumeRoleCommand, type STSClient } from '@aws-sdk/client-sts';
import type { Grant } from './allow-lists.js';

/** Clients that sign as one identity. */
export interface ProbeClients {
  iam: IAMClient;
  sts: STSClient;
  secrets: SecretsManagerClient;
  sns: SNSClient;
  kms: KMSClient;
  sqs: SQSClient;
}

/** Something in the emulated account a call can act on, with the request context IAM would see. */
export interface Target {
  label: string;
  arn: string;
  context?: Record<string, string>;
  /** user: name, path, one key id. secret: name, current version id. queue: URL. */
  name?: string;
  path?: string;
  keyId?: string;
  versionId?: string;
  url?: string;
  /** key: something encrypted under it, for kms:Decrypt. */
  ciphertext?: Uint8Array;
}

export type TargetType = 'account' | 'user' | 'secret' | 'topic' | 'key' | 'queue' | 'role';

export interface Probe {
  action: string;
  /** The resource IAM authorizes the call against, when it isn't the target's own ARN. */
  resourceOf?: (target: Target, account: string) => string;
  call(c: ProbeClients, target: Target): Promise<unknown>;
}

const adminPolicy = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
});
const ADMIN_ARN = 'arn:aws:iam::aws:policy/AdministratorAccess';

/**
 * The calls the probes can make, by the kind of resource they act on. For every role, every call here
 * on every target of its kind is made unless the role's allow-list covers it, so each grant's
 * neighbouring actions (same resource, other action) and neighbouring resources (same action, other
 * resource) are all tried. The escalation-prone actions are here for every role.
 */
export const CATALOGUE: Record<TargetType, Probe[]> = {
  account: [
    {
      action: 'iam:GenerateCredentialReport',
      call: (c) => c.iam.send(new GenerateCredentialReportCommand({})),
    },
    { action: 'iam:GetCredentialReport', call: (c) => c.iam.send(new GetCredentialReportCommand({})) },
    {
      action: 'iam:GetAccountAuthorizationDetails',
      call: (c) => c.iam.send(new GetAccountAuthorizationDetailsCommand({})),
    },
    { action: 'secretsmanager:ListSecrets', call: (c) => c.secrets.send(new ListSecretsCommand({})) },
    { action: 'sns:CreateTopic', call: (c) => c.sns.send(new CreateTopicCommand({ Name: 'probe-topic' })) },
    { action: 'kms:CreateKey', call: (c) => c.kms.send(new CreateKeyCommand({})) },
  ],
  user: [
    {
      action: 'iam:ListUsers',
      resourceOf: (t, account) => `arn:aws:iam::${account}:user${t.path}`,
      call: (c, t) => c.iam.send(new ListUsersCommand({ PathPrefix: t.path })),
    },
    {
      action: 'iam:CreateUser',
      resourceOf: (t, account) => `arn:aws:iam::${account}:user${t.path}probe-new-user`,
      call: (c, t) => c.iam.send(new CreateUserCommand({ UserName: 'probe-new-user', Path: t.path })),
    },
    { action: 'iam:GetUser', call: (c, t) => c.iam.send(new GetUserCommand({ UserName: t.name })) },
    { action: 'iam:DeleteUser', call: (c, t) => c.iam.send(new DeleteUserCommand({ UserName: t.name })) },
    {
      action: 'iam:ListAccessKeys',
      call: (c, t) => c.iam.send(new ListAccessKeysCommand({ UserName: t.name })),
    },
    {
      action: 'iam:GetAccessKeyLastUsed',
      call: (c, t) => c.iam.send(new GetAccessKeyLastUsedCommand({ AccessKeyId: t.keyId })),
    },
    {
      action: 'iam:CreateAccessKey',
      call: (c, t) => c.iam.send(new CreateAccessKeyCommand({ UserName: t.name })),
    },
    {
      action: 'iam:UpdateAccessKey',
      call: (c, t) =>
        c.iam.send(
          new UpdateAccessKeyCommand({ UserName: t.name, AccessKeyId: t.keyId, Status: 'Inactive' }),
        ),
    },
    {
      action: 'iam:DeleteAccessKey',
      call: (c, t) => c.iam.send(new DeleteAccessKeyCommand({ UserName: t.name, AccessKeyId: t.keyId })),
    },
    { action: 'iam:ListUserTags', call: (c, t) => c.iam.send(new ListUserTagsCommand({ UserName: t.name })) },
    {
      action: 'iam:TagUser',
      call: (c, t) =>
        c.iam.send(new TagUserCommand({ UserName: t.name, Tags: [{ Key: 'owner', Value: 'x' }] })),
    },
    {
      action: 'iam:GetLoginProfile',
      call: (c, t) => c.iam.send(new GetLoginProfileCommand({ UserName: t.name })),
    },
    {
      action: 'iam:CreateLoginProfile',
      call: (c, t) =>
        c.iam.send(new CreateLoginProfileCommand({ UserName: t.name, Password: 'Probe-Password-123!' })),
    },
    {
      action: 'iam:AttachUserPolicy',
      call: (c, t) => c.iam.send(new AttachUserPolicyCommand({ UserName: t.name, PolicyArn: ADMIN_ARN })),
    },
    {
      action: 'iam:PutUserPolicy',
      call: (c, t) =>
        c.iam.send(
          new PutUserPolicyCommand({ UserName: t.name, PolicyName: 'probe', PolicyDocument: adminPolicy }),
        ),
    },
  ],
  role: [
    {
      action: 'sts:AssumeRole',
      call: (c, t) => c.sts.send(new AssumeRoleCommand({ RoleArn: t.arn, RoleSessionName: 'probe' })),
    },
    {
      action: 'iam:PutRolePolicy',
      call: (c, t) =>
        c.iam.send(
          new PutRolePolicyCommand({ RoleName: t.name, PolicyName: 'probe', PolicyDocument: adminPolicy }),
        ),
    },
    {
      action: 'iam:AttachRolePolicy',
      call: (c, t) => c.iam.send(new AttachRolePolicyCommand({ RoleName: t.name, PolicyArn: ADMIN_ARN })),
    },
    {
      action: 'iam:UpdateAssumeRolePolicy',
      call: (c, t) =>
        c.iam.send(new UpdateAssumeRolePolicyCommand({ RoleName: t.name, PolicyDocument: adminPolicy })),
    },
  ],
  secret: [
    {
      action: 'secretsmanager:CreateSecret',
      resourceOf: (t) => t.arn.replace(/-[A-Za-z0-9]{6}$/, ''),
      call: (c, t) => c.secrets.send(new CreateSecretCommand({ Name: t.name, SecretString: 'probe' })),
    },
    {
      action: 'secretsmanager:DescribeSecret',
      call: (c, t) => c.secrets.send(new DescribeSecretCommand({ SecretId: t.name })),
    },
    {
      action: 'secretsmanager:GetSecretValue',
      call: (c, t) => c.secrets.send(new GetSecretValueCommand({ SecretId: t.name })),
    },
    {
      action: 'secretsmanager:ListSecretVersionIds',
      call: (c, t) => c.secrets.send(new ListSecretVersionIdsCommand({ SecretId: t.name })),
    },
    {
      action: 'secretsmanager:PutSecretValue',
      call: (c, t) => c.secrets.send(new PutSecretValueCommand({ SecretId: t.name, SecretString: 'probe' })),
    },
    {
      action: 'secretsmanager:UpdateSecretVersionStage',
      call: (c, t) =>
        c.secrets.send(
          new UpdateSecretVersionStageCommand({
            SecretId: t.name,
            VersionStage: 'AWSPENDING',
            MoveToVersionId: t.versionId,
          }),
        ),
    },
    {
      action: 'secretsmanager:TagResource',
      call: (c, t) =>
        c.secrets.send(new TagResourceCommand({ SecretId: t.name, Tags: [{ Key: 'probe', Value: 'x' }] })),
    },
    {
      action: 'secretsmanager:UntagResource',
      call: (c, t) =>
        c.secrets.send(new UntagResourceCommand({ SecretId: t.name, TagKeys: ['keyrot:user'] })),
    },
    {
      action: 'secretsmanager:UpdateSecret',
      call: (c, t) => c.secrets.send(new UpdateSecretCommand({ SecretId: t.name, Description: 'probe' })),
    },
    {
      action: 'secretsmanager:DeleteSecret',
      call: (c, t) =>
        c.secrets.send(new DeleteSecretCommand({ SecretId: t.name, ForceDeleteWithoutRecovery: true })),
    },
    {
      action: 'secretsmanager:RotateSecret',
      call: (c, t) => c.secrets.send(new RotateSecretCommand({ SecretId: t.name })),
    },
    {
      action: 'secretsmanager:PutResourcePolicy',
      call: (c, t) =>
        c.secrets.send(
          new PutResourcePolicyCommand({
            SecretId: t.name,
            ResourcePolicy: JSON.stringify({
              Version: '2012-10-17',
              Statement: [
                {
                  Effect: 'Allow',
                  Principal: { AWS: '*' },
                  Action: 'secretsmanager:GetSecretValue',
                  Resource: '*',
                },
              ],
            }),
          }),
        ),
    },
  ],
  topic: [
    {
      action: 'sns:Publish',
      call: (c, t) => c.sns.send(new PublishCommand({ TopicArn: t.arn, Message: 'probe' })),
    },
    {
      action: 'sns:Subscribe',
      call: (c, t) =>
        c.sns.send(
          new SubscribeCommand({ TopicArn: t.arn, Protocol: 'email', Endpoint: 'probe@example.com' }),
        ),
    },
    {
      action: 'sns:SetTopicAttributes',
      call: (c, t) =>
        c.sns.send(
          new SetTopicAttributesCommand({
            TopicArn: t.arn,
            AttributeName: 'DisplayName',
            AttributeValue: 'probe',
          }),
        ),
    },
    { action: 'sns:DeleteTopic', call: (c, t) => c.sns.send(new DeleteTopicCommand({ TopicArn: t.arn })) },
  ],
  key: [
    // Called directly, not through Secrets Manager or SNS: kms:ViaService is absent.
    {
      action: 'kms:Decrypt',
      call: (c, t) => c.kms.send(new DecryptCommand({ KeyId: t.arn, CiphertextBlob: t.ciphertext })),
    },
    {
      action: 'kms:GenerateDataKey',
      call: (c, t) => c.kms.send(new GenerateDataKeyCommand({ KeyId: t.arn, KeySpec: 'AES_256' })),
    },
    {
      action: 'kms:Encrypt',
      call: (c, t) =>
        c.kms.send(new EncryptCommand({ KeyId: t.arn, Plaintext: new TextEncoder().encode('x') })),
    },
    { action: 'kms:DescribeKey', call: (c, t) => c.kms.send(new DescribeKeyCommand({ KeyId: t.arn })) },
    { action: 'kms:DisableKey', call: (c, t) => c.kms.send(new DisableKeyCommand({ KeyId: t.arn })) },
    {
      action: 'kms:ScheduleKeyDeletion',
      call: (c, t) => c.kms.send(new ScheduleKeyDeletionCommand({ KeyId: t.arn, PendingWindowInDays: 7 })),
    },
  ],
  queue: [
    {
      action: 'sqs:SendMessage',
      call: (c, t) => c.sqs.send(new SendMessageCommand({ QueueUrl: t.url, MessageBody: 'probe' })),
    },
  ],
};

/** The error each service answers a refused call with (see the shim's docstring for the sources). */
export function deniedErrorName(action: string): string {
  const service = action.split(':')[0];
  if (service === 'secretsmanager' || service === 'kms') return 'AccessDeniedException';
  // SNS answers AuthorizationError; SDK v3 names its modelled exceptions with the suffix.
  if (service === 'sns') return 'AuthorizationErrorException';
  return 'AccessDenied';
}

/** IAM's wildcard matching: `*` any run of characters, `?` one; case-sensitive. */
export function wildcardMatch(pattern: string, value: string): boolean {
  const regex = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${regex}$`, 's').test(value);
}

/**
 * Whether an allow-list grant covers a call on a target. The allow-lists use exact action names and
 * only StringEquals / StringLike conditions; anything else is an error here, so a new kind of grant
 * can't be silently misread.
 */
export function covers(
  grants: readonly Grant[],
  action: string,
  resource: string,
  context: Record<string, string>,
) {
  return grants.some((g) => {
    if (g.effect !== 'Allow' || g.action !== action || !wildcardMatch(g.resource, resource)) return false;
    return Object.entries(g.condition ?? {}).every(([operator, entries]) =>
      Object.entries(entries).every(([key, expected]) => {
        const values = Array.isArray(expected) ? expected : [expected];
        const actual = context[key];
        if (actual === undefined) return false;
        if (operator === 'StringEquals') return values.includes(actual);
        if (operator === 'StringLike') return values.some((v) => wildcardMatch(v, actual));
        throw new Error(`covers: the condition operator ${operator} is not modelled`);
      }),
    );
  });
}
