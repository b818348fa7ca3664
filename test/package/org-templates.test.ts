import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { HUB_SIDE_SIDS, MEMBER_TEMPLATE_FILE } from '../../serverless/member-template.js';
import { HUB_PARAMS } from '../helpers/package-global-setup.js';
import {
  grantLines,
  HUB_ALLOW_LISTS,
  MANAGED_POLICIES,
  MEMBER_ALLOW_LISTS,
  resolveGrants,
  SYMBOLIC,
  templateGrants,
} from './allow-lists.js';

/**
 * Organization mode's two templates: the hub (serverless.hub.yml, packaged with osls) and the member
 * template a service-managed StackSet deploys to every member account (written by the single-account
 * package, derived from its rotate function and scan and retire roles).
 */
const run = promisify(execFile);

interface Resource {
  Type: string;
  Properties: Record<string, unknown>;
  DependsOn?: unknown;
}
interface Full {
  Parameters?: Record<string, { Default?: unknown }>;
  Resources: Record<string, Resource>;
  Outputs?: Record<string, unknown>;
}
interface Statement {
  Sid?: string;
}
type Policies = Array<{
  PolicyName: string;
  PolicyDocument: { Statement: Array<Statement | { 'Fn::If': [string, Statement, unknown] }> };
}>;

let single: Full;
let member: Full;
let hub: Full;
const paths = { member: '', hub: '' };
const read = async (path: string): Promise<Full> => JSON.parse(await readFile(path, 'utf8'));
const ofType = (t: Full, type: string) => Object.entries(t.Resources).filter(([, r]) => r.Type === type);

beforeAll(async () => {
  paths.member = join(inject('packagedDir'), MEMBER_TEMPLATE_FILE);
  paths.hub = join(inject('hubPackagedDir'), 'cloudformation-template-update-stack.json');
  single = await read(join(inject('packagedDir'), 'cloudformation-template-update-stack.json'));
  member = await read(paths.member);
  hub = await read(paths.hub);
});

describe.each(['member', 'hub'] as const)('the %s template', (which) => {
  it('passes cfn-lint with no warning at all', async () => {
    const lint = await run('cfn-lint', ['--', paths[which]]).catch(
      (error: NodeJS.ErrnoException & { stdout?: string }) => {
        throw new Error(
          `cfn-lint found problems in the ${which} template:\n${error.stdout ?? error.message}`,
        );
      },
    );
    expect(lint.stdout).toBe('');
  }, 120_000);
});

describe('the member template (StackSet)', () => {
  it('holds the rotate function and its role, the member role, and nothing of the single-account stack besides', () => {
    expect(Object.keys(member.Resources).sort()).toEqual([
      'MemberRole',
      'RotateInvokedBySecretsManager',
      'RotateLambdaFunction',
      'RotateLogGroup',
      'RotateRole',
    ]);
  });

  it("takes the rotate function's code from a bucket the member accounts can read, not osls's deployment bucket", () => {
    const fn = member.Resources.RotateLambdaFunction?.Properties ?? {};
    expect(fn.Code).toEqual({ S3Bucket: { Ref: 'CodeBucket' }, S3Key: { Ref: 'RotateCodeKey' } });
    // Everything else is the single-account function as it is: handler, runtime, timeout, config.
    const { Code: _code, Environment: env, ...rest } = fn;
    const {
      Code: _singleCode,
      Environment: singleEnv,
      ...singleRest
    } = single.Resources.RotateLambdaFunction?.Properties ?? {};
    expect(rest).toEqual(singleRest);
    // Less the variables naming the single-account topic and ledger.
    const { ALERT_TOPIC_ARN, ALERT_LEDGER_TABLE, ...kept } = (
      singleEnv as { Variables: Record<string, unknown> }
    ).Variables;
    expect(ALERT_TOPIC_ARN).toBeDefined();
    expect(ALERT_LEDGER_TABLE).toBeDefined();
    expect(env).toEqual({ Variables: kept });
    expect(JSON.stringify(member)).not.toContain('ServerlessDeploymentBucket');
  });

  it('lets only the hub worker role assume the member role, with the ExternalId, under the configured path', () => {
    const role = member.Resources.MemberRole?.Properties ?? {};
    expect(role).toMatchObject({ RoleName: { Ref: 'MemberRoleName' }, Path: { Ref: 'MemberRolePath' } });
    expect(role.AssumeRolePolicyDocument).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: {
            // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation's Fn::Sub
            AWS: { 'Fn::Sub': 'arn:${AWS::Partition}:iam::${HubAccountId}:role/${HubWorkerRoleName}' },
          },
          Action: 'sts:AssumeRole',
          Condition: { StringEquals: { 'sts:ExternalId': { Ref: 'ExternalId' } } },
        },
      ],
    });
    // Not a Lambda role: no managed policy (nothing writes logs as it).
    expect(role.ManagedPolicyArns).toBeUndefined();
    expect(member.Parameters?.ExternalId).toMatchObject({ NoEcho: true });
    // The hub assumes the role the template creates by default.
    const workerEnv =
      (
        hub.Resources.WorkerLambdaFunction?.Properties.Environment as
          | { Variables?: Record<string, unknown> }
          | undefined
      )?.Variables ?? {};
    expect(member.Parameters?.MemberRolePath?.Default).toBe(workerEnv.MEMBER_ROLE_PATH);
    expect(member.Parameters?.MemberRoleName?.Default).toBe(workerEnv.MEMBER_ROLE_NAME);
    expect(workerEnv.ROTATE_FUNCTION_NAME).toBe(
      member.Resources.RotateLambdaFunction?.Properties.FunctionName,
    );
  });

  it("derives the member role's statements from the scan and retire roles, dropping only the stack's own resources", () => {
    const unwrap = (s: Statement | { 'Fn::If': [string, Statement, unknown] }) =>
      'Fn::If' in s ? s['Fn::If'][1] : s;
    const policies = (t: Full, role: string) => t.Resources[role]?.Properties.Policies as Policies;
    const [scan, retire, own, ...more] = policies(member, 'MemberRole');
    // Its one grant of its own: the account's alias (read-only; IAM accepts only "*" for it).
    expect(own?.PolicyDocument.Statement).toEqual([
      { Sid: 'AccountAlias', Effect: 'Allow', Action: 'iam:ListAccountAliases', Resource: '*' },
    ]);
    expect(more).toEqual([]);
    for (const [derived, from] of [
      [scan, 'ScanRole'],
      [retire, 'RetireRole'],
    ] as const) {
      const source = policies(single, from)[0]?.PolicyDocument.Statement ?? [];
      // Each statement kept is the source's, unchanged; the ones dropped are the hub-side ones.
      expect(derived?.PolicyDocument.Statement).toEqual(
        source.filter((s) => !HUB_SIDE_SIDS.includes(unwrap(s).Sid ?? '')),
      );
    }
  });

  it.each(Object.keys(MEMBER_ALLOW_LISTS))(
    '%s: exactly its allow-list, derived from the single-account lists',
    (role) => {
      const expected = MEMBER_ALLOW_LISTS[role as keyof typeof MEMBER_ALLOW_LISTS];
      const template = member as unknown as Parameters<typeof templateGrants>[0];
      expect(grantLines(templateGrants(template, role))).toEqual(grantLines(expected));
      expect(
        grantLines(templateGrants(template, role, { ...SYMBOLIC, conditions: { HasSecretKmsKey: false } })),
      ).toEqual(grantLines(expected.filter((g) => g.resource !== '<SecretKmsKeyArn>')));
      // Nothing in a member account can write or read beyond the scan and retire roles: no escalation.
      expect(expected.map((g) => g.action)).not.toContain('sts:AssumeRole');
    },
  );
});

describe('the hub template', () => {
  const template = () => hub as unknown as Parameters<typeof templateGrants>[0];

  it('runs the worker on the account queue with a maximum concurrency and partial batch responses', () => {
    const [[, mapping] = []] = ofType(hub, 'AWS::Lambda::EventSourceMapping');
    expect(mapping?.Properties).toEqual({
      BatchSize: 1,
      EventSourceArn: { 'Fn::GetAtt': ['AccountQueue', 'Arn'] },
      FunctionName: { 'Fn::GetAtt': ['WorkerLambdaFunction', 'Arn'] },
      Enabled: true,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 10 },
    });
  });

  it("gives the worker the hub's topic, ledger and the queue's maxReceiveCount, and keeps the account selection in the config", () => {
    const variables = (id: string) =>
      (hub.Resources[id]?.Properties.Environment as { Variables?: Record<string, unknown> } | undefined)
        ?.Variables ?? {};
    expect(variables('WorkerLambdaFunction')).toMatchObject({
      ALERT_TOPIC_ARN: { Ref: 'AlertTopic' },
      ALERT_LEDGER_TABLE: { Ref: 'AlertLedger' },
      ACCOUNT_QUEUE_MAX_RECEIVE_COUNT: String(
        (hub.Resources.AccountQueue?.Properties.RedrivePolicy as { maxReceiveCount?: number } | undefined)
          ?.maxReceiveCount,
      ),
      KEYROT_CONFIG_FILE: 'dist/keyrot.config.json',
    });
    for (const fn of ['SchedulerLambdaFunction', 'WorkerLambdaFunction'])
      expect(Object.keys(variables(fn)).filter((name) => name.startsWith('ACCOUNTS_'))).toEqual([]);
    // The ledger, as the single-account stack's: items expire (TTL), encrypted.
    expect(hub.Resources.AlertLedger?.Properties).toEqual({
      ...single.Resources.AlertLedger?.Properties,
      TableName: 'keyrot-hub-ci-alert-ledger',
    });
  });

  it('retries a failed account after the worker timeout, three times, then parks it with an alarm', () => {
    const queue = hub.Resources.AccountQueue?.Properties ?? {};
    const timeout = Number(hub.Resources.WorkerLambdaFunction?.Properties.Timeout);
    // AWS: the queue's visibility timeout at least six times the function's.
    expect(Number(queue.VisibilityTimeout)).toBeGreaterThanOrEqual(6 * timeout);
    expect(queue.RedrivePolicy).toEqual({
      deadLetterTargetArn: { 'Fn::GetAtt': ['AccountDeadLetters', 'Arn'] },
      maxReceiveCount: 3,
    });
    const alarms = ofType(hub, 'AWS::CloudWatch::Alarm').map(([, r]) => r.Properties);
    expect(alarms).toContainEqual(
      expect.objectContaining({
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': ['AccountDeadLetters', 'QueueName'] } }],
        AlarmActions: [{ Ref: 'AlertTopic' }],
      }),
    );
  });

  it("lets only the organization's accounts read the member code bucket", () => {
    const policy = hub.Resources.MemberCodeBucketPolicy;
    expect(
      (policy?.Properties.PolicyDocument as { Statement?: unknown[] } | undefined)?.Statement,
    ).toContainEqual({
      Sid: 'OrganizationReadsCode',
      Effect: 'Allow',
      Principal: '*',
      Action: 's3:GetObject',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation's Fn::Sub
      Resource: { 'Fn::Sub': '${MemberCodeBucket.Arn}/*' },
      Condition: { StringEquals: { 'aws:PrincipalOrgID': HUB_PARAMS.organizationId } },
    });
  });

  it('has exactly the roles that have an allow-list', () => {
    expect(
      ofType(hub, 'AWS::IAM::Role')
        .map(([id]) => id)
        .sort(),
    ).toEqual(Object.keys(HUB_ALLOW_LISTS).sort());
  });

  it.each(Object.keys(HUB_ALLOW_LISTS))('%s: exactly its allow-list, nothing more', (role) => {
    const expected = resolveGrants(HUB_ALLOW_LISTS[role as keyof typeof HUB_ALLOW_LISTS], {
      '<organizationId>': HUB_PARAMS.organizationId,
    });
    expect(grantLines(templateGrants(template(), role))).toEqual(grantLines(expected));
    expect(hub.Resources[role]?.Properties.ManagedPolicyArns).toEqual(MANAGED_POLICIES);
  });

  it('names the worker role as the member template expects it (HubWorkerRoleName)', () => {
    expect(hub.Resources.WorkerRole?.Properties.RoleName).toBe('keyrot-hub-ci-worker');
    expect(hub.Outputs?.WorkerRoleName).toEqual({
      Description: expect.any(String),
      Value: { Ref: 'WorkerRole' },
    });
  });
});
