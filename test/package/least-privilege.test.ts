import { fileURLToPath } from 'node:url';
import {
  AttachRolePolicyCommand,
  CreateAccessKeyCommand,
  CreateRoleCommand,
  CreateUserCommand,
  GetAccountAuthorizationDetailsCommand,
  GetLoginProfileCommand,
  ListAccessKeysCommand,
  ListUserTagsCommand,
  PutRolePolicyCommand,
  PutUserPolicyCommand,
} from '@aws-sdk/client-iam';
import {
  CreateKeyCommand,
  DescribeKeyCommand,
  EncryptCommand,
  KMSClient,
  ListKeysCommand,
} from '@aws-sdk/client-kms';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetResourcePolicyCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  ListSecretVersionIdsCommand,
} from '@aws-sdk/client-secrets-manager';
import {
  CreateTopicCommand,
  GetTopicAttributesCommand,
  ListSubscriptionsCommand,
  ListTopicsCommand,
  PublishCommand,
  SubscribeCommand,
} from '@aws-sdk/client-sns';
import { GetQueueAttributesCommand, ListQueuesCommand, SQSClient } from '@aws-sdk/client-sqs';
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
import { sdkSns } from '../../lib/aws/sns.js';
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
import { createQueue } from '../helpers/sqs.js';
import { ALLOW_LISTS, type Grant, resolveGrants } from './allow-lists.js';
import {
  CATALOGUE,
  covers,
  deniedErrorName,
  type ProbeClients,
  type Target,
  type TargetType,
} from './probes.js';

/**
 * The whole lifecycle on moto with request authentication on, each function running as a role that
 * holds exactly the policies of its role in the packaged template, with a customer-managed key for the
 * secrets and an encrypted alert topic. Then, for every role, every call of the probe catalogue that
 * its allow-list doesn't cover is made, and each must be refused as AccessDenied with nothing changed
 * in the account. moto decides through test/helpers/moto-scoped-auth, which follows AWS's policy
 * evaluation logic (its pytest cases run in the unit project): keyrot's code plays no part in a denial.
 */
const ACCOUNT = '123456789012';
const REGION = 'us-east-1';
/** The respond role (leak response) has no part in this lifecycle: it is probed below. */
const ROLES = {
  scan: 'ScanRole',
  rotate: 'RotateRole',
  retire: 'RetireRole',
  respond: 'RespondRole',
} as const;
type Fn = keyof typeof ROLES;
const ROTATE_FUNCTION_ARN = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:keyrot-ci-rotate`;
const ALERT_TOPIC_ARN = `arn:aws:sns:${REGION}:${ACCOUNT}:keyrot-ci-alerts`;
const OTHER_TOPIC_ARN = `arn:aws:sns:${REGION}:${ACCOUNT}:someone-elses-topic`;
/** The day the scan finds the machine user's 100-day-old key (moto dates keys in real time). */
const T = new Date(Date.now() + 100 * DAY_MS);
const day = (n: number) => new Date(T.getTime() + n * DAY_MS);

let emulator: Emulator;
let restoreEnv: () => void;
let config: Config;
type RoleClients = AwsClients & ProbeClients;
let admin: RoleClients;
const as = {} as Record<Fn | 'rotateWithoutSecretKey' | 'scanWithoutTopicKey', RoleClients>;
let alerts: Awaited<ReturnType<typeof alertQueue>>;
let oldKey = '';
/** Deploy-time values: the placeholders of the allow-lists, as this emulated stack has them. */
const deployed: Record<string, string> = {};

/** Clients that sign with these credentials (one attempt per call, so a refusal shows at once). */
function clientsFor(credentials: AwsCredentialIdentity): RoleClients {
  const options = { maxAttempts: 1, credentials };
  const raw = { region: REGION, maxAttempts: 1, credentials };
  return {
    ...createClients(options),
    sns: createSnsClient(options),
    kms: new KMSClient(raw),
    sqs: new SQSClient(raw),
  };
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

const trustAdministrator = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    {
      Effect: 'Allow',
      Principal: { AWS: `arn:aws:iam::${ACCOUNT}:user/administrator` },
      Action: 'sts:AssumeRole',
    },
  ],
});

/** Everything a refused call could have changed: IAM, secrets, topics, keys and queues. */
async function accountState() {
  const a = admin;
  const [gaad, secrets, topics, subscriptions, keys, queues] = await Promise.all([
    a.iam.send(
      new GetAccountAuthorizationDetailsCommand({ Filter: ['User', 'Role', 'Group', 'LocalManagedPolicy'] }),
    ),
    a.secrets.send(new ListSecretsCommand({ IncludePlannedDeletion: true })),
    a.sns.send(new ListTopicsCommand({})),
    a.sns.send(new ListSubscriptionsCommand({})),
    a.kms.send(new ListKeysCommand({})),
    a.sqs.send(new ListQueuesCommand({})).then(({ QueueUrls = [] }) =>
      Promise.all(
        QueueUrls.sort().map(async (QueueUrl) => ({
          queue: QueueUrl,
          attributes: (
            await a.sqs.send(
              new GetQueueAttributesCommand({
                QueueUrl,
                AttributeNames: [
                  'ApproximateNumberOfMessages',
                  'ApproximateNumberOfMessagesNotVisible',
                  'Policy',
                ],
              }),
            )
          ).Attributes,
        })),
      ),
    ),
  ]);
  const users = gaad.UserDetailList ?? [];
  const perUser = await Promise.all(
    users.map(async (u) => ({
      user: u.UserName,
      keys: (await a.iam.send(new ListAccessKeysCommand({ UserName: u.UserName }))).AccessKeyMetadata?.map(
        (k) => `${k.AccessKeyId}:${k.Status}`,
      ),
      tags: (await a.iam.send(new ListUserTagsCommand({ UserName: u.UserName }))).Tags,
      loginProfile: await a.iam.send(new GetLoginProfileCommand({ UserName: u.UserName })).then(
        () => true,
        (e: { name?: string }) => (e.name === 'NoSuchEntity' ? false : e.name),
      ),
    })),
  );
  const perSecret = await Promise.all(
    (secrets.SecretList ?? []).map(async (s) => ({
      versions: (
        await a.secrets.send(new ListSecretVersionIdsCommand({ SecretId: s.ARN, IncludeDeprecated: true }))
      ).Versions?.map((v) => `${v.VersionId}:${v.VersionStages?.join('+')}`),
      policy: (await a.secrets.send(new GetResourcePolicyCommand({ SecretId: s.ARN }))).ResourcePolicy,
    })),
  );
  const perTopic = await Promise.all(
    (topics.Topics ?? []).map(
      async (t) => (await a.sns.send(new GetTopicAttributesCommand({ TopicArn: t.TopicArn }))).Attributes,
    ),
  );
  const perKey = await Promise.all(
    (keys.Keys ?? []).map(async (k) => {
      const { KeyMetadata: m } = await a.kms.send(new DescribeKeyCommand({ KeyId: k.KeyId }));
      return `${m?.Arn}:${m?.KeyState}:${m?.Enabled}:${m?.DeletionDate?.toISOString() ?? '-'}`;
    }),
  );
  return {
    users: users.map((u) => ({
      name: u.UserName,
      path: u.Path,
      inline: u.UserPolicyList,
      attached: u.AttachedManagedPolicies,
      groups: u.GroupList,
    })),
    roles: (gaad.RoleDetailList ?? []).map((r) => ({
      name: r.RoleName,
      trust: r.AssumeRolePolicyDocument,
      inline: r.RolePolicyList,
      attached: r.AttachedManagedPolicies,
    })),
    policies: (gaad.Policies ?? []).map((p) => `${p.Arn}:${p.DefaultVersionId}`),
    perUser,
    secrets: (secrets.SecretList ?? []).map((s) => ({
      name: s.Name,
      description: s.Description,
      kmsKeyId: s.KmsKeyId,
      tags: s.Tags,
      rotation: [s.RotationEnabled, s.RotationLambdaARN],
      deleted: s.DeletedDate,
      stages: s.SecretVersionsToStages,
      lastAccessed: s.LastAccessedDate,
    })),
    perSecret,
    topics: perTopic,
    subscriptions: (subscriptions.Subscriptions ?? []).map(
      (s) => `${s.TopicArn}:${s.Protocol}:${s.Endpoint}`,
    ),
    keys: perKey,
    queues,
  };
}

beforeAll(async () => {
  emulator = await startMoto({
    pythonPath: fileURLToPath(new URL('../helpers/moto-scoped-auth', import.meta.url)),
  });
  restoreEnv = pointAwsAt(emulator.endpoint, 'bootstrap');
  const bootstrap = clientsFor({ accessKeyId: 'bootstrap', secretAccessKey: 'bootstrap' });

  // The world, set up before authentication is on: an administrator, a machine user whose key a
  // consumer uses, a human, a user on a path that merely starts like the machine path, secrets
  // keyrot must not touch, the keys, topics and queues of the stack and someone else's.
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
  const [ci] = await seedUsers(bootstrap.iam, emulator.endpoint, [
    { userName: 'ci', path: '/machine/', tags: { owner: 'platform' }, keys: [{ used: true }] },
    { userName: 'alice', path: '/', keys: [{ used: true }] },
    { userName: 'tractor', path: '/machinery/', keys: [{ used: true }] },
  ]);
  oldKey = ci?.accessKeyId ?? '';
  const key = async (description: string) =>
    (await bootstrap.kms.send(new CreateKeyCommand({ Description: description }))).KeyMetadata?.Arn ?? '';
  deployed['<SecretKmsKeyArn>'] = await key('keyrot secrets');
  deployed['<AlertTopicKey.Arn>'] = await key('keyrot alert topic');
  deployed.otherKey = await key('someone else');
  const tagged = [{ Key: 'keyrot:user', Value: 'ci' }];
  await bootstrap.secrets.send(
    new CreateSecretCommand({ Name: 'other/app', SecretString: 'app', Tags: tagged }),
  );
  await bootstrap.secrets.send(
    new CreateSecretCommand({ Name: 'keyrot-archive/app', SecretString: 'a', Tags: tagged }),
  );
  await bootstrap.secrets.send(
    new CreateSecretCommand({ Name: 'keyrot/untagged', SecretString: 'untagged' }),
  );
  await bootstrap.secrets.send(
    new CreateSecretCommand({ Name: 'keyrot-slack/ops', SecretString: 'https://hooks' }),
  );
  await bootstrap.sns.send(
    new CreateTopicCommand({
      Name: 'keyrot-ci-alerts',
      Attributes: { KmsMasterKeyId: deployed['<AlertTopicKey.Arn>'] },
    }),
  );
  await bootstrap.sns.send(new CreateTopicCommand({ Name: 'someone-elses-topic' }));
  const queue = (name: string) => createQueue(bootstrap.sqs, name);
  const failed = await queue('keyrot-ci-failed');
  deployed['<FailedInvocations.Arn>'] = failed.arn;
  deployed.failedQueueUrl = failed.url;
  // Subscribed to someone else's topic: a publish that got through would land here.
  const witness = await queue('witness');
  deployed.witnessQueueUrl = witness.url;
  deployed.witnessQueueArn = witness.arn;
  await bootstrap.sns.send(
    new SubscribeCommand({ TopicArn: OTHER_TOPIC_ARN, Protocol: 'sqs', Endpoint: witness.arn }),
  );
  deployed['<account>'] = ACCOUNT;
  deployed['<region>'] = REGION;
  deployed['<AlertTopic>'] = ALERT_TOPIC_ARN;
  deployed['<RotateLambdaFunction.Arn>'] = ROTATE_FUNCTION_ARN;
  // A role that trusts any principal: only the caller's own policy can stop it being assumed.
  await bootstrap.iam.send(
    new CreateRoleCommand({
      RoleName: 'deploy-admin',
      AssumeRolePolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { AWS: '*' }, Action: 'sts:AssumeRole' }],
      }),
    }),
  );
  await bootstrap.iam.send(
    new AttachRolePolicyCommand({
      RoleName: 'deploy-admin',
      PolicyArn: 'arn:aws:iam::aws:policy/AdministratorAccess',
    }),
  );

  // One role per function, holding exactly its policies from the packaged template, deployed with a
  // customer-managed key for the secrets.
  const deploy: DeployContext = {
    accountId: ACCOUNT,
    region: REGION,
    refs: { AlertTopic: ALERT_TOPIC_ARN },
    parameters: { SecretKmsKeyArn: deployed['<SecretKmsKeyArn>'], AlertEmail: '' },
    conditions: { HasSecretKmsKey: true, HasAlertEmail: false },
    getAtt: (resource, attribute) =>
      deployed[`<${resource}.${attribute}>`] ??
      `arn:aws:cloudformation:${REGION}:${ACCOUNT}:resource/${resource}/${attribute}`,
  };
  const template = await readPackagedTemplate(inject('packagedDir'));
  const createRole = async (name: string, from: string, keep: (statement: { Sid?: string }) => boolean) => {
    await bootstrap.iam.send(
      new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: trustAdministrator }),
    );
    const policies = rolePolicies(template, from, deploy);
    for (const { name: policyName, document } of policies.inline) {
      const doc = document as { Statement: Array<{ Sid?: string }> };
      await bootstrap.iam.send(
        new PutRolePolicyCommand({
          RoleName: name,
          PolicyName: policyName,
          PolicyDocument: JSON.stringify({ ...doc, Statement: doc.Statement.filter(keep) }),
        }),
      );
    }
    for (const arn of policies.managed) {
      await bootstrap.iam.send(new AttachRolePolicyCommand({ RoleName: name, PolicyArn: arn }));
    }
  };
  for (const role of Object.values(ROLES)) await createRole(role, role, () => true);
  // The same roles without their KMS grants: to show that the KMS statements are evaluated.
  await createRole('RotateRoleWithoutSecretKey', 'RotateRole', (s) => s.Sid !== 'SecretKmsKey');
  await createRole('ScanRoleWithoutTopicKey', 'ScanRole', (s) => s.Sid !== 'AlertTopicKey');

  config = { ...(await loadConfigFile('keyrot.config.yaml')), secretKmsKeyId: deployed['<SecretKmsKeyArn>'] };

  const on = await fetch(`${emulator.endpoint}/moto-api/reset-auth`, { method: 'POST', body: '0' });
  if (!on.ok) throw new Error(`moto did not turn authentication on: HTTP ${on.status}`);
  const adminCredentials = {
    accessKeyId: AccessKey?.AccessKeyId ?? '',
    secretAccessKey: AccessKey?.SecretAccessKey ?? '',
  };
  admin = clientsFor(adminCredentials);
  alerts = await alertQueue(ALERT_TOPIC_ARN, admin.sns, adminCredentials);
  for (const [fn, role] of Object.entries(ROLES)) as[fn as Fn] = await assumeRole(role);
  as.rotateWithoutSecretKey = await assumeRole('RotateRoleWithoutSecretKey');
  as.scanWithoutTopicKey = await assumeRole('ScanRoleWithoutTopicKey');
}, 60_000);

/** Publishes alerts to the alert topic as a role, through the SNS notifier the functions use. */
async function publish(role: RoleClients, list: readonly Alert[]): Promise<void> {
  const notifier = snsNotifier(sdkSns(role.sns), ALERT_TOPIC_ARN);
  for (const alert of list) await notifier.send(alert);
}

afterAll(async () => {
  restoreEnv?.();
  await emulator?.stop();
});

/** The error a call ended with, or undefined if it succeeded. */
const failureOf = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (e: unknown) => e as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } },
  );

describe('least privilege on moto with IAM enforced: each function as its packaged role', () => {
  it('refuses unknown credentials as AWS does (InvalidClientTokenId), before any policy is read', async () => {
    const stranger = clientsFor({ accessKeyId: 'AKIAUNKNOWN000000000', secretAccessKey: 'unknown' });
    const error = await failureOf(stranger.iam.send(new ListAccessKeysCommand({ UserName: 'ci' })));
    expect(error?.name).toBe('InvalidClientTokenId');
  });

  it('scan: reads the account, plans the rotation and onboards the machine user with the customer-managed key', async () => {
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
    // The owners' digests go to the encrypted alert topic, published as the scan role (its KMS
    // grant through SNS is evaluated).
    await publish(as.scan, scanAlerts(result.plan, started));
    const digests = await alerts.receive();
    expect(digests.find((a) => a.attributes.owner === 'platform')).toMatchObject({
      attributes: { severity: 'critical', kind: 'failure', user: 'ci' },
    });
    const secret = await admin.secrets.send(new DescribeSecretCommand({ SecretId: 'keyrot/ci' }));
    expect(secret).toMatchObject({
      RotationEnabled: true,
      RotationLambdaARN: ROTATE_FUNCTION_ARN,
      KmsKeyId: deployed['<SecretKmsKeyArn>'],
      Tags: expect.arrayContaining([{ Key: 'keyrot:user', Value: 'ci' }]),
    });
  });

  it('rotate: runs the four steps Secrets Manager sends, as the rotate role', async () => {
    // The token Secrets Manager invokes the function with: the id of the empty AWSPENDING version the
    // scan's RotateSecret made (moto makes it through rotation_shape.py, as AWS does).
    const { VersionIdsToStages = {} } = await admin.secrets.send(
      new DescribeSecretCommand({ SecretId: 'keyrot/ci' }),
    );
    const pending = Object.entries(VersionIdsToStages).filter(([, stages]) => stages.includes('AWSPENDING'));
    expect(pending.map(([, stages]) => stages)).toEqual([['AWSPENDING']]);
    const token = pending[0]?.[0] ?? '';
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

  it("evaluates the KMS grants: without its grant on the secrets' key, the rotate role can't read or write keyrot/ci", async () => {
    const c = as.rotateWithoutSecretKey;
    // Prepare: DescribeSecret needs no KMS, so the role itself works.
    await expect(c.secrets.send(new DescribeSecretCommand({ SecretId: 'keyrot/ci' }))).resolves.toBeDefined();
    // Act, Assess: GetSecretValue needs kms:Decrypt through Secrets Manager.
    const read = await failureOf(
      c.secrets.send(new GetSecretValueCommand({ SecretId: 'keyrot/ci', VersionStage: 'AWSCURRENT' })),
    );
    expect(read?.name).toBe('AccessDeniedException');
    expect(read?.message).toContain(`kms:Decrypt on resource: ${deployed['<SecretKmsKeyArn>']}`);
    // The full rotate role reads it: the difference is the KMS statement alone.
    await expect(
      as.rotate.secrets.send(
        new GetSecretValueCommand({ SecretId: 'keyrot/ci', VersionStage: 'AWSCURRENT' }),
      ),
    ).resolves.toBeDefined();
  });

  it("evaluates the KMS grants: without its grant on the topic's key, the scan role can't publish alerts", async () => {
    const error = await failureOf(
      as.scanWithoutTopicKey.sns.send(new PublishCommand({ TopicArn: ALERT_TOPIC_ARN, Message: 'x' })),
    );
    expect(error?.name).toBe('KMSAccessDeniedException');
    expect(error?.message).toContain(`kms:GenerateDataKey on resource: ${deployed['<AlertTopicKey.Arn>']}`);
  });

  it('a config widened past the machine path does not widen the role: IAM refuses to list every user', async () => {
    const before = await accountState();
    const widened = { ...config, machinePath: '/' };
    const error = await failureOf(
      retireAll({ clients: as.retire, clock: manualClock(day(30)) }, widened, day(30)),
    );
    expect(error?.name).toBe('AccessDenied');
    expect((error as { $operation?: string }).$operation).toBe('iam:ListUsers');
    expect(await accountState()).toEqual(before);
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

/** The account's resources the probes act on, by kind, read after the lifecycle above. */
async function targets(): Promise<Record<TargetType, Target[]>> {
  const user = async (name: string, path: string): Promise<Target> => {
    const [first] = await keyIds(admin, name);
    return {
      label: `user ${path}${name}`,
      arn: `arn:aws:iam::${ACCOUNT}:user${path}${name}`,
      name,
      path,
      keyId: first?.id,
    };
  };
  const secret = async (name: string): Promise<Target> => {
    const s = await admin.secrets.send(new DescribeSecretCommand({ SecretId: name }));
    const current = Object.entries(s.VersionIdsToStages ?? {}).find(([, stages]) =>
      stages.includes('AWSCURRENT'),
    );
    const tags = Object.fromEntries(
      (s.Tags ?? []).map((t) => [`secretsmanager:ResourceTag/${t.Key}`, t.Value ?? '']),
    );
    const label = `secret ${name}${tags['secretsmanager:ResourceTag/keyrot:user'] === undefined ? ' (untagged)' : ''}`;
    return { label, arn: s.ARN ?? '', name, versionId: current?.[0], context: tags };
  };
  return {
    account: [{ label: 'the account', arn: '*' }],
    user: await Promise.all([user('ci', '/machine/'), user('alice', '/'), user('tractor', '/machinery/')]),
    role: [
      { label: 'role deploy-admin', arn: `arn:aws:iam::${ACCOUNT}:role/deploy-admin`, name: 'deploy-admin' },
      { label: 'role RotateRole', arn: `arn:aws:iam::${ACCOUNT}:role/RotateRole`, name: 'RotateRole' },
    ],
    secret: await Promise.all(
      ['keyrot/ci', 'keyrot/untagged', 'other/app', 'keyrot-archive/app', 'keyrot-slack/ops'].map(secret),
    ),
    topic: [
      { label: 'the alert topic', arn: ALERT_TOPIC_ARN },
      { label: "someone else's topic", arn: OTHER_TOPIC_ARN },
    ],
    key: await Promise.all(
      [
        ["the secrets' key", deployed['<SecretKmsKeyArn>'] ?? ''],
        ["the alert topic's key", deployed['<AlertTopicKey.Arn>'] ?? ''],
        ["someone else's key", deployed.otherKey ?? ''],
      ].map(async ([label = '', arn = '']) => ({
        label,
        arn,
        ciphertext: (await admin.kms.send(new EncryptCommand({ KeyId: arn, Plaintext: new Uint8Array([1]) })))
          .CiphertextBlob,
      })),
    ),
    queue: [
      {
        label: 'the failed-invocations queue',
        arn: deployed['<FailedInvocations.Arn>'] ?? '',
        url: deployed.failedQueueUrl,
      },
      { label: 'the witness queue', arn: deployed.witnessQueueArn ?? '', url: deployed.witnessQueueUrl },
    ],
  };
}

interface ProbeGroup {
  fn: Fn;
  type: TargetType;
}

/** One group per role and kind of resource: every catalogued call on every target the allow-list doesn't cover. */
const groups: ProbeGroup[] = (Object.keys(ROLES) as Fn[]).flatMap((fn) =>
  (Object.keys(CATALOGUE) as TargetType[]).map((type) => ({ fn, type })),
);

describe('generated probes: every catalogued call outside a role’s allow-list is refused as AccessDenied, and nothing changes', () => {
  let world: Record<TargetType, Target[]>;
  let baseline: Awaited<ReturnType<typeof accountState>>;
  let total = 0;

  beforeAll(async () => {
    world = await targets();
    baseline = await accountState();
    // The state read is stable on its own: two reads in a row are equal.
    expect(await accountState()).toEqual(baseline);
  });

  afterAll(() => {
    // Every role had forbidden calls tried on every kind of resource: far more than a hand-picked few.
    expect(total).toBeGreaterThan(300);
  });

  it('every action in the allow-lists has a probe, so its neighbouring resources are tried', () => {
    const catalogued = new Set(Object.values(CATALOGUE).flatMap((probes) => probes.map((p) => p.action)));
    const granted = Object.values(ALLOW_LISTS).flatMap((grants) => grants.map((g) => g.action));
    // Not probed on the emulator: moto can't run the rotate function, the shim doesn't resolve DynamoDB
    // tables, and moto has no CloudTrail LookupEvents; the catalogue has no SSM parameter probes yet
    // (aws-ssm targets). The template test pins these to their resources.
    expect([...new Set(granted.filter((a) => !catalogued.has(a)))].sort()).toEqual([
      'cloudtrail:LookupEvents',
      'dynamodb:DeleteItem',
      'dynamodb:PutItem',
      'lambda:InvokeFunction',
      'ssm:GetParameter',
      'ssm:PutParameter',
    ]);
  });

  it.each(groups)('$fn role, calls on each $type', async ({ fn, type }) => {
    const grants: Grant[] = resolveGrants(ALLOW_LISTS[ROLES[fn]], deployed);
    const expected: string[] = [];
    const outcomes: string[] = [];
    for (const probe of CATALOGUE[type]) {
      const { action } = probe;
      const forbidden = world[type].filter(
        (t) => !covers(grants, action, probe.resourceOf?.(t, ACCOUNT) ?? t.arn, t.context ?? {}),
      );
      for (const target of forbidden) {
        const error = await failureOf(probe.call(as[fn], target));
        // Refused by IAM's policy check for this role and this action: not a bad signature, an unknown
        // key, a missing resource or a 403 of any other kind.
        const refusedByIam =
          error?.name === deniedErrorName(action) &&
          error.message?.includes(`assumed-role/${ROLES[fn]}/`) &&
          error.message.includes(`perform: ${action}`);
        const outcome = refusedByIam ? 'AccessDenied' : `${error?.name ?? 'ALLOWED'} ${error?.message ?? ''}`;
        outcomes.push(`${action} on ${target.label}: ${outcome}`);
        expected.push(`${action} on ${target.label}: AccessDenied`);
      }
    }
    total += expected.length;
    expect(expected.length).toBeGreaterThan(0);
    const after = await accountState();
    // A call that got through changes the account: compare the next group with what it found, so
    // the failure is reported once, on the group that let it through.
    const before = baseline;
    baseline = after;
    expect(outcomes).toEqual(expected);
    expect(after).toEqual(before);
  });
});
