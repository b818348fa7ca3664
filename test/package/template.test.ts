import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { DEFERRED_MESSAGE } from '../../functions/rotate.js';
import { MAX_PROPAGATION_TIMEOUT_SECONDS, ROTATE_FUNCTION_TIMEOUT_SECONDS } from '../../lib/config.js';
import { EXPOSED_EVENT_PATTERN, matchesPattern } from '../../lib/leak/event.js';
import { readZip } from '../helpers/zip.js';
import { ALLOW_LISTS, grantLines, MANAGED_POLICIES, SYMBOLIC, templateGrants } from './allow-lists.js';
import { wildcardMatch } from './probes.js';

const run = promisify(execFile);

/** Actions that take no resource: AWS accepts only "*" for them. */
const NO_RESOURCE_ACTIONS = [
  'iam:GenerateCredentialReport',
  'iam:GetCredentialReport',
  'iam:GetAccountAuthorizationDetails',
  // Names and tags of secrets, never values.
  'secretsmanager:ListSecrets',
  // Who still uses a held key (retire only, read-only).
  'cloudtrail:LookupEvents',
];

/**
 * Actions that let an identity give itself or another more power (IAM policy and role changes,
 * console passwords, policy versions, passing and assuming roles). No keyrot role needs any of them.
 */
const ESCALATION_ACTIONS = [
  'iam:PutUserPolicy',
  'iam:PutRolePolicy',
  'iam:PutGroupPolicy',
  'iam:PutUserPermissionsBoundary',
  'iam:PutRolePermissionsBoundary',
  'iam:AttachUserPolicy',
  'iam:AttachRolePolicy',
  'iam:AttachGroupPolicy',
  'iam:PassRole',
  'iam:CreateLoginProfile',
  'iam:UpdateLoginProfile',
  'iam:DeleteLoginProfile',
  'iam:CreatePolicyVersion',
  'iam:SetDefaultPolicyVersion',
  'iam:DeletePolicyVersion',
  'iam:CreatePolicy',
  'iam:UpdateAssumeRolePolicy',
  'iam:AddUserToGroup',
  'iam:CreateUser',
  'iam:CreateRole',
  'sts:AssumeRole',
  'sts:AssumeRoleWithWebIdentity',
  'sts:AssumeRoleWithSAML',
];

interface Statement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: unknown;
}
interface KmsCondition {
  StringEquals: Record<string, unknown>;
}
type Resources = Record<string, { Type: string; Properties: Record<string, unknown> }>;

describe('serverless.yml packaged with osls', () => {
  let resources: Resources;
  let parameters: Record<string, unknown>;
  let templatePath = '';

  beforeAll(async () => {
    templatePath = join(inject('packagedDir'), 'cloudformation-template-update-stack.json');
    const template = JSON.parse(await readFile(templatePath, 'utf8'));
    resources = template.Resources as Resources;
    parameters = template.Parameters as Record<string, unknown>;
  });

  it('passes cfn-lint with no warning at all', async () => {
    // Warnings included: moto's CloudFormation (ValidateTemplate) refuses a template on any of them.
    const lint = await run('cfn-lint', ['--', templatePath]).catch(
      (error: NodeJS.ErrnoException & { stdout?: string }) => {
        if (error.code === 'ENOENT') {
          throw new Error(
            "cfn-lint is not installed. Install it with: pip install cfn-lint (moto's test setup brings it).",
          );
        }
        throw new Error(
          `cfn-lint found problems in the packaged template:\n${error.stdout ?? error.message}`,
        );
      },
    );
    expect(lint.stdout).toBe('');
  }, 120_000);

  const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
  const fn = (name: string) => resources[`${name}LambdaFunction`]?.Properties ?? {};
  const statementsOf = (role: string) => {
    const properties = resources[role]?.Properties as
      | { Policies?: Array<{ PolicyDocument: { Statement: Statement[] } }> }
      | undefined;
    if (properties?.Policies === undefined) throw new Error(`the template has no role ${role} with policies`);
    // A statement under Fn::If [condition, statement, AWS::NoValue] is checked as if the condition held.
    const unwrap = (s: Statement | { 'Fn::If': [string, Statement, unknown] }) =>
      'Fn::If' in s ? s['Fn::If'][1] : s;
    return properties.Policies.flatMap((p) => p.PolicyDocument.Statement.map(unwrap));
  };
  const actions = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);
  const resourceText = (s: Statement) => JSON.stringify(s.Resource);

  it('deploys scan and rotate on nodejs24.x, each with its own role and the packaged config', () => {
    expect(fn('Scan')).toMatchObject({
      Runtime: 'nodejs24.x',
      Handler: 'functions/scan.handler',
      Role: { 'Fn::GetAtt': ['ScanRole', 'Arn'] },
      Environment: {
        Variables: {
          KEYROT_CONFIG_FILE: 'dist/keyrot.config.json',
          ROTATE_FUNCTION_ARN: { 'Fn::GetAtt': ['RotateLambdaFunction', 'Arn'] },
        },
      },
    });
    expect(fn('Rotate')).toMatchObject({
      Runtime: 'nodejs24.x',
      Handler: 'functions/rotate.handler',
      Role: { 'Fn::GetAtt': ['RotateRole', 'Arn'] },
    });
  });

  it("gives the rotate function the timeout the config's propagation cap is derived from", () => {
    // propagationTimeoutSeconds is capped at this timeout less a minute; the two must not drift apart.
    expect(fn('Rotate').Timeout).toBe(ROTATE_FUNCTION_TIMEOUT_SECONDS);
    expect(MAX_PROPAGATION_TIMEOUT_SECONDS).toBeLessThanOrEqual(ROTATE_FUNCTION_TIMEOUT_SECONDS - 60);
  });

  it('lets Secrets Manager invoke the rotate function for this account only', () => {
    const permissions = ofType('AWS::Lambda::Permission').map(([, r]) => r.Properties);
    expect(permissions).toContainEqual({
      FunctionName: { 'Fn::GetAtt': ['RotateLambdaFunction', 'Arn'] },
      Action: 'lambda:InvokeFunction',
      Principal: 'secretsmanager.amazonaws.com',
      SourceAccount: { Ref: 'AWS::AccountId' },
    });
  });

  it("keeps only the DependsOn that no reference implies (osls's own on a function's role is dropped)", () => {
    for (const name of ['Scan', 'Rotate', 'Retire', 'Respond']) {
      const fn = resources[`${name}LambdaFunction`] as
        | { DependsOn?: string[]; Properties: Record<string, unknown> }
        | undefined;
      expect(fn?.Properties.Role).toEqual({ 'Fn::GetAtt': [`${name}Role`, 'Arn'] });
      expect(fn?.DependsOn).toEqual([`${name}LogGroup`]);
    }
  });

  it('runs the scan and retirement on EventBridge schedules', () => {
    const rules = ofType('AWS::Events::Rule')
      .map(([, r]) => r.Properties)
      .filter((r) => r.ScheduleExpression !== undefined);
    expect(rules).toEqual([
      expect.objectContaining({ ScheduleExpression: 'rate(1 day)', State: 'ENABLED' }),
      expect.objectContaining({ ScheduleExpression: 'rate(1 day)', State: 'ENABLED' }),
    ]);
    expect(fn('Retire')).toMatchObject({
      Handler: 'functions/retire.handler',
      Role: { 'Fn::GetAtt': ['RetireRole', 'Arn'] },
    });
  });

  const roleNames = () =>
    ofType('AWS::IAM::Role')
      .map(([name]) => name)
      .sort();
  const template = () => ({ Resources: resources });
  /** Every combination of the template's conditions, so no statement hides behind an Fn::If. */
  const deployVariants = [true, false].flatMap((kms) =>
    [true, false].map((email) => ({
      ...SYMBOLIC,
      conditions: { HasSecretKmsKey: kms, HasAlertEmail: email },
    })),
  );
  const everyGrant = (role: string) =>
    deployVariants.flatMap((context) => templateGrants(template(), role, context));

  it('has exactly the roles that have an allow-list, and no other IAM principals or policies', () => {
    expect(roleNames()).toEqual(Object.keys(ALLOW_LISTS).sort());
    expect(
      Object.values(resources)
        .map((r) => r.Type)
        .filter((type) => type.startsWith('AWS::IAM::') && type !== 'AWS::IAM::Role'),
    ).toEqual([]);
  });

  it.each(Object.keys(ALLOW_LISTS))(
    '%s: exactly its allow-list (action, resource, condition), nothing more',
    (role) => {
      const expected = ALLOW_LISTS[role as keyof typeof ALLOW_LISTS];
      // With a customer-managed key configured: the allow-list. Without: the same minus that key's grants.
      expect(grantLines(templateGrants(template(), role))).toEqual(grantLines(expected));
      expect(
        grantLines(
          templateGrants(template(), role, {
            ...SYMBOLIC,
            conditions: { HasSecretKmsKey: false, HasAlertEmail: false },
          }),
        ),
      ).toEqual(grantLines(expected.filter((g) => g.resource !== '<SecretKmsKeyArn>')));
      const properties = resources[role]?.Properties as {
        ManagedPolicyArns?: unknown;
        AssumeRolePolicyDocument?: unknown;
      };
      expect(properties.ManagedPolicyArns).toEqual(MANAGED_POLICIES);
      // Only Lambda may assume it.
      expect(properties.AssumeRolePolicyDocument).toEqual({
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' },
        ],
      });
    },
  );

  it.each(Object.keys(ALLOW_LISTS))('%s: no escalation-prone action, not even through a wildcard', (role) => {
    const grants = everyGrant(role);
    expect(grants.length).toBeGreaterThan(0);
    const escalating = grants.filter(
      (g) =>
        ESCALATION_ACTIONS.some((a) => wildcardMatch(g.action.toLowerCase(), a.toLowerCase())) ||
        /^(iam:(Put|Attach)|iam:PassRole$|sts:AssumeRole|iam:(Create|Update|Delete)LoginProfile$|iam:(Create|SetDefault|Delete)PolicyVersion$)/i.test(
          g.action,
        ),
    );
    expect(escalating.map((g) => `${g.action} on ${g.resource}`)).toEqual([]);
  });

  it.each(Object.keys(ALLOW_LISTS))(
    '%s: only Allow, no NotAction or NotResource, no wildcard in actions',
    (role) => {
      const grants = everyGrant(role);
      expect(grants.length).toBeGreaterThan(0);
      expect(grants.filter((g) => g.effect !== 'Allow').map((g) => `${g.effect} ${g.action}`)).toEqual([]);
      expect(
        grants
          .filter((g) => g.action.startsWith('NOT ') || g.resource.startsWith('NOT '))
          .map((g) => g.action),
      ).toEqual([]);
      expect(grants.filter((g) => /[*?]/.test(g.action)).map((g) => g.action)).toEqual([]);
    },
  );

  it.each(Object.keys(ALLOW_LISTS))(
    '%s: a resource of "*" (alone or in an array) only for the calls that have no resource',
    (role) => {
      // grantsOf gives one grant per element of a Resource array, so ["*"] is caught like "*".
      const starred = everyGrant(role).filter(
        (g) => g.resource === '*' || /^arn:[^:]*:[^:]*:[^:]*:[^:]*:\*$/.test(g.resource),
      );
      expect(starred.map((g) => g.action).filter((a) => !NO_RESOURCE_ACTIONS.includes(a))).toEqual([]);
    },
  );

  it.each(Object.keys(ALLOW_LISTS))(
    '%s: key writes only on machine users; secrets only under the prefix; KMS only through a service',
    (role) => {
      const grants = everyGrant(role);
      expect(grants.length).toBeGreaterThan(0);
      for (const g of grants) {
        if (
          /^iam:(Create|Delete|Update|Tag|Untag|Add|Remove|Upload|Enable|Deactivate|Change|Set|Reset)/.test(
            g.action,
          )
        )
          expect(`${g.action} on ${g.resource}`).toBe(`${g.action} on arn:aws:iam::<account>:user/machine/*`);
        const slackWebhook =
          g.action === 'secretsmanager:GetSecretValue' &&
          g.resource === 'arn:aws:secretsmanager:<region>:<account>:secret:keyrot-slack/*';
        // Targets' tokens: read-only, under their own prefix, for the functions that rotate.
        const targetToken =
          g.action === 'secretsmanager:GetSecretValue' &&
          g.resource === 'arn:aws:secretsmanager:<region>:<account>:secret:keyrot-tokens/*' &&
          (role === 'RotateRole' || role === 'RespondRole');
        if (
          g.action.startsWith('secretsmanager:') &&
          !NO_RESOURCE_ACTIONS.includes(g.action) &&
          !slackWebhook &&
          !targetToken
        )
          expect(`${g.action} on ${g.resource}`).toBe(
            `${g.action} on arn:aws:secretsmanager:<region>:<account>:secret:keyrot/*`,
          );
        if (g.action.startsWith('kms:'))
          expect(Object.keys(g.condition?.StringEquals ?? {})).toEqual(['kms:ViaService']);
      }
      expect(
        statementsOf(role).filter((st) => actions(st).some((a) => a.startsWith('dynamodb:'))),
      ).toHaveLength(1);
    },
  );

  it('the retire role reads on "*" only what has no resource: its selection and who uses a held key', () => {
    const starred = statementsOf('RetireRole').filter((s) => s.Resource === '*');
    expect(starred.flatMap(actions).sort()).toEqual([
      'cloudtrail:LookupEvents',
      'iam:GenerateCredentialReport',
      'iam:GetCredentialReport',
      'secretsmanager:ListSecrets',
    ]);
    expect(starred.every((s) => s.Condition === undefined && s.Effect === 'Allow')).toBe(true);
    // The rotate role names each secret it touches; it never lists them.
    expect(statementsOf('RotateRole').flatMap(actions)).not.toContain('secretsmanager:ListSecrets');
  });

  it('keeps the dedup ledger in an encrypted on-demand table whose items expire (TTL)', () => {
    expect(resources.AlertLedger).toMatchObject({
      Type: 'AWS::DynamoDB::Table',
      Properties: {
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: [{ AttributeName: 'subject', KeyType: 'HASH' }],
        TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
        SSESpecification: { SSEEnabled: true },
      },
    });
  });

  it('alarms on the failure metrics (rotations, target pushes, alerts), to the alert topic', () => {
    const alarms = ofType('AWS::CloudWatch::Alarm').map(([, r]) => r.Properties as Record<string, unknown>);
    for (const metric of ['RotationsFailed', 'TargetPushesFailed', 'AlertsFailed']) {
      expect(alarms).toContainEqual(
        expect.objectContaining({
          Namespace: 'keyrot',
          MetricName: metric,
          Dimensions: [{ Name: 'service', Value: 'keyrot' }],
          Statistic: 'Sum',
          AlarmActions: [{ Ref: 'AlertTopic' }],
        }),
      );
    }
  });

  it('shows key ages on the dashboard: the oldest key over time, and keys by age bucket', () => {
    const [[, dashboard] = []] = ofType('AWS::CloudWatch::Dashboard');
    const body = JSON.stringify(dashboard?.Properties.DashboardBody);
    expect(body).toContain('Oldest machine-user key (days)');
    expect(body).toContain('[\\"keyrot\\",\\"OldestMachineKeyAgeDays\\",\\"service\\",\\"keyrot\\"]');
    for (const bucket of ['0-30d', '31-60d', '61-90d', '91-180d', 'over-180d'])
      expect(body).toContain(`\\"AgeBucket\\",\\"${bucket}\\"`);
  });

  it("only the functions that rotate (rotate, and respond's emergency rotations) read targets' tokens", () => {
    const readsTokens = (role: string) =>
      statementsOf(role).some((s) => resourceText(s).includes('keyrot-tokens/'));
    expect(['ScanRole', 'RotateRole', 'RetireRole', 'RespondRole'].map(readsTokens)).toEqual([
      false,
      true,
      false,
      true,
    ]);
  });

  it('the scan role only reads IAM', () => {
    const iamActions = everyGrant('ScanRole')
      .map((g) => g.action)
      .filter((a) => a.startsWith('iam:'));
    expect(iamActions.length).toBeGreaterThan(0);
    expect(iamActions.filter((a) => !/^iam:(Get|List|Generate)/.test(a))).toEqual([]);
  });

  it("alarms on every function's errors and on parked failed invocations, to the alert topic", () => {
    const alarms = ofType('AWS::CloudWatch::Alarm').map(([, r]) => r.Properties as Record<string, unknown>);
    for (const name of ['Scan', 'Retire']) {
      expect(alarms).toContainEqual(
        expect.objectContaining({
          MetricName: 'Errors',
          Dimensions: [{ Name: 'FunctionName', Value: { Ref: `${name}LambdaFunction` } }],
          AlarmActions: [{ Ref: 'AlertTopic' }],
        }),
      );
    }
    expect(alarms).toContainEqual(
      expect.objectContaining({ Namespace: 'AWS/SQS', AlarmActions: [{ Ref: 'AlertTopic' }] }),
    );
    expect(ofType('AWS::CloudWatch::Dashboard')).toHaveLength(1);
  });

  it("alarms on the rotate function's errors, less the steps deferred while a rotation is in progress", () => {
    const alarm = resources.RotateErrorsAlarm?.Properties as {
      Metrics: Array<{
        Id: string;
        Expression?: string;
        ReturnData: boolean;
        MetricStat?: { Metric: unknown };
      }>;
      AlarmActions: unknown;
    };
    expect(alarm.AlarmActions).toEqual([{ Ref: 'AlertTopic' }]);
    const byId = new Map(alarm.Metrics.map((m) => [m.Id, m]));
    expect(byId.get('errors')?.MetricStat?.Metric).toEqual({
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: 'RotateLambdaFunction' } }],
    });
    expect(byId.get('unexpected')).toMatchObject({
      Expression: 'errors - FILL(deferred, 0)',
      ReturnData: true,
    });
    const filter = resources.RotateInProgressFilter?.Properties as {
      LogGroupName: unknown;
      FilterPattern: string;
      MetricTransformations: Array<{ MetricNamespace: string; MetricName: string }>;
    };
    expect(filter.LogGroupName).toEqual({ Ref: 'RotateLogGroup' });
    // The pattern matches exactly the message the handler logs for a deferred step.
    expect(filter.FilterPattern).toBe(`{ $.message = "${DEFERRED_MESSAGE}" }`);
    expect(byId.get('deferred')?.MetricStat?.Metric).toEqual({
      Namespace: filter.MetricTransformations[0]?.MetricNamespace,
      MetricName: filter.MetricTransformations[0]?.MetricName,
    });
  });

  it('parks failed scheduled invocations in an encrypted queue the functions may write to', () => {
    const configs = ofType('AWS::Lambda::EventInvokeConfig').map(([, r]) => r.Properties);
    // osls emits these in no fixed order.
    expect(configs.map((c) => JSON.stringify(c.FunctionName)).sort()).toEqual([
      JSON.stringify({ Ref: 'RespondLambdaFunction' }),
      JSON.stringify({ Ref: 'RetireLambdaFunction' }),
      JSON.stringify({ Ref: 'ScanLambdaFunction' }),
    ]);
    for (const c of configs) {
      expect(c.DestinationConfig).toEqual({
        OnFailure: { Destination: { 'Fn::GetAtt': ['FailedInvocations', 'Arn'] } },
      });
    }
    for (const role of ['ScanRole', 'RetireRole', 'RespondRole']) {
      expect(statementsOf(role)).toContainEqual(
        expect.objectContaining({
          Action: 'sqs:SendMessage',
          Resource: { 'Fn::GetAtt': ['FailedInvocations', 'Arn'] },
        }),
      );
    }
    expect(resources.FailedInvocations?.Properties).toMatchObject({ SqsManagedSseEnabled: true });
    expect(resources.AlertTopic?.Properties).toMatchObject({ KmsMasterKeyId: { Ref: 'AlertTopicKey' } });
  });

  it('uses a customer-managed KMS key only when one is given, and only through Secrets Manager (scan onboards into it)', () => {
    for (const role of ['ScanRole', 'RotateRole', 'RetireRole']) {
      const kms = statementsOf(role).find((st) => st.Sid === 'SecretKmsKey') as
        | (Statement & { Condition: KmsCondition })
        | undefined;
      expect(kms).toMatchObject({
        Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
        Resource: { Ref: 'SecretKmsKeyArn' },
      });
      expect(kms?.Condition.StringEquals['kms:ViaService']).toEqual({
        // biome-ignore lint/suspicious/noTemplateCurlyInString: a CloudFormation Fn::Sub, not a JS template
        'Fn::Sub': 'secretsmanager.${AWS::Region}.amazonaws.com',
      });
    }
    const raw = resources.ScanRole?.Properties as {
      Policies: Array<{ PolicyDocument: { Statement: unknown[] } }>;
    };
    // Granted only under the condition that a key is given.
    expect(
      raw.Policies.flatMap((p) => p.PolicyDocument.Statement).filter((st) =>
        JSON.stringify(st).includes('SecretKmsKeyArn'),
      ),
    ).toEqual([{ 'Fn::If': ['HasSecretKmsKey', expect.anything(), { Ref: 'AWS::NoValue' }] }]);
  });

  it('accepts SecretKmsKeyArn only as a key ARN (or empty), never an alias', () => {
    const parameter = parameters.SecretKmsKeyArn as { AllowedPattern: string; Default: string };
    // CloudFormation matches AllowedPattern against the whole value.
    const allowed = (value: string) => new RegExp(`^(?:${parameter.AllowedPattern})$`).test(value);
    expect(parameter.Default).toBe('');
    expect(allowed('')).toBe(true);
    expect(allowed('arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab')).toBe(true);
    expect(allowed('arn:aws:kms:us-east-1:123456789012:key/mrk-1234abcd12ab34cd56ef1234567890ab')).toBe(true);
    expect(
      allowed('arn:aws-us-gov:kms:us-gov-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab'),
    ).toBe(true);
    expect(allowed('arn:aws:kms:eu-west-1:123456789012:alias/keyrot')).toBe(false);
    expect(allowed('alias/keyrot')).toBe(false);
    expect(allowed('1234abcd-12ab-34cd-56ef-1234567890ab')).toBe(false);
    expect(allowed('arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab ')).toBe(
      false,
    );
  });

  it('reserves no concurrency unless a stage parameter asks for it', async () => {
    // New accounts often have a concurrency quota of 10 or 50; any reservation would fail the deploy.
    for (const name of ['Scan', 'Rotate', 'Retire', 'Respond'])
      expect(fn(name).ReservedConcurrentExecutions).toBeUndefined();
    const out = await mkdtemp(join(tmpdir(), 'keyrot-reserved-'));
    await run(
      'npx',
      [
        'osls',
        'package',
        '--stage',
        'ci',
        '--package',
        out,
        '--param=scanReservedConcurrency=1',
        '--param=rotateReservedConcurrency=5',
      ],
      {
        env: {
          ...process.env,
          SLS_TELEMETRY_DISABLED: '1',
          SLS_NOTIFICATIONS_MODE: 'off',
          AWS_ENDPOINT_URL: '',
        },
      },
    );
    const reserved = JSON.parse(
      await readFile(join(out, 'cloudformation-template-update-stack.json'), 'utf8'),
    ).Resources as Resources;
    expect(
      ['Scan', 'Rotate', 'Retire'].map(
        (name) => reserved[`${name}LambdaFunction`]?.Properties.ReservedConcurrentExecutions,
      ),
    ).toEqual([1, 5, undefined]);
  }, 60_000);

  it("gives the leak response the rotate and retire roles' rights and onboarding, and nothing more", () => {
    const grants = (role: string) =>
      new Set(statementsOf(role).flatMap((st) => actions(st).map((a) => `${a} ${resourceText(st)}`)));
    const respond = grants('RespondRole');
    const allowed = new Set([...grants('RotateRole'), ...grants('RetireRole')]);
    const extra = [...respond].filter((g) => !allowed.has(g));
    // Onboarding an exposed user keyrot did not manage yet needs the scan's CreateSecret, under the prefix.
    expect(extra).toEqual([
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a CloudFormation Fn::Sub, not a JS template
      'secretsmanager:CreateSecret {"Fn::Sub":"arn:aws:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:keyrot/*"}',
    ]);
  });

  it('starts the leak response on exactly the exposed-credentials Health event', async () => {
    const rules = Object.values(resources).filter((r) => r.Type === 'AWS::Events::Rule');
    const health = rules.filter((r) =>
      JSON.stringify(r.Properties.EventPattern ?? {}).includes('aws.health'),
    );
    expect(health).toHaveLength(1);
    const pattern = health[0]?.Properties.EventPattern;
    expect(pattern).toEqual(EXPOSED_EVENT_PATTERN);
    const sample = JSON.parse(await readFile('test/fixtures/health-exposed-event.json', 'utf8')) as {
      detail: Record<string, unknown>;
    };
    expect(matchesPattern(pattern, sample)).toBe(true);
    const other = {
      ...sample,
      detail: { ...sample.detail, eventTypeCode: 'AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED' },
    };
    expect(matchesPattern(pattern, other)).toBe(false);
    const target = JSON.stringify(health[0]?.Properties.Targets);
    expect(target).toContain('RespondLambdaFunction');
  });

  it.each(['scan', 'rotate', 'retire', 'respond'])(
    '%s.zip: one bundle of at most 400 KB, its source map, and the validated config as JSON',
    async (name) => {
      const files = await readZip(join(inject('packagedDir'), `${name}.zip`));
      expect([...files.keys()].sort()).toEqual([
        'dist/keyrot.config.json',
        `functions/${name}.mjs`,
        `functions/${name}.mjs.map`,
      ]);
      expect(files.get(`functions/${name}.mjs`)?.length).toBeLessThanOrEqual(400 * 1024);
      const shipped = JSON.parse(files.get('dist/keyrot.config.json')?.toString() ?? '');
      expect(shipped).toEqual(parseYaml(await readFile('keyrot.config.yaml', 'utf8')));
      // No YAML parser inside: the functions read JSON.
      expect(files.get(`functions/${name}.mjs`)?.toString()).not.toContain('YAMLParseError');
    },
  );

  it('stops packaging, naming the field, when the config is invalid', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'keyrot-bad-config-'));
    const bad = join(dir, 'keyrot.config.yaml');
    await writeFile(bad, 'policy:\n  maxKeyAgeDays: 0\n');
    const out = join(dir, 'package');
    const failure = await run(
      'npx',
      ['osls', 'package', '--stage', 'ci', '--package', out, `--param=configFile=${bad}`],
      {
        env: {
          ...process.env,
          SLS_TELEMETRY_DISABLED: '1',
          SLS_NOTIFICATIONS_MODE: 'off',
          AWS_ENDPOINT_URL: '',
        },
      },
    ).then(
      () => undefined,
      (error: { code?: number; stdout?: string; stderr?: string }) => error,
    );
    expect(failure?.code).toBe(1);
    expect(`${failure?.stdout}${failure?.stderr}`).toContain(
      'policy.maxKeyAgeDays: 0 is out of range; use a whole number from 1 to 1000',
    );
    expect(await readdir(dir)).toEqual(['keyrot.config.yaml']);
  }, 60_000);

  it("encrypts the alert topic with the stack's own key, which CloudWatch alarms may use to publish", () => {
    const key = resources.AlertTopicKey?.Properties as {
      EnableKeyRotation: boolean;
      KeyPolicy: { Statement: Array<Statement & { Principal: unknown }> };
    };
    expect(key.EnableKeyRotation).toBe(true);
    expect(key.KeyPolicy.Statement).toContainEqual(
      expect.objectContaining({
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      }),
    );
  });

  it('lets each function publish alerts only to the alert topic, and use its key only through SNS', () => {
    for (const role of ['ScanRole', 'RetireRole', 'RotateRole']) {
      const statements = statementsOf(role);
      expect(statements.filter((st) => actions(st).some((a) => a.startsWith('sns:')))).toEqual([
        expect.objectContaining({ Action: 'sns:Publish', Resource: { Ref: 'AlertTopic' } }),
      ]);
      expect(statements.find((st) => st.Sid === 'AlertTopicKey')).toMatchObject({
        Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
        Resource: { 'Fn::GetAtt': ['AlertTopicKey', 'Arn'] },
        Condition: {
          // biome-ignore lint/suspicious/noTemplateCurlyInString: a CloudFormation Fn::Sub, not a JS template
          StringEquals: { 'kms:ViaService': { 'Fn::Sub': 'sns.${AWS::Region}.amazonaws.com' } },
        },
      });
    }
    for (const name of ['Scan', 'Retire', 'Rotate']) {
      expect((fn(name).Environment as { Variables: Record<string, unknown> }).Variables).toMatchObject({
        ALERT_TOPIC_ARN: { Ref: 'AlertTopic' },
        ALERT_LEDGER_TABLE: { Ref: 'AlertLedger' },
        KEYROT_STAGE: expect.any(String),
      });
    }
  });
});
