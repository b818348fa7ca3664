import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import {
  AttachRolePolicyCommand,
  CreateAccessKeyCommand,
  CreateRoleCommand,
  CreateUserCommand,
  DeleteAccessKeyCommand,
  ListUserTagsCommand,
  PutRolePolicyCommand,
  PutUserPolicyCommand,
  UpdateAccessKeyCommand,
} from '@aws-sdk/client-iam';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
} from '@aws-sdk/client-secrets-manager';
import { CreateTopicCommand, PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { AssumeRoleCommand } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity } from '@smithy/types';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  type Alert,
  retirementAlerts,
  rotationFailedAlert,
  scanAlerts,
  withOwners,
} from '../../lib/alerts/alerts.js';
import { userRoutes } from '../../lib/alerts/owners.js';
import { snsNotifier } from '../../lib/alerts/sns.js';
import { type AwsClients, createClients, createSnsClient } from '../../lib/aws/clients.js';
import { DAY_MS } from '../../lib/clock.js';
import type { Config } from '../../lib/config.js';
import { loadConfigFile } from '../../lib/config-file.js';
import { retireAll } from '../../lib/retirement/retire.js';
import { rotationDeps } from '../../lib/rotation/deps.js';
import { runRotationStep } from '../../lib/rotation/lambda-step.js';
import { startRotations } from '../../lib/rotation/start.js';
import { STEPS } from '../../lib/rotation/steps.js';
import { scanAccount } from '../../lib/scan.js';
import { type Emulator, pointAwsAt, startMoto } from '../../lib/testbed/moto.js';
import { seedUsers, signWith } from '../../lib/testbed/seed.js';
import { alertQueue } from '../helpers/alerts.js';
import { type DeployContext, readPackagedTemplate, rolePolicies } from '../helpers/cfn.js';
import { manualClock } from '../helpers/clock.js';
import { expectConverged, keyIds } from '../helpers/rotation.js';

/**
 * The whole lifecycle on moto with request authentication on, each function running as a role that
 * holds exactly the policies of its role in the packaged template. moto resolves each request's
 * resource (user ARN with its path, secret ARN with its tags) through test/helpers/moto-scoped-auth,
 * then moto's own IAM code allows or denies it: keyrot's code plays no part in the denials below.
 */
const ACCOUNT = '123456789012';
const REGION = 'us-east-1';
const ROLES = { scan: 'ScanRole', rotate: 'RotateRole', retire: 'RetireRole' } as const;
const ROTATE_FUNCTION_ARN = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:keyrot-ci-rotate`;
const ALERT_TOPIC_ARN = `arn:aws:sns:${REGION}:${ACCOUNT}:keyrot-ci-alerts`;
const OTHER_TOPIC_ARN = `arn:aws:sns:${REGION}:${ACCOUNT}:someone-elses-topic`;
const deploy: DeployContext = {
  accountId: ACCOUNT,
  region: REGION,
  refs: { AlertTopic: ALERT_TOPIC_ARN },
  parameters: { SecretKmsKeyArn: '', AlertEmail: '' },
  conditions: { HasSecretKmsKey: false, HasAlertEmail: false },
  getAtt: (resource, attribute) =>
    resource === 'RotateLambdaFunction' && attribute === 'Arn'
      ? ROTATE_FUNCTION_ARN
      : `arn:aws:cloudformation:${REGION}:${ACCOUNT}:resource/${resource}/${attribute}`,
};
/** The day the scan finds the machine user's 100-day-old key (moto dates keys in real time). */
const T = new Date(Date.now() + 100 * DAY_MS);
const day = (n: number) => new Date(T.getTime() + n * DAY_MS);

let emulator: Emulator;
let restoreEnv: () => void;
let config: Config;
type RoleClients = AwsClients & { sns: SNSClient };
let admin: RoleClients;
const as = {} as Record<keyof typeof ROLES, RoleClients>;
let alerts: Awaited<ReturnType<typeof alertQueue>>;
let oldKey = '';
let humanKey = '';

/** What each role may not do: every one must be refused by moto's IAM with HTTP 403. */
const outsideScope: Array<[keyof typeof ROLES, string, (c: RoleClients) => Promise<unknown>]> = [
  [
    'retire',
    'read the tags of a user outside the machine path',
    (c) => c.iam.send(new ListUserTagsCommand({ UserName: 'alice' })),
  ],
  [
    'retire',
    'publish to a topic other than the alert topic',
    (c) => c.sns.send(new PublishCommand({ TopicArn: OTHER_TOPIC_ARN, Message: 'x' })),
  ],
  [
    'rotate',
    'publish to a topic other than the alert topic',
    (c) => c.sns.send(new PublishCommand({ TopicArn: OTHER_TOPIC_ARN, Message: 'x' })),
  ],
  [
    'rotate',
    'create a key for a user outside the machine path',
    (c) => c.iam.send(new CreateAccessKeyCommand({ UserName: 'alice' })),
  ],
  [
    'rotate',
    'delete a key of a user outside the machine path',
    (c) => c.iam.send(new DeleteAccessKeyCommand({ UserName: 'alice', AccessKeyId: humanKey })),
  ],
  [
    'retire',
    'deactivate a key of a user outside the machine path',
    (c) =>
      c.iam.send(
        new UpdateAccessKeyCommand({ UserName: 'alice', AccessKeyId: humanKey, Status: 'Inactive' }),
      ),
  ],
  [
    'retire',
    'delete a key of a user outside the machine path',
    (c) => c.iam.send(new DeleteAccessKeyCommand({ UserName: 'alice', AccessKeyId: humanKey })),
  ],
  [
    'scan',
    'create a key at all, even for a machine user',
    (c) => c.iam.send(new CreateAccessKeyCommand({ UserName: 'ci' })),
  ],
  [
    'rotate',
    'read a secret outside the prefix',
    (c) => c.secrets.send(new GetSecretValueCommand({ SecretId: 'other/app' })),
  ],
  [
    'rotate',
    'write a secret outside the prefix',
    (c) => c.secrets.send(new PutSecretValueCommand({ SecretId: 'other/app', SecretString: 'x' })),
  ],
  [
    'rotate',
    "write a secret under the prefix without keyrot's user tag",
    (c) => c.secrets.send(new PutSecretValueCommand({ SecretId: 'keyrot/untagged', SecretString: 'x' })),
  ],
  [
    'retire',
    'read a secret outside the prefix',
    (c) => c.secrets.send(new GetSecretValueCommand({ SecretId: 'other/app' })),
  ],
  [
    'scan',
    'create a secret outside the prefix',
    (c) => c.secrets.send(new CreateSecretCommand({ Name: 'other/ci' })),
  ],
];

/** The HTTP status of a refused call (moto answers Secrets Manager's JSON calls in XML, so the SDK can't parse the error). */
function statusOf(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

/** Clients that sign with these credentials (one attempt per call, so a refusal shows at once). */
function clientsFor(credentials: AwsCredentialIdentity): RoleClients {
  const options = { maxAttempts: 1, credentials };
  return { ...createClients(options), sns: createSnsClient(options) };
}

async function assumeRole(role: string): Promise<RoleClients> {
  const { Credentials: c } = await admin.sts.send(
    new AssumeRoleCommand({
      RoleArn: `arn:aws:iam::${ACCOUNT}:role/${role}`,
      RoleSessionName: `keyrot-${role}`,
    }),
  );
  if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken)
    throw new Error(`AssumeRole ${role} gave no credentials`);
  return clientsFor({
    accessKeyId: c.AccessKeyId,
    secretAccessKey: c.SecretAccessKey,
    sessionToken: c.SessionToken,
  });
}

/** Everything a refused call could have changed. */
async function outsideState() {
  const value = async (id: string) =>
    (await admin.secrets.send(new GetSecretValueCommand({ SecretId: id }))).SecretString;
  return {
    alice: await keyIds(admin, 'alice'),
    other: await value('other/app'),
    untagged: await value('keyrot/untagged'),
  };
}

beforeAll(async () => {
  emulator = await startMoto({
    pythonPath: fileURLToPath(new URL('../helpers/moto-scoped-auth', import.meta.url)),
  });
  restoreEnv = pointAwsAt(emulator.endpoint, 'bootstrap');
  config = await loadConfigFile('keyrot.config.yaml');
  const bootstrap = createClients();

  // The world, set up before authentication is on: an administrator, a machine user whose key a
  // consumer uses, a human with a key, and secrets keyrot must not touch.
  await bootstrap.iam.send(new CreateUserCommand({ UserName: 'administrator' }));
  await bootstrap.iam.send(
    new PutUserPolicyCommand({
      UserName: 'administrator',
      PolicyName: 'all',
      PolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
      }),
    }),
  );
  const { AccessKey } = await bootstrap.iam.send(new CreateAccessKeyCommand({ UserName: 'administrator' }));
  const [ci, alice] = await seedUsers(bootstrap.iam, emulator.endpoint, [
    { userName: 'ci', path: '/machine/', tags: { owner: 'platform' }, keys: [{ used: true }] },
    { userName: 'alice', path: '/', keys: [{ used: true }] },
  ]);
  oldKey = ci?.accessKeyId ?? '';
  humanKey = alice?.accessKeyId ?? '';
  await bootstrap.secrets.send(
    new CreateSecretCommand({
      Name: 'other/app',
      SecretString: 'app',
      Tags: [{ Key: 'keyrot:user', Value: 'ci' }],
    }),
  );
  await bootstrap.secrets.send(
    new CreateSecretCommand({ Name: 'keyrot/untagged', SecretString: 'untagged' }),
  );
  const bootstrapSns = createSnsClient();
  await bootstrapSns.send(new CreateTopicCommand({ Name: 'keyrot-ci-alerts' }));
  await bootstrapSns.send(new CreateTopicCommand({ Name: 'someone-elses-topic' }));

  // One role per function, holding exactly its policies from the packaged template.
  const template = await readPackagedTemplate(inject('packagedDir'));
  for (const role of Object.values(ROLES)) {
    await bootstrap.iam.send(
      new CreateRoleCommand({
        RoleName: role,
        AssumeRolePolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { AWS: `arn:aws:iam::${ACCOUNT}:user/administrator` },
              Action: 'sts:AssumeRole',
            },
          ],
        }),
      }),
    );
    const policies = rolePolicies(template, role, deploy);
    for (const { name, document } of policies.inline) {
      await bootstrap.iam.send(
        new PutRolePolicyCommand({
          RoleName: role,
          PolicyName: name,
          PolicyDocument: JSON.stringify(document),
        }),
      );
    }
    for (const arn of policies.managed) {
      await bootstrap.iam.send(new AttachRolePolicyCommand({ RoleName: role, PolicyArn: arn }));
    }
  }

  const on = await fetch(`${emulator.endpoint}/moto-api/reset-auth`, { method: 'POST', body: '0' });
  if (!on.ok) throw new Error(`moto did not turn authentication on: HTTP ${on.status}`);
  const adminCredentials = {
    accessKeyId: AccessKey?.AccessKeyId ?? '',
    secretAccessKey: AccessKey?.SecretAccessKey ?? '',
  };
  admin = clientsFor(adminCredentials);
  alerts = await alertQueue(ALERT_TOPIC_ARN, admin.sns, adminCredentials);
  for (const [fn, role] of Object.entries(ROLES)) as[fn as keyof typeof ROLES] = await assumeRole(role);
}, 60_000);

/** Publishes alerts to the alert topic as a role, through the SNS notifier the functions use. */
async function publish(role: RoleClients, list: readonly Alert[]): Promise<void> {
  const notifier = snsNotifier(role.sns, ALERT_TOPIC_ARN);
  for (const alert of list) await notifier.send(alert);
}

afterAll(async () => {
  restoreEnv?.();
  await emulator?.stop();
});

describe('least privilege on moto with IAM enforced: each function as its packaged role', () => {
  it('refuses unsigned and unknown credentials once authentication is on', async () => {
    const stranger = createClients({
      maxAttempts: 1,
      credentials: { accessKeyId: 'AKIAUNKNOWN000000000', secretAccessKey: 'unknown' },
    });
    await expect(stranger.iam.send(new CreateAccessKeyCommand({ UserName: 'ci' }))).rejects.toSatisfy(
      (error) => statusOf(error) === 403,
    );
  });

  it('scan: reads the account, plans the rotation and onboards the machine user', async () => {
    const result = await scanAccount({ clients: as.scan, clock: manualClock(T) }, config, T);
    expect(result.plan.actions.filter((a) => a.kind === 'rotate').map((a) => a.userName)).toEqual(['ci']);
    const started = await startRotations(as.scan.secrets, result.plan, config, ROTATE_FUNCTION_ARN);
    // IAM let every call through: moto then fails RotateSecret looking for the function in its own
    // Lambda service (it can't run Lambda functions), after configuring rotation on the secret.
    expect(started).toEqual([
      expect.objectContaining({
        userName: 'ci',
        outcome: 'failed',
        error: expect.stringMatching(/^ResourceNotFoundException: Resource not found for ARN/),
      }),
    ]);
    // The owners' digests go to the alert topic, published as the scan role.
    await publish(as.scan, scanAlerts(result.plan, started));
    const digests = await alerts.receive();
    expect(digests.find((a) => a.attributes.owner === 'platform')).toMatchObject({
      attributes: { severity: 'critical', kind: 'failure', user: 'ci' },
    });
    const secret = await admin.secrets.send(new DescribeSecretCommand({ SecretId: 'keyrot/ci' }));
    expect(secret).toMatchObject({
      RotationEnabled: true,
      RotationLambdaARN: ROTATE_FUNCTION_ARN,
      Tags: expect.arrayContaining([{ Key: 'keyrot:user', Value: 'ci' }]),
    });
  });

  it('rotate: runs the four steps Secrets Manager sends, as the rotate role', async () => {
    const token = randomUUID();
    for (const Step of STEPS) {
      await runRotationStep(rotationDeps(as.rotate, manualClock(T), config), config, {
        Step,
        SecretId: 'keyrot/ci',
        ClientRequestToken: token,
      });
    }
    const current = await expectConverged(
      admin,
      emulator.endpoint,
      'ci',
      `arn:aws:iam::${ACCOUNT}:user/machine/ci`,
      [oldKey],
    );
    expect(current.AccessKeyId).not.toBe(oldKey);
    expect(await keyIds(admin, 'ci')).toHaveLength(2);
    // A failed step alerts the owner: the rotate role reads the user's tags and publishes to the topic.
    const routes = await userRoutes(as.rotate.iam, ['ci'], config.ownerTag);
    expect(routes.get('ci')).toEqual({ owner: 'platform' });
    const failed = rotationFailedAlert({
      accountId: ACCOUNT,
      userName: 'ci',
      secretName: 'keyrot/ci',
      step: 'testSecret',
      token,
      error: new Error('example'),
      secretsManagerRetries: true,
    });
    await publish(as.rotate, [{ ...failed, ...routes.get('ci') }]);
    expect(await alerts.receive()).toEqual([
      expect.objectContaining({
        attributes: { severity: 'critical', kind: 'rotation-failed', owner: 'platform', user: 'ci' },
      }),
    ]);
  });

  it('retire: deactivates the idle old key on day 8 and deletes it on day 16, as the retire role', async () => {
    const deps = (n: number) => ({ clients: as.retire, clock: manualClock(day(n)) });
    const first = await retireAll(deps(8), config, day(8));
    expect(first.filter((r) => 'error' in r)).toEqual([]);
    expect(await keyIds(admin, 'ci')).toContainEqual({ id: oldKey, status: 'Inactive' });
    // The owner hears of it, through the alert topic, as the retire role.
    const owners = await userRoutes(as.retire.iam, ['ci'], config.ownerTag);
    await publish(as.retire, withOwners(retirementAlerts(ACCOUNT, first), owners));
    expect(await alerts.receive()).toEqual([
      expect.objectContaining({
        attributes: { severity: 'info', kind: 'key-deactivated', owner: 'platform', user: 'ci' },
      }),
    ]);
    const second = await retireAll(deps(16), config, day(16));
    expect(second.filter((r) => 'error' in r)).toEqual([]);
    const keys = await keyIds(admin, 'ci');
    expect(keys.map((k) => k.id)).not.toContain(oldKey);
    const current = await expectConverged(
      admin,
      emulator.endpoint,
      'ci',
      `arn:aws:iam::${ACCOUNT}:user/machine/ci`,
      [],
    );
    expect(keys).toEqual([{ id: current.AccessKeyId, status: 'Active' }]);
  });

  it.each(outsideScope)(
    'the %s role may not %s: IAM answers 403 and nothing changes',
    async (fn, _what, call) => {
      const before = await outsideState();
      const error = await call(as[fn]).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(statusOf(error), `expected IAM to refuse, got ${String(error)}`).toBe(403);
      expect(await outsideState()).toEqual(before);
    },
  );

  it('a config widened past the machine path does not widen the role: IAM refuses to list every user', async () => {
    const before = await outsideState();
    const widened = { ...config, machinePath: '/' };
    const error = await retireAll({ clients: as.retire, clock: manualClock(day(30)) }, widened, day(30)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(statusOf(error)).toBe(403);
    expect((error as { $operation?: string }).$operation).toBe('iam:ListUsers');
    expect(await outsideState()).toEqual(before);
  });

  it('the machine user keeps a working key throughout', async () => {
    const current = await expectConverged(
      admin,
      emulator.endpoint,
      'ci',
      `arn:aws:iam::${ACCOUNT}:user/machine/ci`,
      [],
    );
    expect(await signWith(emulator.endpoint, current.AccessKeyId, current.SecretAccessKey)).toBe(
      `arn:aws:iam::${ACCOUNT}:user/machine/ci`,
    );
  });
});
