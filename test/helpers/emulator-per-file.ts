import { CreateRoleCommand, IAMClient, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { beforeAll, inject } from 'vitest';
import { pointAwsAt, resetEmulator } from '../../lib/testbed/moto.js';

// Every integration file starts from an empty account, with request authentication on: each request
// must be signed by a key the emulator knows (and that is Active: see test/helpers/moto-scoped-auth),
// and is checked against its identity's IAM policies. Never real AWS credentials.
const endpoint = inject('awsEndpoint');
pointAwsAt(endpoint, 'testing');

/** The test identity: a role, so it adds no user to the account the tests inventory. */
export const TEST_ADMIN_ROLE = 'keyrot-test-administrator';

beforeAll(async () => {
  await resetEmulator(endpoint);
  // Authentication is off after a reset: create the administrator, then sign as it.
  const region = 'us-east-1';
  const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };
  const iam = new IAMClient({ endpoint, region, credentials });
  const sts = new STSClient({ endpoint, region, credentials });
  try {
    await iam.send(
      new CreateRoleCommand({
        RoleName: TEST_ADMIN_ROLE,
        AssumeRolePolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Principal: { AWS: '*' }, Action: 'sts:AssumeRole' }],
        }),
      }),
    );
    await iam.send(
      new PutRolePolicyCommand({
        RoleName: TEST_ADMIN_ROLE,
        PolicyName: 'everything',
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
        }),
      }),
    );
    const { Credentials: c } = await sts.send(
      new AssumeRoleCommand({
        RoleArn: `arn:aws:iam::123456789012:role/${TEST_ADMIN_ROLE}`,
        RoleSessionName: 'integration-tests',
        DurationSeconds: 43_200,
      }),
    );
    if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken)
      throw new Error('AssumeRole gave no credentials for the test administrator');
    Object.assign(process.env, {
      AWS_ACCESS_KEY_ID: c.AccessKeyId,
      AWS_SECRET_ACCESS_KEY: c.SecretAccessKey,
      AWS_SESSION_TOKEN: c.SessionToken,
    });
  } finally {
    iam.destroy();
    sts.destroy();
  }
  const on = await fetch(`${endpoint}/moto-api/reset-auth`, { method: 'POST', body: '0' });
  if (!on.ok) throw new Error(`moto did not turn request authentication on: HTTP ${on.status}`);
});
