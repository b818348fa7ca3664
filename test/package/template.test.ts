import { execFile } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);

interface Statement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: unknown;
}
type Resources = Record<string, { Type: string; Properties: Record<string, unknown> }>;

describe('serverless.yml packaged with osls', () => {
  let resources: Resources;

  beforeAll(async () => {
    const out = await mkdtemp(join(tmpdir(), 'keyrot-package-'));
    await run('npx', ['osls', 'package', '--stage', 'ci', '--package', out], {
      env: {
        ...process.env,
        SLS_TELEMETRY_DISABLED: '1',
        SLS_NOTIFICATIONS_MODE: 'off',
        AWS_ENDPOINT_URL: '',
      },
      timeout: 120_000,
    });
    const template = JSON.parse(
      await readFile(join(out, 'cloudformation-template-update-stack.json'), 'utf8'),
    );
    resources = template.Resources as Resources;
  }, 180_000);

  const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);

  it('deploys the scan function on the nodejs24.x runtime with its own role and the packaged config', () => {
    const [[, scan] = ['', { Properties: {} }]] = ofType('AWS::Lambda::Function');
    expect(scan.Properties).toMatchObject({
      Runtime: 'nodejs24.x',
      Handler: 'functions/scan.handler',
      Role: { 'Fn::GetAtt': ['ScanRole', 'Arn'] },
      Environment: { Variables: { KEYROT_CONFIG_FILE: 'keyrot.config.yaml' } },
    });
  });

  it('runs the scan on an EventBridge schedule', () => {
    const rules = ofType('AWS::Events::Rule').map(([, r]) => r.Properties);
    expect(rules).toEqual([expect.objectContaining({ ScheduleExpression: 'rate(1 day)', State: 'ENABLED' })]);
  });

  it('gives the scan role read-only IAM actions, no wildcards, and "*" only where IAM has no resource', () => {
    const role = resources.ScanRole?.Properties as {
      Policies: Array<{ PolicyDocument: { Statement: Statement[] } }>;
    };
    const statements = role.Policies.flatMap((p) => p.PolicyDocument.Statement);
    const actions = statements.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));
    expect(actions.filter((a) => a.includes('*'))).toEqual([]);
    expect(actions.every((a) => /^iam:(Get|List|Generate)/.test(a))).toBe(true);
    const starred = statements.filter((s) => s.Resource === '*').flatMap((s) => s.Action);
    expect(starred.sort()).toEqual([
      'iam:GenerateCredentialReport',
      'iam:GetAccountAuthorizationDetails',
      'iam:GetCredentialReport',
    ]);
  });
});
