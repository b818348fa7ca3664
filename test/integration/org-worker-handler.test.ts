import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateTableCommand, DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { CreateAccountAliasCommand, ListAccessKeysCommand } from '@aws-sdk/client-iam';
import { OrganizationsClient } from '@aws-sdk/client-organizations';
import { CreateTopicCommand } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { accountsToWorkIn } from '../../lib/accounts/organization.js';
import { accountMessageBatches } from '../../lib/accounts/worker.js';
import { createSnsClient } from '../../lib/aws/clients.js';
import { DAY_MS } from '../../lib/clock.js';
import { defaultConfig } from '../../lib/config.js';
import { rotationDeps } from '../../lib/rotation/deps.js';
import { rotateUser } from '../../lib/rotation/driver.js';
import { memberClients as seededMemberClients, seedOrganization } from '../../lib/testbed/org.js';
import { seedUsers } from '../../lib/testbed/seed.js';
import { alertQueue } from '../helpers/alerts.js';
import { manualClock } from '../helpers/clock.js';

/**
 * The hub's worker handler itself (functions/org-worker.ts), on moto: SQS records for two member
 * accounts, as the account queue delivers them, go through the handler with the environment
 * serverless.hub.yml sets. Retirement's alert reaches the hub's topic naming the account's alias, and
 * the owner with users in both accounts receives exactly one digest naming both, through SNS to an SQS
 * subscription with a filter policy. Request authentication is off, as in org-worker.test.ts.
 */
const HUB = '123456789012';
const ROLE = { path: '/keyrot/', name: 'keyrot-member', externalId: 'org-handler-test' };
const TABLE = 'keyrot-hub-test-alert-ledger';
const RUN = '2026-11-23T05:00:00Z';
const endpoint = process.env.AWS_ENDPOINT_URL ?? '';
const context = {
  functionName: 'keyrot-hub-test-worker',
  awsRequestId: 'w',
  invokedFunctionArn: `arn:aws:lambda:us-east-1:${HUB}:function:keyrot-hub-test-worker`,
  getRemainingTimeInMillis: () => 900_000,
} as unknown as Context;

const memberClients = (accountId: string) => seededMemberClients(accountId, ROLE);

describe('the organization worker handler, on moto', () => {
  beforeAll(async () => {
    await fetch(`${endpoint}/moto-api/reset-auth`, { method: 'POST', body: 'inf' });
  });
  afterAll(() => {
    vi.unstubAllEnvs();
    vi.restoreAllMocks();
  });

  it("sends retirement's alert with the account's alias, and each owner one digest naming all their accounts", async () => {
    // Prepare: team-a (alias team-a-prod) has svc-a1, rotated 10 days ago with its old key never used
    // since (retirement deactivates it and alerts), and svc-a2, not yet managed; team-b has svc-b, not
    // yet managed. All owned by o. moto can't run the member's rotate function, so starting the two
    // rotations fails: each account's share of the digest has that failure for owner o.
    const org = new OrganizationsClient({});
    const ids = await seedOrganization(org, ['team-a', 'team-b']);
    const [a = '', b = ''] = ids;
    const memberA = await memberClients(a);
    await memberA.iam.send(new CreateAccountAliasCommand({ AccountAlias: 'team-a-prod' }));
    const [oldKey] = await seedUsers(memberA.iam, endpoint, [
      { userName: 'svc-a1', path: '/machine/', tags: { owner: 'o' }, keys: [{}] },
    ]);
    await rotateUser(
      rotationDeps(memberA, manualClock(new Date(Date.now() - 10 * DAY_MS)), defaultConfig),
      defaultConfig,
      'svc-a1',
    );
    await seedUsers(memberA.iam, endpoint, [
      { userName: 'svc-a2', path: '/machine/', tags: { owner: 'o' }, keys: [{}] },
    ]);
    await seedUsers((await memberClients(b)).iam, endpoint, [
      { userName: 'svc-b', path: '/machine/', tags: { owner: 'o' }, keys: [{}] },
    ]);
    // The hub: the ledger table, the alert topic and owner o's subscription.
    const dynamo = new DynamoDBClient({});
    await dynamo.send(
      new CreateTableCommand({
        TableName: TABLE,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'subject', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'subject', KeyType: 'HASH' }],
      }),
    );
    const sns = createSnsClient();
    const { TopicArn = '' } = await sns.send(new CreateTopicCommand({ Name: 'keyrot-hub-test-alerts' }));
    const ownerO = await alertQueue(TopicArn, sns, undefined, { owner: ['o'] });
    // The scheduler's messages for the run, on a real queue, read back as the event source mapping does.
    const sqs = new SQSClient({});
    const { QueueUrl = '' } = await sqs.send(
      new CreateQueueCommand({ QueueName: 'keyrot-hub-test-accounts' }),
    );
    const accounts = await accountsToWorkIn(org, { include: [], exclude: [HUB] });
    for (const Entries of accountMessageBatches(accounts, RUN))
      await sqs.send(new SendMessageBatchCommand({ QueueUrl, Entries }));
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        MessageSystemAttributeNames: ['ApproximateReceiveCount'],
      }),
    );
    expect(Messages).toHaveLength(2);
    const event: SQSEvent = {
      Records: Messages.map(
        (m) =>
          ({
            messageId: m.MessageId ?? '',
            receiptHandle: m.ReceiptHandle ?? '',
            body: m.Body ?? '',
            attributes: { ApproximateReceiveCount: m.Attributes?.ApproximateReceiveCount ?? '' },
            messageAttributes: {},
            md5OfBody: m.MD5OfBody ?? '',
            eventSource: 'aws:sqs',
            eventSourceARN: `arn:aws:sqs:us-east-1:${HUB}:keyrot-hub-test-accounts`,
            awsRegion: 'us-east-1',
          }) as SQSRecord,
      ),
    };
    // The environment serverless.hub.yml gives the worker, and the shipped JSON config.
    const dir = await mkdtemp(join(tmpdir(), 'keyrot-worker-'));
    await writeFile(join(dir, 'keyrot.config.json'), JSON.stringify({ accounts: { exclude: [HUB] } }));
    for (const [name, value] of Object.entries({
      KEYROT_CONFIG_FILE: join(dir, 'keyrot.config.json'),
      KEYROT_STAGE: 'test',
      ACCOUNT_QUEUE_URL: QueueUrl,
      MEMBER_ROLE_PATH: ROLE.path,
      MEMBER_ROLE_NAME: ROLE.name,
      MEMBER_EXTERNAL_ID: ROLE.externalId,
      ROTATE_FUNCTION_NAME: 'keyrot-test-rotate',
      ACCOUNT_QUEUE_MAX_RECEIVE_COUNT: '3',
      ALERT_TOPIC_ARN: TopicArn,
      ALERT_LEDGER_TABLE: TABLE,
    }))
      vi.stubEnv(name, value);
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);

    // Act
    const { handler } = await import('../../functions/org-worker.js');
    const response = await handler(event, context);
    vi.restoreAllMocks();

    // Assess: both accounts succeeded.
    expect(response).toEqual({ batchItemFailures: [] });
    // In team-a, retirement deactivated svc-a1's old key, as the member role.
    const { AccessKeyMetadata = [] } = await memberA.iam.send(
      new ListAccessKeysCommand({ UserName: 'svc-a1' }),
    );
    expect(AccessKeyMetadata.find((k) => k.AccessKeyId === oldKey?.accessKeyId)?.Status).toBe('Inactive');
    // The run is complete in the hub's ledger table: both accounts, sent once.
    const { Item } = await dynamo.send(
      new GetItemCommand({ TableName: TABLE, Key: { subject: { S: `digest-run#${RUN}` } } }),
    );
    expect(Item?.done?.SS?.sort()).toEqual([a, b].sort());
    expect(Item?.sentBy?.S).toEqual(expect.stringMatching(/^\d{12}$/));
    // Owner o received the deactivation alert, naming team-a by its alias, and exactly one digest.
    const received = await ownerO.receive();
    const deactivated = received.filter((r) => r.attributes.kind === 'key-deactivated');
    expect(deactivated).toHaveLength(1);
    expect(deactivated[0]?.subject).toBe(`keyrot: deactivated svc-a1's replaced key ${oldKey?.accessKeyId}`);
    expect(deactivated[0]?.message).toMatchObject({
      metadata: { additionalContext: { accountId: a, accountAlias: 'team-a-prod', owner: 'o' } },
    });
    const digests = received.filter((r) => r.attributes.kind !== 'key-deactivated');
    expect(digests).toHaveLength(1);
    const digest = digests[0]?.message as { content: { title: string; description: string } };
    expect(digest.content.title).toMatch(/for owner o in 2 accounts$/);
    const names = [
      [a, `team-a-prod (${a})`],
      [b, `team-b (${b})`],
    ]
      .sort(([x = ''], [y = '']) => x.localeCompare(y))
      .map(([, name]) => name);
    expect(digest.content.description).toContain(`Accounts: ${names.join(', ')}.`);
    expect(digest.content.description).toMatch(new RegExp(`^team-a-prod \\(${a}\\): svc-a2`, 'm'));
    expect(digest.content.description).toMatch(new RegExp(`^team-b \\(${b}\\): svc-b`, 'm'));
    expect(received).toHaveLength(2);
  });
});
