// An osls plugin: writes, beside the single-account template, the member template of organization
// mode (keyrot-member.json), which a service-managed CloudFormation StackSet deploys to every member
// account. It is derived from the single-account stack, not written by hand: the same rotate function
// (same code, settings and RotateRole, less the statements that reach the single-account stack's
// alert topic, its key and ledger), and a member role holding exactly the ScanRole and RetireRole
// statements that act on the account itself (plus iam:ListAccountAliases, read-only, for the account's
// name in alerts). So the member role can never be broader than the scan and retire roles and that
// one read, and a grant added to them reaches the member accounts with the next package.
// A StackSet can't use osls's deployment bucket: the function's code comes from a bucket the member
// accounts can read (the hub stack's MemberCodeBucket), named by the CodeBucket and RotateCodeKey
// parameters.
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { referencedIds } from './redundant-depends-on.js';

export const MEMBER_TEMPLATE_FILE = 'keyrot-member.json';

/** The single-account resources a member account runs: the rotate function and what it needs. */
const ROTATE_RESOURCES = [
  'RotateLogGroup',
  'RotateLambdaFunction',
  'RotateRole',
  'RotateInvokedBySecretsManager',
];

/** Statements of the scan and retire roles the hub keeps on its side: its alerting and its queue. */
export const HUB_SIDE_SIDS = [
  'ParkFailedInvocations',
  'PublishAlerts',
  'AlertTopicKey',
  'AlertLedger',
  'SlackWebhooks',
];

/** Statements of the rotate role that reach the single-account stack's alert topic, key and ledger. */
const ROTATE_ALERTING_SIDS = ['PublishAlerts', 'AlertTopicKey', 'AlertLedger'];

const clone = (value) => JSON.parse(JSON.stringify(value));
/** A statement kept behind Fn::If (the customer-managed key) carries its Sid inside. */
const sidOf = (statement) => statement?.Sid ?? statement?.['Fn::If']?.[1]?.Sid;

function withoutStatements(policy, sids) {
  const document = policy.PolicyDocument;
  return {
    ...policy,
    PolicyDocument: { ...document, Statement: document.Statement.filter((s) => !sids.includes(sidOf(s))) },
  };
}

/** The member template, built from the packaged single-account template (which it leaves as it is). */
export function memberTemplate(template) {
  const source = template.Resources ?? {};
  for (const id of [...ROTATE_RESOURCES, 'ScanRole', 'RetireRole'])
    if (!source[id]) throw new Error(`member template: the single-account template has no ${id}`);
  const resources = Object.fromEntries(ROTATE_RESOURCES.map((id) => [id, clone(source[id])]));

  const fn = resources.RotateLambdaFunction;
  fn.Properties.Code = { S3Bucket: { Ref: 'CodeBucket' }, S3Key: { Ref: 'RotateCodeKey' } };
  // Environment variables that name single-account resources (the alert topic, the ledger) go: the
  // function then alerts through the config's Slack channels and its log only.
  const variables = fn.Properties.Environment?.Variables ?? {};
  for (const [name, value] of Object.entries(variables))
    if ([...referencedIds(value)].some((id) => !resources[id] && !id.startsWith('AWS::')))
      delete variables[name];
  const role = resources.RotateRole;
  role.Properties.Policies = role.Properties.Policies.map((p) => withoutStatements(p, ROTATE_ALERTING_SIDS));

  const memberPolicy = (from, name) => {
    const [policy] = source[from].Properties.Policies;
    return { ...withoutStatements(clone(policy), HUB_SIDE_SIDS), PolicyName: name };
  };
  resources.MemberRole = {
    Type: 'AWS::IAM::Role',
    Properties: {
      RoleName: { Ref: 'MemberRoleName' },
      Path: { Ref: 'MemberRolePath' },
      Description: 'keyrot organization mode: the hub worker scans and retires in this account as this role',
      // Only the hub's worker role, and only with the ExternalId the hub is configured with.
      AssumeRolePolicyDocument: {
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: {
              // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation's Fn::Sub, not JavaScript
              AWS: { 'Fn::Sub': 'arn:${AWS::Partition}:iam::${HubAccountId}:role/${HubWorkerRoleName}' },
            },
            Action: 'sts:AssumeRole',
            Condition: { StringEquals: { 'sts:ExternalId': { Ref: 'ExternalId' } } },
          },
        ],
      },
      Policies: [
        memberPolicy('ScanRole', 'keyrot-member-scan'),
        memberPolicy('RetireRole', 'keyrot-member-retire'),
        // The one grant the single-account roles don't have: the hub names the account in alerts and
        // digests by its IAM alias. ListAccountAliases has no resource to scope to (IAM accepts only
        // "*"); it is read-only and returns the alias alone.
        {
          PolicyName: 'keyrot-member-account',
          PolicyDocument: {
            Version: '2012-10-17',
            Statement: [
              { Sid: 'AccountAlias', Effect: 'Allow', Action: 'iam:ListAccountAliases', Resource: '*' },
            ],
          },
        },
      ],
    },
  };

  for (const resource of Object.values(resources)) {
    if (resource.DependsOn === undefined) continue;
    const kept = [resource.DependsOn].flat().filter((id) => resources[id]);
    if (kept.length === 0) delete resource.DependsOn;
    else resource.DependsOn = kept;
  }
  const parameters = {
    CodeBucket: {
      Type: 'String',
      Description:
        "The bucket holding the rotate function's zip (the hub stack's MemberCodeBucket), in this region",
    },
    RotateCodeKey: { Type: 'String', Description: 'The S3 key of rotate.zip in CodeBucket' },
    HubAccountId: {
      Type: 'String',
      AllowedPattern: '^[0-9]{12}$',
      Description: 'The account the hub stack runs in (the management account or a delegated administrator)',
    },
    HubWorkerRoleName: {
      Type: 'String',
      Description: "The hub worker's role name (the hub stack's WorkerRoleName output)",
    },
    ExternalId: {
      Type: 'String',
      NoEcho: true,
      MinLength: 2,
      Description:
        'The ExternalId the hub worker assumes the member role with (the hub parameter memberExternalId)',
    },
    MemberRolePath: {
      Type: 'String',
      Default: '/keyrot/',
      AllowedPattern: '^/([A-Za-z0-9+=,.@_-]+/)*$',
      Description:
        'The member role path; the hub may assume roles under it only (the hub parameter memberRolePath)',
    },
    MemberRoleName: {
      Type: 'String',
      Default: 'keyrot-member',
      Description: 'The member role name (the hub parameter memberRoleName)',
    },
    ...clone(
      template.Parameters?.SecretKmsKeyArn ? { SecretKmsKeyArn: template.Parameters.SecretKmsKeyArn } : {},
    ),
  };
  const used = new Set();
  for (const resource of Object.values(resources)) referencedIds(resource, used);
  for (const id of used)
    if (!resources[id] && !parameters[id] && !id.startsWith('AWS::'))
      throw new Error(`member template: ${id} is referenced but not part of the member template`);
  return {
    AWSTemplateFormatVersion: '2010-09-09',
    Description:
      'keyrot organization mode, member account: the rotate function and the member role the hub assumes (deploy with a service-managed StackSet)',
    Parameters: parameters,
    Conditions: clone(
      Object.fromEntries(
        Object.entries(template.Conditions ?? {}).filter(([id]) =>
          JSON.stringify(resources).includes(`"${id}"`),
        ),
      ),
    ),
    Resources: resources,
    Outputs: {
      MemberRoleArn: { Value: { 'Fn::GetAtt': ['MemberRole', 'Arn'] } },
      RotateFunctionArn: { Value: { 'Fn::GetAtt': ['RotateLambdaFunction', 'Arn'] } },
    },
  };
}

export default class MemberTemplatePlugin {
  constructor(serverless, options, { log }) {
    this.serverless = serverless;
    this.options = options;
    this.log = log;
    this.hooks = {
      // Last, once osls has written the package directory (it empties it before).
      'after:package:finalize': () => this.write(),
    };
  }

  async write() {
    const template = this.serverless.service.provider.compiledCloudFormationTemplate;
    const dir = this.options.package
      ? resolve(this.options.package)
      : join(this.serverless.serviceDir, this.serverless.service.package?.path ?? '.serverless');
    await mkdir(dir, { recursive: true });
    const path = join(dir, MEMBER_TEMPLATE_FILE);
    await writeFile(path, `${JSON.stringify(memberTemplate(template), null, 2)}\n`);
    this.log.info(`keyrot: wrote the organization member template (StackSet) to ${path}`);
  }
}
