import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import {
  CloudFormationClient,
  DescribeStacksCommand,
  paginateListStackResources,
  type StackResourceSummary,
} from '@aws-sdk/client-cloudformation';
import { EventBridgeClient, ListRulesCommand, ListTargetsByRuleCommand } from '@aws-sdk/client-eventbridge';
import { GetRoleCommand, IAMClient, ListRolePoliciesCommand } from '@aws-sdk/client-iam';
import { GetFunctionConfigurationCommand, GetPolicyCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { GetTopicAttributesCommand, SNSClient } from '@aws-sdk/client-sns';
import { GetQueueAttributesCommand, GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Emulator, startMoto } from '../../lib/testbed/moto.js';
import { readPackagedTemplate, type Template } from '../helpers/cfn.js';

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
let template: Template;
let created: StackResourceSummary[];
const clients = {} as {
  cfn: CloudFormationClient;
  lambda: LambdaClient;
  iam: IAMClient;
  events: EventBridgeClient;
  sns: SNSClient;
  sqs: SQSClient;
};
const physicalId = (logicalId: string) =>
  created.find((r) => r.LogicalResourceId === logicalId)?.PhysicalResourceId ?? '';

beforeAll(async () => {
  emulator = await startMoto();
  const env = {
    ...process.env,
    AWS_ENDPOINT_URL: emulator.endpoint,
    AWS_ACCESS_KEY_ID: 'deploy',
    AWS_SECRET_ACCESS_KEY: 'deploy',
    AWS_REGION: 'us-east-1',
    SLS_TELEMETRY_DISABLED: '1',
    SLS_NOTIFICATIONS_MODE: 'off',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
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
