import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateAccountAliasCommand } from '@aws-sdk/client-iam';
import { OrganizationsClient } from '@aws-sdk/client-organizations';
import { CreateTopicCommand } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { beforeAll, describe, expect, it } from 'vitest';
import { contributeToDigest, dynamoDigestStore } from '../../lib/accounts/digest.js';
import { accountsToWorkIn } from '../../lib/accounts/organization.js';
import { runAccount } from '../../lib/accounts/run-account.js';
import {
  type AccountMessage,
  accountMessageBatches,
  processAccountBatch,
} from '../../lib/accounts/worker.js';
import { sendAlerts } from '../../lib/alerts/notifier.js';
import { createAlerting } from '../../lib/alerts/setup.js';
import { createClients, createSnsClient } from '../../lib/aws/clients.js';
import { createDynamoDb } from '../../lib/aws/dynamodb.js';
import { sdkSns } from '../../lib/aws/sns.js';
import { DAY_MS, systemClock } from '../../lib/clock.js';
import { defaultConfig } from '../../lib/config.js';
import { noMetrics } from '../../lib/metrics.js';
import { memberClients as seededMemberClients, seedOrganization } from '../../lib/testbed/org.js';
import { seedUsers } from '../../lib/testbed/seed.js';
import { alertQueue } from '../helpers/alerts.js';

/**
 * One digest per owner across the organization, on moto: two member accounts run by the worker from
 * real SQS messages, two at once; each records its share in the ledger table (one after the other:
 * see `work`); the one that completes the run sends one digest per owner to the SNS topic; owners' SQS subscriptions with filter policies
 * show what each owner receives. Request authentication is off, as in org-worker.test.ts.
 */
const HUB = '123456789012';
const ROLE = { path: '/keyrot/', name: 'keyrot-member', externalId: 'org-digest-test' };
const TABLE = 'keyrot-test-org-ledger';
const endpoint = process.env.AWS_ENDPOINT_URL ?? '';

const memberClients = (accountId: string) => seededMemberClients(accountId, ROLE);

describe('organization digests, on moto', () => {
  beforeAll(async () => {
    await fetch(`${endpoint}/moto-api/reset-auth`, { method: 'POST', body: 'inf' });
  });

  it('sends each owner exactly one digest naming every account of theirs, however many accounts finish at once', async () => {
    // Prepare: team-a (alias team-a-prod) has svc-a1 (owner o) and svc-a2 (owner p); team-b has
    // svc-b (owner o). On day 50 every key is reported unused (unusedKeyDays 45), none is due yet.
    const org = new OrganizationsClient({});
    const ids = await seedOrganization(org, ['team-a', 'team-b']);
    const [a = '', b = ''] = ids;
    const memberA = await memberClients(a);
    await memberA.iam.send(new CreateAccountAliasCommand({ AccountAlias: 'team-a-prod' }));
    await seedUsers(memberA.iam, endpoint, [
      { userName: 'svc-a1', path: '/machine/', tags: { owner: 'o' }, keys: [{}] },
      { userName: 'svc-a2', path: '/machine/', tags: { owner: 'p' }, keys: [{}] },
    ]);
    await seedUsers((await memberClients(b)).iam, endpoint, [
      { userName: 'svc-b', path: '/machine/', tags: { owner: 'o' }, keys: [{}] },
    ]);
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
    const { TopicArn = '' } = await sns.send(new CreateTopicCommand({ Name: 'keyrot-test-org-alerts' }));
    const ownerO = await alertQueue(TopicArn, sns, undefined, { owner: ['o'] });
    const ownerP = await alertQueue(TopicArn, sns, undefined, { owner: ['p'] });
    const hub = createClients();
    const alerting = createAlerting({
      config: defaultConfig,
      environment: { topicArn: TopicArn, ledgerTable: TABLE, stage: 'test' },
      sns: sdkSns(sns),
      secrets: hub.secrets,
      dynamoDb: createDynamoDb({ credentials: hub.iam.config.credentials }),
      clock: systemClock,
      log: { warn: () => undefined, error: () => undefined },
      metrics: noMetrics,
    });
    const store = dynamoDigestStore(createDynamoDb({ credentials: hub.iam.config.credentials }), TABLE);
    // The scheduler: one message per member account, with the run's id and size.
    const sqs = new SQSClient({});
    const { QueueUrl = '' } = await sqs.send(new CreateQueueCommand({ QueueName: 'keyrot-test-org-digest' }));
    const accounts = await accountsToWorkIn(org, { include: [], exclude: [HUB] });
    for (const Entries of accountMessageBatches(accounts, 'run-2026-11-23'))
      await sqs.send(new SendMessageBatchCommand({ QueueUrl, Entries }));
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
    );
    let contributions: Promise<unknown> = Promise.resolve();
    const work = async (message: AccountMessage) => {
      const run = await runAccount(
        {
          sts: hub.sts,
          clock: systemClock,
          role: ROLE,
          rotateFunctionName: 'keyrot-ci-rotate',
          region: 'us-east-1',
        },
        defaultConfig,
        message,
        new Date(Date.now() + 50 * DAY_MS),
      );
      if (message.runId && message.accounts) {
        const { runId, accounts: size } = message;
        // DynamoDB serializes writes to one item, so two accounts adding themselves to the run's set
        // at once both count; moto does not (one of two concurrent ADDs was seen lost). The accounts
        // run at once; their contributions reach the table one after the other, as DynamoDB orders them.
        const turn = contributions.then(() =>
          contributeToDigest(
            { store, send: (alerts) => sendAlerts(alerting, alerts) },
            { runId, accounts: size },
            run.digest,
          ),
        );
        contributions = turn.catch(() => undefined);
        await turn;
      }
    };
    const records = Messages.map((m) => ({ messageId: m.MessageId ?? '', body: m.Body ?? '' }));

    // Act: the worker, both accounts at once; then SQS delivers team-a's message a second time.
    const first = await processAccountBatch(records, work, 2);
    const again = await processAccountBatch(
      records.filter((r) => r.body.includes(a)),
      work,
      1,
    );

    // Assess: every message succeeded; owner o got one digest naming both accounts, p one naming team-a.
    expect(first.response.batchItemFailures).toEqual([]);
    expect(again.response.batchItemFailures).toEqual([]);
    const toO = await ownerO.receive();
    const toP = await ownerP.receive();
    expect(toO).toHaveLength(1);
    expect(toP).toHaveLength(1);
    const digest = (received: (typeof toO)[number]) =>
      received.message as { content: { title: string; description: string } };
    expect(digest(toO[0] as (typeof toO)[number]).content.title).toBe(
      'keyrot: 2 items need attention for owner o in 2 accounts',
    );
    const description = digest(toO[0] as (typeof toO)[number]).content.description;
    // Accounts in id order.
    const names = [
      [a, `team-a-prod (${a})`],
      [b, `team-b (${b})`],
    ]
      .sort(([x = ''], [y = '']) => x.localeCompare(y))
      .map(([, name]) => name);
    expect(description).toContain(`Accounts: ${names.join(', ')}.`);
    expect(description).toMatch(new RegExp(`^team-a-prod \\(${a}\\): svc-a1: `, 'm'));
    expect(description).toMatch(new RegExp(`^team-b \\(${b}\\): svc-b: `, 'm'));
    expect(description).not.toContain('svc-a2');
    expect(digest(toP[0] as (typeof toP)[number]).content.title).toBe(
      'keyrot: 1 item needs attention for owner p in 1 account',
    );
    expect(digest(toP[0] as (typeof toP)[number]).content.description).toContain(
      `team-a-prod (${a}): svc-a2: `,
    );
    expect(toO[0]?.attributes.owner).toBe('o');
  });
});
