import { execFile } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  CloudFormationClient,
  CreateStackInstancesCommand,
  CreateStackSetCommand,
  DescribeStacksCommand,
  ListStackInstancesCommand,
  paginateListStackResources,
  type StackResourceSummary,
} from '@aws-sdk/client-cloudformation';
import { DescribeTableCommand, DescribeTimeToLiveCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, ListRulesCommand, ListTargetsByRuleCommand } from '@aws-sdk/client-eventbridge';
import { GetRoleCommand, IAMClient, ListRolePoliciesCommand } from '@aws-sdk/client-iam';
import {
  GetEventSourceMappingCommand,
  GetFunctionCommand,
  GetFunctionConfigurationCommand,
  GetPolicyCommand,
  LambdaClient,
} from '@aws-sdk/client-lambda';
import {
  CreateAccountCommand,
  CreateOrganizationalUnitCommand,
  CreateOrganizationCommand,
  ListRootsCommand,
  MoveAccountCommand,
  OrganizationsClient,
} from '@aws-sdk/client-organizations';
import { GetTopicAttributesCommand, SNSClient } from '@aws-sdk/client-sns';
import { GetQueueAttributesCommand, GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Emulator, startMoto } from '../../lib/testbed/moto.js';
import { MEMBER_TEMPLATE_FILE } from '../../serverless/member-template.js';
import { readPackagedTemplate, type Template } from '../helpers/cfn.js';
import { HUB_PARAMS } from '../helpers/package-global-setup.js';

/**
 * `osls deploy` of the packaged single-account stack against moto (AWS_ENDPOINT_URL), then what moto
 * created, read back through each service's own API. moto's CloudFormation runs cfn-lint on the
 * template first and refuses it on any warning, so this also proves the template lints clean.
 */
const run = promisify(execFile);
const STACK = 'keyrot-ci';
const ACCOUNT = '123456789012';

/**
 * Resource types moto 5.2.1's CloudFormation accepts but does not create, silently. Listed so a moto
 * that starts creating them, or a template that adds another kind moto skips, fails this test.
 */
const SKIPPED_BY_MOTO = [
  'AWS::CloudWatch::Alarm',
  'AWS::Lambda::EventInvokeConfig',
  'AWS::Logs::MetricFilter',
  'AWS::S3::BucketPolicy',
];

let emulator: Emulator;
let deployEnv: NodeJS.ProcessEnv;
let template: Template;
let created: StackResourceSummary[];
const clients = {} as {
  cfn: CloudFormationClient;
  lambda: LambdaClient;
  iam: IAMClient;
  events: EventBridgeClient;
  sns: SNSClient;
  sqs: SQSClient;
  dynamo: DynamoDBClient;
};
const physicalId = (logicalId: string) =>
  created.find((r) => r.LogicalResourceId === logicalId)?.PhysicalResourceId ?? '';

beforeAll(async () => {
  emulator = await startMoto();
  deployEnv = {
    ...process.env,
    AWS_ENDPOINT_URL: emulator.endpoint,
    AWS_ACCESS_KEY_ID: 'deploy',
    AWS_SECRET_ACCESS_KEY: 'deploy',
    AWS_REGION: 'us-east-1',
    SLS_TELEMETRY_DISABLED: '1',
    SLS_NOTIFICATIONS_MODE: 'off',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
  const env = deployEnv;
  // The package the project's global setup built: deploy uploads it as it is.
  await run(
    'npx',
    ['osls', 'deploy', '--stage', 'ci', '--region', 'us-east-1', '--package', inject('packagedDir')],
    { env, timeout: 240_000 },
  );
  template = await readPackagedTemplate(inject('packagedDir'));
  const config = {
    region: 'us-east-1',
    endpoint: emulator.endpoint,
    credentials: { accessKeyId: 'deploy', secretAccessKey: 'deploy' },
  };
  clients.cfn = new CloudFormationClient(config);
  clients.lambda = new LambdaClient(config);
  clients.iam = new IAMClient(config);
  clients.events = new EventBridgeClient(config);
  clients.sns = new SNSClient(config);
  clients.sqs = new SQSClient(config);
  clients.dynamo = new DynamoDBClient(config);
  created = [];
  for await (const page of paginateListStackResources({ client: clients.cfn }, { StackName: STACK }))
    created.push(...(page.StackResourceSummaries ?? []));
}, 300_000);

afterAll(async () => {
  await emulator?.stop();
});

describe('osls deploy of the single-account stack, on moto', () => {
  it('completes the stack', async () => {
    const { Stacks } = await clients.cfn.send(new DescribeStacksCommand({ StackName: STACK }));
    // osls creates a stack with its deployment bucket, then updates it to the whole template.
    expect(Stacks?.[0]?.StackStatus).toBe('UPDATE_COMPLETE');
  });

  it('creates every resource of the template except the kinds moto skips, and lists those', () => {
    const listed = new Set(created.filter((r) => r.LogicalResourceId).map((r) => r.LogicalResourceId));
    // Resources under a condition that is false with the default parameters (no alert e-mail) are
    // left out by CloudFormation itself.
    const missing = Object.entries(template.Resources as Record<string, { Type: string; Condition?: string }>)
      .filter(([id, r]) => !listed.has(id) && r.Condition !== 'HasAlertEmail')
      .map(([id, r]) => `${r.Type} ${id}`)
      .sort();
    // Exactly the resources of the kinds moto skips are missing: the alarms, the functions' failure
    // destinations (EventInvokeConfig), the log metric filters and osls's bucket policy.
    const ofSkippedKinds = Object.entries(template.Resources)
      .filter(([, r]) => SKIPPED_BY_MOTO.includes(r.Type))
      .map(([id, r]) => `${r.Type} ${id}`)
      .sort();
    expect(missing).toEqual(ofSkippedKinds);
    expect(missing).toEqual(
      expect.arrayContaining([
        'AWS::CloudWatch::Alarm ScanErrorsAlarm',
        'AWS::Lambda::EventInvokeConfig RetireLambdaEvConf',
        'AWS::S3::BucketPolicy ServerlessDeploymentBucketPolicy',
      ]),
    );
    expect(created.every((r) => r.ResourceStatus === 'CREATE_COMPLETE')).toBe(true);
  });

  it.each(['scan', 'rotate', 'retire', 'respond'])(
    'creates the %s function with its own role',
    async (fn) => {
      const config = await clients.lambda.send(
        new GetFunctionConfigurationCommand({ FunctionName: `keyrot-ci-${fn}` }),
      );
      const roleId = `${fn[0]?.toUpperCase()}${fn.slice(1)}Role`;
      expect(config).toMatchObject({
        Runtime: 'nodejs24.x',
        Handler: `functions/${fn}.handler`,
        Role: `arn:aws:iam::${ACCOUNT}:role/${physicalId(roleId)}`,
      });
      const { Role } = await clients.iam.send(new GetRoleCommand({ RoleName: physicalId(roleId) }));
      expect(Role?.Arn).toBe(config.Role);
      const { PolicyNames } = await clients.iam.send(
        new ListRolePoliciesCommand({ RoleName: physicalId(roleId) }),
      );
      expect(PolicyNames).toEqual([`keyrot-${fn}`]);
    },
  );

  it('schedules the scan and retirement daily, each rule targeting its function', async () => {
    const { Rules = [] } = await clients.events.send(new ListRulesCommand({ NamePrefix: 'keyrot-ci-' }));
    const scheduled = Rules.filter((r) => r.ScheduleExpression !== undefined);
    expect(scheduled.map((r) => r.ScheduleExpression)).toEqual(['rate(1 day)', 'rate(1 day)']);
    const targets = await Promise.all(
      scheduled.map(
        async (r) => (await clients.events.send(new ListTargetsByRuleCommand({ Rule: r.Name }))).Targets,
      ),
    );
    expect(targets.flat().map((t) => t?.Arn?.split(':').pop())).toEqual(
      expect.arrayContaining(['keyrot-ci-scan', 'keyrot-ci-retire']),
    );
    // The leak response listens for AWS Health's exposed-credentials events.
    const health = Rules.find((r) => r.EventPattern?.includes('aws.health'));
    const [healthTarget] =
      (await clients.events.send(new ListTargetsByRuleCommand({ Rule: health?.Name }))).Targets ?? [];
    expect(healthTarget?.Arn?.split(':').pop()).toBe('keyrot-ci-respond');
  });

  it('lets Secrets Manager of this account invoke the rotate function', async () => {
    const { Policy = '{}' } = await clients.lambda.send(
      new GetPolicyCommand({ FunctionName: 'keyrot-ci-rotate' }),
    );
    expect(JSON.parse(Policy).Statement).toContainEqual(
      expect.objectContaining({
        Principal: { Service: 'secretsmanager.amazonaws.com' },
        Action: 'lambda:InvokeFunction',
      }),
    );
  });

  it('creates the encrypted alert topic and the encrypted failure queue', async () => {
    const { Attributes: topic } = await clients.sns.send(
      new GetTopicAttributesCommand({ TopicArn: physicalId('AlertTopic') }),
    );
    expect(topic?.TopicArn).toBe(`arn:aws:sns:us-east-1:${ACCOUNT}:keyrot-ci-alerts`);
    expect(topic?.KmsMasterKeyId).toBe(physicalId('AlertTopicKey'));
    const { QueueUrl } = await clients.sqs.send(new GetQueueUrlCommand({ QueueName: 'keyrot-ci-failed' }));
    const { Attributes: queue } = await clients.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['All'] }),
    );
    expect(queue).toMatchObject({ MessageRetentionPeriod: '1209600', SqsManagedSseEnabled: 'true' });
  });
});

/**
 * Organization mode on the same moto: `osls deploy` of the hub (serverless.hub.yml), an organization
 * with an OU and a member account, rotate.zip copied into the hub's member code bucket (as `aws s3 cp`
 * does), then the member template as a service-managed StackSet with auto-deployment, its instances
 * targeted at that OU, as the README's commands do. moto 5.2.1 creates the instance's resources in the
 * member account, which is where they are read back from, with that account's own credentials.
 */
describe('organization mode: osls deploy of the hub, and the member template in a member account, on moto', () => {
  const HUB_STACK = 'keyrot-hub-ci';
  const CODE_KEY = 'keyrot/ci/rotate.zip';
  /** Resource kinds of the hub template moto skips silently (see SKIPPED_BY_MOTO above). */
  const SKIPPED_IN_HUB = ['AWS::CloudWatch::Alarm', 'AWS::S3::BucketPolicy'];
  let hubTemplate: Template;
  let hubCreated: StackResourceSummary[];
  let memberAccount = '';
  let ouId = '';
  const member = {} as { lambda: LambdaClient; iam: IAMClient };
  const hubId = (logicalId: string) =>
    hubCreated.find((r) => r.LogicalResourceId === logicalId)?.PhysicalResourceId ?? '';
  const memberParameters = () => [
    { ParameterKey: 'CodeBucket', ParameterValue: hubId('MemberCodeBucket') },
    { ParameterKey: 'RotateCodeKey', ParameterValue: CODE_KEY },
    { ParameterKey: 'HubAccountId', ParameterValue: ACCOUNT },
    { ParameterKey: 'HubWorkerRoleName', ParameterValue: hubId('WorkerRole') },
    { ParameterKey: 'ExternalId', ParameterValue: HUB_PARAMS.memberExternalId },
  ];

  beforeAll(async () => {
    await run(
      'npx',
      [
        'osls',
        'deploy',
        '--config',
        'serverless.hub.yml',
        '--stage',
        'ci',
        '--region',
        'us-east-1',
        ...Object.entries(HUB_PARAMS).map(([name, value]) => `--param=${name}=${value}`),
        '--package',
        inject('hubPackagedDir'),
      ],
      { env: deployEnv, timeout: 240_000 },
    );
    hubTemplate = await readPackagedTemplate(inject('hubPackagedDir'));
    hubCreated = [];
    for await (const page of paginateListStackResources({ client: clients.cfn }, { StackName: HUB_STACK }))
      hubCreated.push(...(page.StackResourceSummaries ?? []));

    // The organization: the hub account manages it; one OU with one member account.
    const config = {
      region: 'us-east-1',
      endpoint: emulator.endpoint,
      credentials: { accessKeyId: 'deploy', secretAccessKey: 'deploy' },
    };
    const org = new OrganizationsClient(config);
    await org.send(new CreateOrganizationCommand({ FeatureSet: 'ALL' }));
    const { Roots = [] } = await org.send(new ListRootsCommand({}));
    const { OrganizationalUnit } = await org.send(
      new CreateOrganizationalUnitCommand({ ParentId: Roots[0]?.Id, Name: 'teams' }),
    );
    ouId = OrganizationalUnit?.Id ?? '';
    const { CreateAccountStatus } = await org.send(
      new CreateAccountCommand({ AccountName: 'team-a', Email: 'team-a@example.com' }),
    );
    memberAccount = CreateAccountStatus?.AccountId ?? '';
    await org.send(
      new MoveAccountCommand({
        AccountId: memberAccount,
        SourceParentId: Roots[0]?.Id,
        DestinationParentId: ouId,
      }),
    );

    // README: aws s3 cp rotate.zip s3://<MemberCodeBucketName>/<key> (path-style, as the CLI on moto).
    const zip = await readFile(join(inject('packagedDir'), 'rotate.zip'));
    const put = await fetch(`${emulator.endpoint}/${hubId('MemberCodeBucket')}/${CODE_KEY}`, {
      method: 'PUT',
      body: zip,
    });
    expect(put.status).toBe(200);

    // The member account, as the StackSet's execution role there.
    const { Credentials: c } = await new STSClient(config).send(
      new AssumeRoleCommand({
        RoleArn: `arn:aws:iam::${memberAccount}:role/stacksets-exec-keyrot`,
        RoleSessionName: 'stackset',
      }),
    );
    const memberConfig = {
      ...config,
      credentials: {
        accessKeyId: c?.AccessKeyId ?? '',
        secretAccessKey: c?.SecretAccessKey ?? '',
        sessionToken: c?.SessionToken ?? '',
      },
    };
    member.lambda = new LambdaClient(memberConfig);
    member.iam = new IAMClient(memberConfig);
    const TemplateBody = await readFile(join(inject('packagedDir'), MEMBER_TEMPLATE_FILE), 'utf8');
    await clients.cfn.send(
      new CreateStackSetCommand({
        StackSetName: 'keyrot-member-ci',
        TemplateBody,
        Parameters: memberParameters(),
        Capabilities: ['CAPABILITY_NAMED_IAM'],
        PermissionModel: 'SERVICE_MANAGED',
        AutoDeployment: { Enabled: true, RetainStacksOnAccountRemoval: false },
      }),
    );
    await clients.cfn.send(
      new CreateStackInstancesCommand({
        StackSetName: 'keyrot-member-ci',
        DeploymentTargets: { OrganizationalUnitIds: [ouId] },
        Regions: ['us-east-1'],
      }),
    );
  }, 300_000);

  it('creates every hub resource except the kinds moto skips, and lists those', () => {
    const listed = new Set(hubCreated.map((r) => r.LogicalResourceId));
    const missing = Object.entries(hubTemplate.Resources)
      .filter(([id]) => !listed.has(id))
      .map(([id, r]) => `${r.Type} ${id}`)
      .sort();
    expect(missing).toEqual(
      Object.entries(hubTemplate.Resources)
        .filter(([, r]) => SKIPPED_IN_HUB.includes(r.Type))
        .map(([id, r]) => `${r.Type} ${id}`)
        .sort(),
    );
    // The dead-letter alarm and the member code bucket's organization-only policy are among them.
    expect(missing).toEqual(
      expect.arrayContaining([
        'AWS::CloudWatch::Alarm AccountDeadLettersAlarm',
        'AWS::S3::BucketPolicy MemberCodeBucketPolicy',
      ]),
    );
    expect(hubCreated.every((r) => r.ResourceStatus === 'CREATE_COMPLETE')).toBe(true);
  });

  it.each([
    ['scheduler', 'SchedulerRole', 'keyrot-hub-scheduler'],
    ['worker', 'WorkerRole', 'keyrot-hub-worker'],
  ])('creates the hub %s function with its own role', async (fn, roleId, policy) => {
    const config = await clients.lambda.send(
      new GetFunctionConfigurationCommand({ FunctionName: `keyrot-hub-ci-${fn}` }),
    );
    expect(config).toMatchObject({
      Runtime: 'nodejs24.x',
      Handler: `functions/org-${fn}.handler`,
      Role: `arn:aws:iam::${ACCOUNT}:role/${hubId(roleId)}`,
    });
    const { PolicyNames } = await clients.iam.send(new ListRolePoliciesCommand({ RoleName: hubId(roleId) }));
    expect(PolicyNames).toEqual([policy]);
    // The member template's HubWorkerRoleName is the worker role's name.
    if (fn === 'worker') expect(hubId(roleId)).toBe('keyrot-hub-ci-worker');
    // The worker alerts through the hub's topic and ledger, and knows the queue's redrive limit.
    if (fn === 'worker')
      expect(config.Environment?.Variables).toMatchObject({
        ALERT_TOPIC_ARN: hubId('AlertTopic'),
        ALERT_LEDGER_TABLE: hubId('AlertLedger'),
        ACCOUNT_QUEUE_MAX_RECEIVE_COUNT: '3',
      });
  });

  it("creates the hub's alert ledger (moto's CloudFormation leaves its TTL off: the template test pins it)", async () => {
    const { dynamo } = clients;
    const { Table } = await dynamo.send(new DescribeTableCommand({ TableName: hubId('AlertLedger') }));
    expect(Table).toMatchObject({
      TableName: 'keyrot-hub-ci-alert-ledger',
      KeySchema: [{ AttributeName: 'subject', KeyType: 'HASH' }],
    });
    expect(hubTemplate.Resources.AlertLedger?.Properties?.TimeToLiveSpecification).toEqual({
      AttributeName: 'expiresAt',
      Enabled: true,
    });
    // Skipped by moto 5.2.1, silently, like the resource kinds listed above: the table is created
    // without its TimeToLiveSpecification. Should moto apply it, this fails and the line goes.
    const { TimeToLiveDescription } = await dynamo.send(
      new DescribeTimeToLiveCommand({ TableName: hubId('AlertLedger') }),
    );
    expect(TimeToLiveDescription?.TimeToLiveStatus).toBe('DISABLED');
  });

  it('schedules the scheduler daily', async () => {
    const { Rules = [] } = await clients.events.send(new ListRulesCommand({ NamePrefix: 'keyrot-hub-ci-' }));
    expect(Rules.map((r) => r.ScheduleExpression)).toEqual(['rate(1 day)']);
    const { Targets = [] } = await clients.events.send(
      new ListTargetsByRuleCommand({ Rule: Rules[0]?.Name }),
    );
    expect(Targets.map((t) => t.Arn?.split(':').pop())).toEqual(['keyrot-hub-ci-scheduler']);
  });

  it('creates the account queue, redriving to the dead-letter queue after three receives', async () => {
    const attributes = async (QueueName: string) => {
      const { QueueUrl } = await clients.sqs.send(new GetQueueUrlCommand({ QueueName }));
      return (await clients.sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['All'] })))
        .Attributes;
    };
    const dead = await attributes('keyrot-hub-ci-accounts-dead');
    expect(dead).toMatchObject({ MessageRetentionPeriod: '1209600', SqsManagedSseEnabled: 'true' });
    const queue = await attributes('keyrot-hub-ci-accounts');
    expect(queue).toMatchObject({ VisibilityTimeout: '5400', SqsManagedSseEnabled: 'true' });
    expect(JSON.parse(queue?.RedrivePolicy ?? '{}')).toEqual({
      deadLetterTargetArn: dead?.QueueArn,
      maxReceiveCount: 3,
    });
  });

  it('maps the account queue to the worker with maximum concurrency 10 and partial batch responses', async () => {
    // The mapping CloudFormation created (moto's ListEventSourceMappings doesn't match a function by name).
    const mapping = await clients.lambda.send(
      new GetEventSourceMappingCommand({ UUID: hubId('WorkerEventSourceMappingSQSAccountQueue') }),
    );
    expect(mapping).toMatchObject({
      EventSourceArn: `arn:aws:sqs:us-east-1:${ACCOUNT}:keyrot-hub-ci-accounts`,
      FunctionArn: `arn:aws:lambda:us-east-1:${ACCOUNT}:function:keyrot-hub-ci-worker`,
      BatchSize: 1,
      ScalingConfig: { MaximumConcurrency: 10 },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  it("creates the hub's encrypted alert topic", async () => {
    const { Attributes } = await clients.sns.send(
      new GetTopicAttributesCommand({ TopicArn: hubId('AlertTopic') }),
    );
    expect(Attributes?.TopicArn).toBe(`arn:aws:sns:us-east-1:${ACCOUNT}:keyrot-hub-ci-alerts`);
    expect(Attributes?.KmsMasterKeyId).toBe(hubId('AlertTopicKey'));
  });

  it("deploys the StackSet's instance to the OU's member account", async () => {
    const { Summaries = [] } = await clients.cfn.send(
      new ListStackInstancesCommand({ StackSetName: 'keyrot-member-ci' }),
    );
    expect(Summaries).toEqual([
      expect.objectContaining({
        Account: memberAccount,
        Region: 'us-east-1',
        Status: 'CURRENT',
        StackInstanceStatus: { DetailedStatus: 'SUCCEEDED' },
        StackId: expect.stringMatching(
          new RegExp(`^arn:aws:cloudformation:us-east-1:${memberAccount}:stack/`),
        ),
      }),
    ]);
  });

  it("creates the rotate function in the member account, its code read from the hub's bucket", async () => {
    const fn = await member.lambda.send(new GetFunctionCommand({ FunctionName: 'keyrot-ci-rotate' }));
    expect(fn.Configuration).toMatchObject({
      FunctionArn: `arn:aws:lambda:us-east-1:${memberAccount}:function:keyrot-ci-rotate`,
      Handler: 'functions/rotate.handler',
      Runtime: 'nodejs24.x',
      CodeSize: (await stat(join(inject('packagedDir'), 'rotate.zip'))).size,
    });
    expect(fn.Configuration?.Role).toMatch(new RegExp(`^arn:aws:iam::${memberAccount}:role/`));
    const { Policy = '{}' } = await member.lambda.send(
      new GetPolicyCommand({ FunctionName: 'keyrot-ci-rotate' }),
    );
    expect(JSON.parse(Policy).Statement).toContainEqual(
      expect.objectContaining({ Principal: { Service: 'secretsmanager.amazonaws.com' } }),
    );
  });

  it('creates the member role under its path, trusting only the hub worker role with the ExternalId', async () => {
    const { Role } = await member.iam.send(new GetRoleCommand({ RoleName: 'keyrot-member' }));
    expect(Role?.Arn).toBe(`arn:aws:iam::${memberAccount}:role/keyrot/keyrot-member`);
    expect(JSON.parse(decodeURIComponent(Role?.AssumeRolePolicyDocument ?? '{}'))).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { AWS: `arn:aws:iam::${ACCOUNT}:role/keyrot-hub-ci-worker` },
          Action: 'sts:AssumeRole',
          Condition: { StringEquals: { 'sts:ExternalId': HUB_PARAMS.memberExternalId } },
        },
      ],
    });
    const { PolicyNames } = await member.iam.send(new ListRolePoliciesCommand({ RoleName: 'keyrot-member' }));
    expect(PolicyNames?.sort()).toEqual([
      'keyrot-member-account',
      'keyrot-member-retire',
      'keyrot-member-scan',
    ]);
  });
});
