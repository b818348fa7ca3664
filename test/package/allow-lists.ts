import type { DeployContext, Template } from '../helpers/cfn.js';
import { rolePolicies } from '../helpers/cfn.js';

/**
 * The exact permissions of each of keyrot's roles: one grant per (action, resource, condition). The
 * template test compares the packaged roles with these, line by line, so any extra statement,
 * action or resource, or a loosened condition, fails with a diff. The least-privilege test generates
 * its forbidden calls from them. Widening a role means changing this file, in review.
 *
 * Placeholders stand for what CloudFormation fills in at deploy time (see SYMBOLIC below).
 */
export interface Grant {
  effect: string;
  action: string;
  resource: string;
  condition?: Record<string, Record<string, string | string[]>>;
}

const USERS = 'arn:aws:iam::<account>:user/*';
const MACHINE_USERS = 'arn:aws:iam::<account>:user/machine/*';
const SECRETS = 'arn:aws:secretsmanager:<region>:<account>:secret:keyrot/*';
/** Slack incoming-webhook URLs, stored as secrets under their own prefix: read only. */
const SLACK_WEBHOOKS = 'arn:aws:secretsmanager:<region>:<account>:secret:keyrot-slack/*';
const LEDGER = '<AlertLedger.Arn>';
/** Targets' tokens and webhook signing secrets, under their own prefix: read only. */
const TARGET_TOKENS = 'arn:aws:secretsmanager:<region>:<account>:secret:keyrot-tokens/*';
/** Parameters aws-ssm targets write in this account. */
const SSM_PARAMETERS = 'arn:aws:ssm:<region>:<account>:parameter/keyrot/*';
/** What the functions that rotate need for targets: their tokens, and aws-ssm parameters. */
const TARGETS = [
  ...allow(['secretsmanager:GetSecretValue'], TARGET_TOKENS),
  ...allow(['ssm:PutParameter', 'ssm:GetParameter'], SSM_PARAMETERS),
];
const TAGGED_BY_KEYROT = { StringLike: { 'secretsmanager:ResourceTag/keyrot:user': '*' } };
const VIA_SECRETS_MANAGER = { StringEquals: { 'kms:ViaService': 'secretsmanager.<region>.amazonaws.com' } };
const VIA_SNS = { StringEquals: { 'kms:ViaService': 'sns.<region>.amazonaws.com' } };

function allow(actions: string[], resource: string, condition?: Grant['condition']): Grant[] {
  return actions.map((action) => ({
    effect: 'Allow',
    action,
    resource,
    ...(condition ? { condition } : {}),
  }));
}

/** What every function needs to alert: the dedup ledger's items and the Slack webhook URLs. */
const ALERTING = [
  ...allow(['dynamodb:PutItem', 'dynamodb:DeleteItem'], LEDGER),
  ...allow(['secretsmanager:GetSecretValue'], SLACK_WEBHOOKS),
];

/** Every role in the template, and what it may do. A role missing here fails the template test. */
export const ALLOW_LISTS: Record<'ScanRole' | 'RotateRole' | 'RetireRole' | 'RespondRole', Grant[]> = {
  ScanRole: [
    // IAM has no resource for these three: "*" is the only accepted value.
    ...allow(
      ['iam:GenerateCredentialReport', 'iam:GetCredentialReport', 'iam:GetAccountAuthorizationDetails'],
      '*',
    ),
    // ListSecrets has no resource either; it returns names and tags, never a value.
    ...allow(['secretsmanager:ListSecrets'], '*'),
    ...allow(['iam:ListAccessKeys', 'iam:GetAccessKeyLastUsed', 'iam:GetLoginProfile'], USERS),
    ...allow(
      [
        'secretsmanager:DescribeSecret',
        'secretsmanager:CreateSecret',
        'secretsmanager:TagResource',
        'secretsmanager:RotateSecret',
        // Dates a pending version, to see a stuck rotation.
        'secretsmanager:ListSecretVersionIds',
      ],
      SECRETS,
    ),
    // Onboarding with a customer-managed key: CreateSecret with KmsKeyId needs both from the caller.
    ...allow(['kms:Decrypt', 'kms:GenerateDataKey'], '<SecretKmsKeyArn>', VIA_SECRETS_MANAGER),
    ...allow(['sqs:SendMessage'], '<FailedInvocations.Arn>'),
    ...allow(['lambda:InvokeFunction'], '<RotateLambdaFunction.Arn>'),
    ...allow(['sns:Publish'], '<AlertTopic>'),
    ...allow(['kms:Decrypt', 'kms:GenerateDataKey'], '<AlertTopicKey.Arn>', VIA_SNS),
    ...ALERTING,
  ],
  RotateRole: [
    ...allow(
      [
        'iam:GetUser',
        'iam:ListAccessKeys',
        'iam:GetAccessKeyLastUsed',
        'iam:CreateAccessKey',
        'iam:DeleteAccessKey',
        // The owner and Slack channel tags, for the alert about a failed step.
        'iam:ListUserTags',
      ],
      MACHINE_USERS,
    ),
    ...allow(
      [
        'secretsmanager:DescribeSecret',
        'secretsmanager:GetSecretValue',
        'secretsmanager:ListSecretVersionIds',
        'secretsmanager:PutSecretValue',
        'secretsmanager:UpdateSecretVersionStage',
        'secretsmanager:TagResource',
        'secretsmanager:UntagResource',
      ],
      SECRETS,
      TAGGED_BY_KEYROT,
    ),
    ...allow(['kms:Decrypt', 'kms:GenerateDataKey'], '<SecretKmsKeyArn>', VIA_SECRETS_MANAGER),
    ...allow(['sns:Publish'], '<AlertTopic>'),
    ...allow(['kms:Decrypt', 'kms:GenerateDataKey'], '<AlertTopicKey.Arn>', VIA_SNS),
    ...ALERTING,
    ...TARGETS,
  ],
  RetireRole: [
    // Selecting the users retirement reads: the credential report and the managed secrets. No
    // resource to scope these to; all read-only.
    ...allow(['iam:GenerateCredentialReport', 'iam:GetCredentialReport', 'secretsmanager:ListSecrets'], '*'),
    ...allow(
      [
        'iam:ListUsers',
        'iam:ListAccessKeys',
        'iam:GetAccessKeyLastUsed',
        'iam:UpdateAccessKey',
        'iam:DeleteAccessKey',
        'iam:ListUserTags',
      ],
      MACHINE_USERS,
    ),
    ...allow(['sqs:SendMessage'], '<FailedInvocations.Arn>'),
    ...allow(['sns:Publish'], '<AlertTopic>'),
    ...allow(['kms:Decrypt', 'kms:GenerateDataKey'], '<AlertTopicKey.Arn>', VIA_SNS),
    ...allow(
      [
        'secretsmanager:DescribeSecret',
        'secretsmanager:GetSecretValue',
        'secretsmanager:TagResource',
        'secretsmanager:UntagResource',
      ],
      SECRETS,
      TAGGED_BY_KEYROT,
    ),
    ...allow(['kms:Decrypt', 'kms:GenerateDataKey'], '<SecretKmsKeyArn>', VIA_SECRETS_MANAGER),
    ...ALERTING,
    // Who still uses a held key: no resource to scope LookupEvents to; read-only.
    ...allow(['cloudtrail:LookupEvents'], '*'),
  ],
  // Leak response: an exposed machine user's key is rotated at once (emergency), onboarding it if needed.
  RespondRole: [
    ...allow(
      [
        'iam:GetUser',
        'iam:ListAccessKeys',
        'iam:GetAccessKeyLastUsed',
        'iam:CreateAccessKey',
        'iam:UpdateAccessKey',
        'iam:DeleteAccessKey',
        'iam:ListUserTags',
      ],
      MACHINE_USERS,
    ),
    ...allow(
      [
        'secretsmanager:DescribeSecret',
        'secretsmanager:GetSecretValue',
        'secretsmanager:ListSecretVersionIds',
        'secretsmanager:PutSecretValue',
        'secretsmanager:UpdateSecretVersionStage',
        'secretsmanager:TagResource',
        'secretsmanager:UntagResource',
      ],
      SECRETS,
      TAGGED_BY_KEYROT,
    ),
    ...allow(['secretsmanager:CreateSecret'], SECRETS, { StringLike: { 'aws:RequestTag/keyrot:user': '*' } }),
    ...allow(['sqs:SendMessage'], '<FailedInvocations.Arn>'),
    ...allow(['sns:Publish'], '<AlertTopic>'),
    ...allow(['kms:Decrypt', 'kms:GenerateDataKey'], '<AlertTopicKey.Arn>', VIA_SNS),
    ...allow(['kms:Decrypt', 'kms:GenerateDataKey'], '<SecretKmsKeyArn>', VIA_SECRETS_MANAGER),
    ...ALERTING,
    ...TARGETS,
    // What the exposed key did, for the alert, and which secret notes a key the response deleted
    // (retirement's grants): no resource to scope these to; read-only, names and tags only.
    ...allow(['cloudtrail:LookupEvents', 'secretsmanager:ListSecrets'], '*'),
  ],
};

/**
 * The grants of the single-account roles that reach that stack's own resources (its queue, alert topic
 * and key, ledger, Slack webhook secrets). In organization mode the hub alerts with its own roles, so
 * the member stack's roles keep everything but these.
 */
const STACK_LOCAL = [
  '<FailedInvocations.Arn>',
  '<AlertTopic>',
  '<AlertTopicKey.Arn>',
  LEDGER,
  SLACK_WEBHOOKS,
];
const accountOnly = (grants: readonly Grant[], keep: readonly string[] = []) =>
  grants.filter((g) => !STACK_LOCAL.includes(g.resource) || keep.includes(g.resource));

/**
 * Organization mode, member account (the StackSet's template): derived from the single-account lists,
 * never written out again. The member role is the scan and retire roles on the account itself, so it
 * can't be broader than they are; the rotate role is the single-account one without that stack's
 * topic, key and ledger (it keeps the Slack webhooks, its only way to alert from a member account).
 */
export const MEMBER_ALLOW_LISTS: Record<'MemberRole' | 'RotateRole', Grant[]> = {
  // Two policies, the scan's and the retire's: a grant both roles have appears twice, as in each role.
  // And one read of its own: the account's alias, which names the account in alerts and digests (no
  // resource to scope ListAccountAliases to: "*" only; read-only).
  MemberRole: [
    ...accountOnly(ALLOW_LISTS.ScanRole),
    ...accountOnly(ALLOW_LISTS.RetireRole),
    ...allow(['iam:ListAccountAliases'], '*'),
  ],
  RotateRole: accountOnly(ALLOW_LISTS.RotateRole, [SLACK_WEBHOOKS]),
};

/**
 * Organization mode, hub account: the scheduler reads the organization; the worker assumes member
 * roles, and alerts as the single-account functions do, with the hub's topic, ledger and Slack webhooks.
 */
export const HUB_ALLOW_LISTS: Record<'SchedulerRole' | 'WorkerRole', Grant[]> = {
  SchedulerRole: [
    // ListAccounts has no resource to scope to: "*" only. Read-only.
    ...allow(['organizations:ListAccounts'], '*'),
    ...[
      'arn:aws:organizations::*:root/<organizationId>/r-*',
      'arn:aws:organizations::*:ou/<organizationId>/ou-*',
    ].flatMap((resource) =>
      allow(
        ['organizations:ListAccountsForParent', 'organizations:ListOrganizationalUnitsForParent'],
        resource,
      ),
    ),
    // Selection by account tag: the tags of this organization's accounts, read-only.
    ...allow(['organizations:ListTagsForResource'], 'arn:aws:organizations::*:account/<organizationId>/*'),
    ...allow(['sqs:SendMessage'], '<AccountQueue.Arn>'),
  ],
  WorkerRole: [
    // The member role, by path and name, in any account of this organization, and nothing else.
    ...allow(['sts:AssumeRole'], 'arn:aws:iam::*:role/keyrot/keyrot-member', {
      StringEquals: { 'aws:ResourceOrgID': '<organizationId>' },
    }),
    ...allow(
      ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility', 'sqs:GetQueueAttributes'],
      '<AccountQueue.Arn>',
    ),
    ...allow(['sns:Publish'], '<AlertTopic>'),
    ...allow(['kms:Decrypt', 'kms:GenerateDataKey'], '<AlertTopicKey.Arn>', VIA_SNS),
    // The ledger's items, and the organization digests' shares and run set kept in the same table.
    ...allow(
      ['dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:UpdateItem', 'dynamodb:BatchGetItem'],
      LEDGER,
    ),
    ...allow(['secretsmanager:GetSecretValue'], SLACK_WEBHOOKS),
  ],
};

/** Each role's managed policies: only the one that lets Lambda write its logs. */
export const MANAGED_POLICIES = ['arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole'];

/** Deploy-time values as placeholders, with the customer-managed key configured so its grants show. */
export const SYMBOLIC: DeployContext = {
  accountId: '<account>',
  region: '<region>',
  parameters: { SecretKmsKeyArn: '<SecretKmsKeyArn>', AlertEmail: '' },
  conditions: { HasSecretKmsKey: true, HasAlertEmail: false },
  refs: { AlertTopic: '<AlertTopic>' },
  getAtt: (resource, attribute) => `<${resource}.${attribute}>`,
};

type Statement = Record<string, unknown>;
const list = (value: unknown): unknown[] =>
  Array.isArray(value) ? value : value === undefined ? [] : [value];

/**
 * A policy document as grants, one per (action, resource). A NotAction or NotResource comes out as
 * an action or resource starting with "NOT ", so it can never equal an allowed grant.
 */
export function grantsOf(document: unknown): Grant[] {
  const statements = list((document as { Statement?: unknown }).Statement) as Statement[];
  return statements.flatMap((statement) => {
    const actions =
      'NotAction' in statement ? list(statement.NotAction).map((a) => `NOT ${a}`) : list(statement.Action);
    const resources =
      'NotResource' in statement
        ? list(statement.NotResource).map((r) => `NOT ${r}`)
        : list(statement.Resource);
    const condition = statement.Condition as Grant['condition'];
    return actions.flatMap((action) =>
      (resources.length > 0 ? resources : ['(no resource)']).map((resource) => ({
        effect: String(statement.Effect),
        action: String(action),
        resource: typeof resource === 'string' ? resource : JSON.stringify(resource),
        ...(condition ? { condition } : {}),
      })),
    );
  });
}

/** One line per grant, sorted: what a reviewer reads in the diff when a role changes. */
export function grantLines(grants: readonly Grant[]): string[] {
  return grants
    .map(
      (g) =>
        `${g.effect} ${g.action} on ${g.resource}${g.condition ? ` if ${JSON.stringify(g.condition)}` : ''}`,
    )
    .sort();
}

/** A role's grants in the packaged template, resolved with the given deploy context. */
export function templateGrants(template: Template, role: string, context: DeployContext = SYMBOLIC): Grant[] {
  return rolePolicies(template, role, context).inline.flatMap((p) => grantsOf(p.document));
}

/** The allow-list with the placeholders replaced by a deployment's values. */
export function resolveGrants(grants: readonly Grant[], values: Record<string, string>): Grant[] {
  const fill = (text: string) =>
    text.replace(/<[^>]+>/g, (placeholder) => values[placeholder] ?? placeholder);
  return grants.map((g) => ({
    ...g,
    resource: fill(g.resource),
    ...(g.condition
      ? {
          condition: Object.fromEntries(
            Object.entries(g.condition).map(([op, entries]) => [
              op,
              Object.fromEntries(
                Object.entries(entries).map(([k, v]) => [k, Array.isArray(v) ? v.map(fill) : fill(v)]),
              ),
            ]),
          ),
        }
      : {}),
  }));
}
