import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  AttachRolePolicyCommand,
  CreateAccessKeyCommand,
  CreateAccountAliasCommand,
  CreateRoleCommand,
  CreateUserCommand,
  GetAccountAuthorizationDetailsCommand,
  ListAccessKeysCommand,
  ListAccountAliasesCommand,
  PutRolePolicyCommand,
  PutUserPolicyCommand,
} from '@aws-sdk/client-iam';
import { CreateKeyCommand, EncryptCommand, KMSClient } from '@aws-sdk/client-kms';
import { CreateOrganizationCommand, OrganizationsClient } from '@aws-sdk/client-organizations';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
} from '@aws-sdk/client-secrets-manager';
import { CreateTopicCommand, PublishCommand } from '@aws-sdk/client-sns';
import {
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { AssumeRoleCommand, GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity } from '@smithy/types';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { memberRoleArn } from '../../lib/accounts/assume.js';
import { scheduleAccounts } from '../../lib/accounts/hub.js';
import { runAccount } from '../../lib/accounts/run-account.js';
import { parseAccountMessage } from '../../lib/accounts/worker.js';
import { createClients, createSnsClient } from '../../lib/aws/clients.js';
import { DAY_MS, systemClock } from '../../lib/clock.js';
import type { Config } from '../../lib/config.js';
import { loadConfigFile } from '../../lib/config-file.js';
import { type Emulator, pointAwsAt, startMoto } from '../../lib/testbed/moto.js';
import { seedUsers } from '../../lib/testbed/seed.js';
import { MEMBER_TEMPLATE_FILE } from '../../serverless/member-template.js';
import { type DeployContext, readPackagedTemplate, rolePolicies, type Template } from '../helpers/cfn.js';
import { HUB_PARAMS } from '../helpers/package-global-setup.js';
import { createQueue } from '../helpers/sqs.js';
import { type Grant, HUB_ALLOW_LISTS, MEMBER_ALLOW_LISTS, resolveGrants } from './allow-lists.js';
import {
  CATALOGUE,
  covers,
  deniedErrorName,
  type ProbeClients,
  type Target,
  type TargetType,
} from './probes.js';

/**
 * Organization mode's roles on moto with request authentication on (test/helpers/moto-scoped-auth):
 * the scheduler and worker roles of the hub template, and the member role of the member template,
 * each holding exactly its packaged policies. The scheduler lists the organization and fills the
 * queue; the worker reads it, assumes the member role with the ExternalId, and runs the account as
 * that role. Then every catalogued call outside each role's allow-list is refused.
 *
 * moto 5.2.1 with authentication on answers AssumeRole into another account id with an HTML 500, so
 * the member role and the roles off its path live in the hub's own account here (it is the
 * organization's management account, so aws:ResourceOrgID holds for it): on the path, IAM lets the
 * worker in; off it, IAM refuses. That the member role lives in *another* account is shown without
 * authentication, in test/integration/org-worker.test.ts and the deploy test.
 */
const ACCOUNT = '123456789012';
const REGION = 'us-east-1';
const ROLE = { path: '/keyrot/', name: 'keyrot-member', externalId: HUB_PARAMS.memberExternalId };
const ROTATE_FUNCTION_ARN = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:keyrot-ci-rotate`;
const ROLES = { scheduler: 'SchedulerRole', worker: 'WorkerRole', member: 'MemberRole' } as const;
type Who = keyof typeof ROLES;
const T = new Date(Date.now() + 100 * DAY_MS);

type RoleClients = ReturnType<typeof createClients> & ProbeClients;
let emulator: Emulator;
let restoreEnv: () => void;
let config: Config;
let admin: RoleClients;
let orgId = '';
const as = {} as Record<Who | 'workerInOtherOrg', RoleClients>;
const credentialsOf = {} as Record<'worker', AwsCredentialIdentity>;
const deployed: Record<string, string> = {};

function clientsFor(credentials: AwsCredentialIdentity): RoleClients {
  const raw = { region: REGION, maxAttempts: 1, credentials };
  return {
    ...createClients({ maxAttempts: 1, credentials }),
    sns: createSnsClient({ maxAttempts: 1, credentials }),
    kms: new KMSClient(raw),
    sqs: new SQSClient(raw),
  };
}

async function assume(via: RoleClients, roleArn: string, externalId?: string) {
  const { Credentials: c } = await via.sts.send(
    new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: 'keyrot-test', ExternalId: externalId }),
  );
  return {
    accessKeyId: c?.AccessKeyId ?? '',
    secretAccessKey: c?.SecretAccessKey ?? '',
    sessionToken: c?.SessionToken ?? '',
  };
}

const failureOf = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (e: unknown) => e as { name?: string; message?: string },
  );

const trust = (principal: string, externalId?: string) =>
  JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { AWS: principal },
        Action: 'sts:AssumeRole',
        ...(externalId ? { Condition: { StringEquals: { 'sts:ExternalId': externalId } } } : {}),
      },
    ],
  });

beforeAll(async () => {
  emulator = await startMoto({
    pythonPath: fileURLToPath(new URL('../helpers/moto-scoped-auth', import.meta.url)),
  });
  restoreEnv = pointAwsAt(emulator.endpoint, 'bootstrap');
  const bootstrap = clientsFor({ accessKeyId: 'bootstrap', secretAccessKey: 'bootstrap' });
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
  const adminArn = `arn:aws:iam::${ACCOUNT}:user/administrator`;

  // The organization, managed by this (the hub's) account.
  const org = new OrganizationsClient({ region: REGION, credentials: bootstrap.iam.config.credentials });
  const { Organization } = await org.send(new CreateOrganizationCommand({ FeatureSet: 'ALL' }));
  orgId = Organization?.Id ?? '';

  // The world: a machine user due for rotation, a human, someone else's secret, topic and key, the
  // account queue and a witness queue.
  await seedUsers(bootstrap.iam, emulator.endpoint, [
    { userName: 'ci', path: '/machine/', tags: { owner: 'platform' }, keys: [{ used: true }] },
    { userName: 'alice', path: '/', keys: [{ used: true }] },
  ]);
  await bootstrap.secrets.send(
    new CreateSecretCommand({
      Name: 'other/app',
      SecretString: 'app',
      Tags: [{ Key: 'keyrot:user', Value: 'ci' }],
    }),
  );
  await bootstrap.sns.send(new CreateTopicCommand({ Name: 'someone-elses-topic' }));
  // The hub's alert topic (encrypted with its own key) and a Slack webhook secret: the worker alerts
  // through them. The ledger is a DynamoDB table, which the shim does not resolve (it authorizes
  // DynamoDB against "*"): its grant is pinned by the template test only.
  const topicKey =
    (await bootstrap.kms.send(new CreateKeyCommand({ Description: 'keyrot hub alert topic' }))).KeyMetadata
      ?.Arn ?? '';
  const { TopicArn: hubTopic = '' } = await bootstrap.sns.send(
    new CreateTopicCommand({ Name: 'keyrot-hub-ci-alerts', Attributes: { KmsMasterKeyId: topicKey } }),
  );
  deployed['<AlertTopic>'] = hubTopic;
  deployed['<AlertTopicKey.Arn>'] = topicKey;
  deployed['<AlertLedger.Arn>'] = `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/keyrot-hub-ci-alert-ledger`;
  deployed['<account>'] = ACCOUNT;
  deployed['<region>'] = REGION;
  await bootstrap.iam.send(new CreateAccountAliasCommand({ AccountAlias: 'keyrot-hub-ci' }));
  await bootstrap.secrets.send(
    new CreateSecretCommand({ Name: 'keyrot-slack/platform', SecretString: 'https://hooks.slack.example/x' }),
  );
  deployed.otherKey =
    (await bootstrap.kms.send(new CreateKeyCommand({ Description: 'someone else' }))).KeyMetadata?.Arn ?? '';
  const queue = (name: string) => createQueue(bootstrap.sqs, name);
  const accounts = await queue('keyrot-hub-ci-accounts');
  deployed['<AccountQueue.Arn>'] = accounts.arn;
  deployed.accountQueueUrl = accounts.url;
  const witness = await queue('witness');
  deployed.witnessQueueArn = witness.arn;
  deployed.witnessQueueUrl = witness.url;

  // The roles, each with exactly its packaged policies.
  const hub = await readPackagedTemplate(inject('hubPackagedDir'));
  const member = JSON.parse(
    await readFile(join(inject('packagedDir'), MEMBER_TEMPLATE_FILE), 'utf8'),
  ) as Template;
  const context: DeployContext = {
    accountId: ACCOUNT,
    region: REGION,
    parameters: { SecretKmsKeyArn: '' },
    conditions: { HasSecretKmsKey: false },
    refs: { AlertTopic: deployed['<AlertTopic>'] ?? '' },
    getAtt: (resource, attribute) =>
      resource === 'RotateLambdaFunction'
        ? ROTATE_FUNCTION_ARN
        : (deployed[`<${resource}.${attribute}>`] ?? `arn:aws:cloudformation:::${resource}/${attribute}`),
  };
  const createRole = async (
    name: string,
    from: { template: Template; role: string; rewrite?: (document: string) => string },
    trustPolicy: string,
    path = '/',
  ) => {
    await bootstrap.iam.send(
      new CreateRoleCommand({ RoleName: name, Path: path, AssumeRolePolicyDocument: trustPolicy }),
    );
    const policies = rolePolicies(from.template, from.role, context);
    for (const { name: policyName, document } of policies.inline) {
      const text = JSON.stringify(document);
      await bootstrap.iam.send(
        new PutRolePolicyCommand({
          RoleName: name,
          PolicyName: policyName,
          PolicyDocument: from.rewrite ? from.rewrite(text) : text,
        }),
      );
    }
    for (const arn of policies.managed)
      await bootstrap.iam.send(new AttachRolePolicyCommand({ RoleName: name, PolicyArn: arn }));
  };
  // Deployed with --param=organizationId=<moto's organization>: the packaged test value replaced.
  const inThisOrg = (text: string) => text.replaceAll(HUB_PARAMS.organizationId, orgId);
  await createRole(
    'SchedulerRole',
    { template: hub, role: 'SchedulerRole', rewrite: inThisOrg },
    trust(adminArn),
  );
  await createRole('WorkerRole', { template: hub, role: 'WorkerRole', rewrite: inThisOrg }, trust(adminArn));
  // The same worker policy for another organization: shows aws:ResourceOrgID is evaluated.
  await createRole(
    'WorkerRoleOfOtherOrg',
    {
      template: hub,
      role: 'WorkerRole',
      rewrite: (text) => text.replaceAll(HUB_PARAMS.organizationId, 'o-notthisorg1'),
    },
    trust(adminArn),
  );
  const workerArn = `arn:aws:iam::${ACCOUNT}:role/WorkerRole`;
  const memberTrust = trust(workerArn, ROLE.externalId);
  await createRole('keyrot-member', { template: member, role: 'MemberRole' }, memberTrust, ROLE.path);
  // Roles the worker must not get into, whatever they trust: off the path, and on it by another name.
  for (const [name, path] of [
    ['keyrot-member-elsewhere', '/other/'],
    ['keyrot-member-admin', '/keyrot/'],
  ] as const) {
    await bootstrap.iam.send(
      new CreateRoleCommand({ RoleName: name, Path: path, AssumeRolePolicyDocument: memberTrust }),
    );
    await bootstrap.iam.send(
      new AttachRolePolicyCommand({
        RoleName: name,
        PolicyArn: 'arn:aws:iam::aws:policy/AdministratorAccess',
      }),
    );
  }
  // And one at the root path that trusts anyone. (Role names are unique in an account, whatever the
  // path: another keyrot-member off the path could only exist in another account.)
  await bootstrap.iam.send(
    new CreateRoleCommand({ RoleName: 'deploy-admin', AssumeRolePolicyDocument: trust('*') }),
  );
  deployed['<organizationId>'] = HUB_PARAMS.organizationId;

  config = await loadConfigFile('keyrot.config.yaml');
  const on = await fetch(`${emulator.endpoint}/moto-api/reset-auth`, { method: 'POST', body: '0' });
  if (!on.ok) throw new Error(`moto did not turn authentication on: HTTP ${on.status}`);
  admin = clientsFor({
    accessKeyId: AccessKey?.AccessKeyId ?? '',
    secretAccessKey: AccessKey?.SecretAccessKey ?? '',
  });
  as.scheduler = clientsFor(await assume(admin, `arn:aws:iam::${ACCOUNT}:role/SchedulerRole`));
  credentialsOf.worker = await assume(admin, workerArn);
  as.worker = clientsFor(credentialsOf.worker);
  as.workerInOtherOrg = clientsFor(await assume(admin, `arn:aws:iam::${ACCOUNT}:role/WorkerRoleOfOtherOrg`));
  as.member = clientsFor(await assume(as.worker, memberRoleArn(ACCOUNT, ROLE), ROLE.externalId));
}, 60_000);

afterAll(async () => {
  restoreEnv?.();
  await emulator?.stop();
});

/** The allow-lists with this deployment's values (the organization is moto's). */
const hubGrants = (role: keyof typeof HUB_ALLOW_LISTS): Grant[] =>
  resolveGrants(HUB_ALLOW_LISTS[role], { ...deployed, '<organizationId>': orgId });

describe('organization mode on moto with IAM enforced: the hub roles and the member role, as packaged', () => {
  it('scheduler: lists the organization and sends one message per account, as the scheduler role', async () => {
    const result = await scheduleAccounts(
      {
        org: new OrganizationsClient({ region: REGION, credentials: as.scheduler.iam.config.credentials }),
        sendBatch: (QueueUrl, Entries) =>
          as.scheduler.sqs.send(new SendMessageBatchCommand({ QueueUrl, Entries })),
      },
      deployed.accountQueueUrl ?? '',
      { include: [], exclude: [] },
      '2026-11-23T05:00:00Z',
    );
    expect(result).toEqual({ accounts: [ACCOUNT], sent: 1, runId: '2026-11-23T05:00:00Z' });
  });

  it('worker: reads the message, assumes the member role with the ExternalId and runs the account as it', async () => {
    const { Messages = [] } = await as.worker.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: deployed.accountQueueUrl, MaxNumberOfMessages: 10 }),
    );
    expect(Messages).toHaveLength(1);
    const message = parseAccountMessage(Messages[0]?.Body ?? '');
    expect(message).toMatchObject({ runId: '2026-11-23T05:00:00Z', accounts: 1 });
    const run = await runAccount(
      {
        sts: as.worker.sts,
        clock: systemClock,
        role: ROLE,
        rotateFunctionName: 'keyrot-ci-rotate',
        region: REGION,
      },
      config,
      message,
      T,
    );
    expect(run.scan).toMatchObject({ accountId: ACCOUNT, machineUsers: 1 });
    // IAM let every call of the scan through; moto then fails RotateSecret, which can't run Lambda.
    expect(run.rotations).toEqual([
      expect.objectContaining({
        userName: 'ci',
        outcome: 'failed',
        error: expect.stringMatching(/^ResourceNotFoundException/),
      }),
    ]);
    expect(run.retirement.failed).toEqual([]);
    const secret = await admin.secrets.send(new DescribeSecretCommand({ SecretId: 'keyrot/ci' }));
    expect(secret.RotationLambdaARN).toBe(ROTATE_FUNCTION_ARN);
    await as.worker.sqs.send(
      new DeleteMessageCommand({
        QueueUrl: deployed.accountQueueUrl,
        ReceiptHandle: Messages[0]?.ReceiptHandle,
      }),
    );
  });

  it('the member role is the session the worker runs the account as', async () => {
    const { Arn } = await as.member.sts.send(new GetCallerIdentityCommand({}));
    expect(Arn).toMatch(new RegExp(`^arn:aws:sts::${ACCOUNT}:assumed-role/keyrot-member/`));
  });

  it.each([
    ['off the member path', `arn:aws:iam::${ACCOUNT}:role/other/keyrot-member-elsewhere`],
    ['on the path, by another name', `arn:aws:iam::${ACCOUNT}:role/keyrot/keyrot-member-admin`],
    ['at the root path', `arn:aws:iam::${ACCOUNT}:role/deploy-admin`],
  ])('refuses the worker an AssumeRole into a role %s, though that role trusts it', async (_, roleArn) => {
    const error = await failureOf(
      as.worker.sts.send(
        new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: 'probe', ExternalId: ROLE.externalId }),
      ),
    );
    expect(error?.name).toBe('AccessDenied');
    expect(error?.message).toContain('assumed-role/WorkerRole/');
    expect(error?.message).toContain('perform: sts:AssumeRole');
  });

  it('refuses the member role to a worker whose policy names another organization (aws:ResourceOrgID)', async () => {
    const error = await failureOf(
      as.workerInOtherOrg.sts.send(
        new AssumeRoleCommand({
          RoleArn: memberRoleArn(ACCOUNT, ROLE),
          RoleSessionName: 'probe',
          ExternalId: ROLE.externalId,
        }),
      ),
    );
    expect(error?.name).toBe('AccessDenied');
    expect(error?.message).toContain('assumed-role/WorkerRoleOfOtherOrg/');
  });

  it("the member role reads the account's alias, for alerts; the hub roles can't", async () => {
    const { AccountAliases } = await as.member.iam.send(new ListAccountAliasesCommand({}));
    expect(AccountAliases).toEqual(['keyrot-hub-ci']);
    for (const who of ['scheduler', 'worker'] as const) {
      const error = await failureOf(as[who].iam.send(new ListAccountAliasesCommand({})));
      expect(error?.name).toBe('AccessDenied');
      expect(error?.message).toContain('perform: iam:ListAccountAliases');
    }
  });

  it("the worker publishes to the hub's encrypted alert topic and reads the Slack webhooks; the scheduler can't", async () => {
    const { MessageId } = await as.worker.sns.send(
      new PublishCommand({ TopicArn: deployed['<AlertTopic>'], Message: 'digest' }),
    );
    expect(MessageId).toEqual(expect.any(String));
    const { SecretString } = await as.worker.secrets.send(
      new GetSecretValueCommand({ SecretId: 'keyrot-slack/platform' }),
    );
    expect(SecretString).toBe('https://hooks.slack.example/x');
    const publish = await failureOf(
      as.scheduler.sns.send(new PublishCommand({ TopicArn: deployed['<AlertTopic>'], Message: 'x' })),
    );
    expect(publish?.name).toBe('AuthorizationErrorException');
    const read = await failureOf(
      as.scheduler.secrets.send(new GetSecretValueCommand({ SecretId: 'keyrot-slack/platform' })),
    );
    expect(read?.name).toBe('AccessDeniedException');
  });

  it("refuses the member role to the worker without the member role's ExternalId (its trust policy)", async () => {
    for (const externalId of [undefined, 'guessed-external-id']) {
      const error = await failureOf(
        as.worker.sts.send(
          new AssumeRoleCommand({
            RoleArn: memberRoleArn(ACCOUNT, ROLE),
            RoleSessionName: 'x1',
            ExternalId: externalId,
          }),
        ),
      );
      expect(error?.name).toBe('AccessDenied');
    }
  });
});

/** What a refused call could have changed: users and their keys, roles and policies, secrets, queues. */
async function state() {
  const gaad = await admin.iam.send(
    new GetAccountAuthorizationDetailsCommand({ Filter: ['User', 'Role', 'LocalManagedPolicy'] }),
  );
  const keys = await Promise.all(
    (gaad.UserDetailList ?? []).map(async (u) =>
      (await admin.iam.send(new ListAccessKeysCommand({ UserName: u.UserName }))).AccessKeyMetadata?.map(
        (k) => `${u.UserName}:${k.AccessKeyId}:${k.Status}`,
      ),
    ),
  );
  const secrets = await admin.secrets.send(new ListSecretsCommand({ IncludePlannedDeletion: true }));
  const queues = await Promise.all(
    [deployed.accountQueueUrl, deployed.witnessQueueUrl].map(
      async (QueueUrl) =>
        (
          await admin.sqs.send(
            new GetQueueAttributesCommand({
              QueueUrl,
              AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
            }),
          )
        ).Attributes,
    ),
  );
  return {
    users: gaad.UserDetailList?.map((u) => [u.UserName, u.UserPolicyList, u.AttachedManagedPolicies]),
    roles: gaad.RoleDetailList?.map((r) => [
      r.RoleName,
      r.AssumeRolePolicyDocument,
      r.RolePolicyList,
      r.AttachedManagedPolicies,
    ]),
    keys,
    secrets: secrets.SecretList?.map((s) => [s.Name, s.Tags, s.DeletedDate, s.SecretVersionsToStages]),
    queues,
  };
}

describe('generated probes for the organization roles: every catalogued call outside the allow-list is refused, and nothing changes', () => {
  let world: Record<TargetType, Target[]>;
  let baseline: Awaited<ReturnType<typeof state>>;
  const allowed: Record<Who, () => Grant[]> = {
    scheduler: () => hubGrants('SchedulerRole'),
    worker: () => hubGrants('WorkerRole'),
    member: () =>
      resolveGrants(MEMBER_ALLOW_LISTS.MemberRole, {
        ...deployed,
        '<account>': ACCOUNT,
        '<region>': REGION,
        '<RotateLambdaFunction.Arn>': ROTATE_FUNCTION_ARN,
      }).filter((g) => g.resource !== '<SecretKmsKeyArn>'),
  };

  beforeAll(async () => {
    const user = async (name: string, path: string): Promise<Target> => {
      const { AccessKeyMetadata = [] } = await admin.iam.send(new ListAccessKeysCommand({ UserName: name }));
      return {
        label: `user ${path}${name}`,
        arn: `arn:aws:iam::${ACCOUNT}:user${path}${name}`,
        name,
        path,
        keyId: AccessKeyMetadata[0]?.AccessKeyId,
      };
    };
    const secret = async (name: string): Promise<Target> => {
      const s = await admin.secrets.send(new DescribeSecretCommand({ SecretId: name }));
      const current = Object.entries(s.VersionIdsToStages ?? {}).find(([, st]) => st.includes('AWSCURRENT'));
      const tags = Object.fromEntries(
        (s.Tags ?? []).map((t) => [`secretsmanager:ResourceTag/${t.Key}`, t.Value ?? '']),
      );
      return { label: `secret ${name}`, arn: s.ARN ?? '', name, versionId: current?.[0], context: tags };
    };
    const role = (name: string, path: string): Target => ({
      label: `role ${path}${name}`,
      arn: `arn:aws:iam::${ACCOUNT}:role${path}${name}`,
      name,
      context: { 'aws:ResourceOrgID': orgId },
    });
    world = {
      account: [{ label: 'the account', arn: '*' }],
      user: await Promise.all([user('ci', '/machine/'), user('alice', '/')]),
      role: [
        role('deploy-admin', '/'),
        role('keyrot-member-elsewhere', '/other/'),
        role('keyrot-member-admin', '/keyrot/'),
        role('keyrot-member', '/keyrot/'),
      ],
      secret: await Promise.all(['keyrot/ci', 'other/app', 'keyrot-slack/platform'].map(secret)),
      topic: [
        { label: "someone else's topic", arn: `arn:aws:sns:${REGION}:${ACCOUNT}:someone-elses-topic` },
        { label: "the hub's alert topic", arn: deployed['<AlertTopic>'] ?? '' },
      ],
      key: [
        {
          label: "someone else's key",
          arn: deployed.otherKey ?? '',
          ciphertext: (
            await admin.kms.send(
              new EncryptCommand({ KeyId: deployed.otherKey, Plaintext: new Uint8Array([1]) }),
            )
          ).CiphertextBlob,
        },
      ],
      queue: [
        {
          label: 'the account queue',
          arn: deployed['<AccountQueue.Arn>'] ?? '',
          url: deployed.accountQueueUrl,
        },
        { label: 'the witness queue', arn: deployed.witnessQueueArn ?? '', url: deployed.witnessQueueUrl },
      ],
    };
    baseline = await state();
  });

  const groups = (Object.keys(ROLES) as Who[]).flatMap((who) =>
    (Object.keys(CATALOGUE) as TargetType[]).map((type) => ({ who, type })),
  );

  it.each(groups)('$who role, calls on each $type', async ({ who, type }) => {
    const grants = allowed[who]();
    const expected: string[] = [];
    const outcomes: string[] = [];
    for (const probe of CATALOGUE[type]) {
      for (const target of world[type]) {
        const resource = probe.resourceOf?.(target, ACCOUNT) ?? target.arn;
        if (covers(grants, probe.action, resource, target.context ?? {})) continue;
        const error = await failureOf(probe.call(as[who], target));
        const refused =
          error?.name === deniedErrorName(probe.action) &&
          error.message?.includes(`perform: ${probe.action}`) === true;
        outcomes.push(
          `${probe.action} on ${target.label}: ${refused ? 'AccessDenied' : `${error?.name ?? 'ALLOWED'} ${error?.message ?? ''}`}`,
        );
        expected.push(`${probe.action} on ${target.label}: AccessDenied`);
      }
    }
    expect(expected.length).toBeGreaterThan(0);
    expect(outcomes).toEqual(expected);
    const after = await state();
    const before = baseline;
    baseline = after;
    expect(after).toEqual(before);
  });
});
