import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudTrailClient, LookupEventsCommand } from '@aws-sdk/client-cloudtrail';
import {
  CreateTableCommand,
  DynamoDBClient,
  GetItemCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { CreateAccessKeyCommand, CreateUserCommand } from '@aws-sdk/client-iam';
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { CreateTopicCommand } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Alert } from '../../lib/alerts/alerts.js';
import { dynamoLedger } from '../../lib/alerts/ledger.js';
import { createClients, createSnsClient } from '../../lib/aws/clients.js';
import { createDynamoDb } from '../../lib/aws/dynamodb.js';
import { DAY_MS } from '../../lib/clock.js';
import { signWith } from '../../lib/testbed/seed.js';
import { alertQueue, type ReceivedAlert } from '../helpers/alerts.js';
import { runCli } from '../helpers/cli.js';
import { startFakeSlack } from '../helpers/fake-slack.js';
import { scanned } from '../helpers/key-material.js';

/**
 * Alerts end to end on moto, driven through the CLI with --now as the retire Lambda runs daily:
 * SNS with per-owner filter policies (SNS -> SQS), Slack through a loopback webhook routed by the
 * slack-channel tag, and the dedup ledger in a DynamoDB table with conditional writes.
 *
 * moto stamps last use with the real time, so simulated day 0 is three real days ago, and a consumer
 * still on the old key uses it "today" (day 3). idleDaysBeforeDeactivate is 30 so the key is held on
 * every day below; escalateAfterDays is 16.
 */
const endpoint = process.env.AWS_ENDPOINT_URL ?? '';
// moto does not implement CloudTrail LookupEvents: it alone is mocked, everything else is moto.
const cloudtrail = mockClient(CloudTrailClient);
const clients = createClients();
const sns = createSnsClient();
const dynamo = new DynamoDBClient({ region: 'us-east-1' });
const TABLE = 'keyrot-test-alert-ledger';
const DAY0 = new Date(Date.now() - 3 * DAY_MS);
const day = (n: number) => new Date(DAY0.getTime() + n * DAY_MS).toISOString();

let slack: Awaited<ReturnType<typeof startFakeSlack>>;
let configFile = '';
const oldKeys: Record<string, string> = {};
const secretKeys: string[] = [];

beforeAll(async () => {
  await dynamo.send(
    new CreateTableCommand({
      TableName: TABLE,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'subject', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'subject', KeyType: 'HASH' }],
    }),
  );
  await dynamo.send(
    new UpdateTimeToLiveCommand({
      TableName: TABLE,
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
    }),
  );
  slack = await startFakeSlack();
  for (const [name, token] of [
    ['data-alerts', 'ok-data'],
    ['ops', 'ok-ops'],
  ] as const) {
    await clients.secrets.send(
      new CreateSecretCommand({ Name: `keyrot-slack/${name}`, SecretString: slack.url(token) }),
    );
  }
  const dir = await mkdtemp(join(tmpdir(), 'keyrot-alerts-'));
  configFile = join(dir, 'keyrot.yaml');
  await writeFile(
    configFile,
    JSON.stringify({
      policy: { idleDaysBeforeDeactivate: 30, escalateAfterDays: 16 },
      alerts: {
        remindEveryDays: 7,
        slack: {
          channels: {
            'data-alerts': { webhookSecretId: 'keyrot-slack/data-alerts' },
            ops: { webhookSecretId: 'keyrot-slack/ops' },
          },
          defaultChannel: 'ops',
        },
      },
    }),
  );
  for (const [userName, tags] of [
    ['etl', { owner: 'data-team', 'slack-channel': 'data-alerts' }],
    ['ci', { owner: 'platform' }],
  ] as const) {
    await clients.iam.send(
      new CreateUserCommand({
        UserName: userName,
        Path: '/machine/',
        Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
      }),
    );
    const { AccessKey } = await clients.iam.send(new CreateAccessKeyCommand({ UserName: userName }));
    oldKeys[userName] = AccessKey?.AccessKeyId ?? '';
    secretKeys.push(AccessKey?.SecretAccessKey ?? '');
    const rotated = await runCli('rotate', '--user', userName, '--now', day(0), '--config', configFile);
    expect(rotated.code).toBe(0);
    // A consumer that has not moved yet still uses the old key.
    await signWith(endpoint, AccessKey?.AccessKeyId ?? '', AccessKey?.SecretAccessKey ?? '');
  }
});
afterAll(async () => {
  vi.unstubAllEnvs();
  await slack?.stop();
});

describe('alerts through SNS and Slack, once per remind window', () => {
  it('tells each owner about their held key on day 8, not on days 9-14, again on day 15, and at once when it escalates', async () => {
    // Prepare: the topic, one queue per owner with a filter policy, one that takes everything.
    const { TopicArn = '' } = await sns.send(new CreateTopicCommand({ Name: 'keyrot-test-alerts' }));
    const dataTeam = await alertQueue(TopicArn, sns, undefined, { owner: ['data-team'] });
    const platform = await alertQueue(TopicArn, sns, undefined, { owner: ['platform'] });
    const everything = await alertQueue(TopicArn, sns);
    vi.stubEnv('ALERT_TOPIC_ARN', TopicArn);
    vi.stubEnv('ALERT_LEDGER_TABLE', TABLE);
    vi.stubEnv('KEYROT_STAGE', 'test');
    cloudtrail
      .on(LookupEventsCommand)
      .callsFake((input: { LookupAttributes?: Array<{ AttributeValue?: string }> }) => ({
        Events: [
          {
            EventName: 'GetCallerIdentity',
            EventTime: new Date(),
            CloudTrailEvent: JSON.stringify({
              sourceIPAddress: '203.0.113.7',
              userAgent: `consumer-of-${input.LookupAttributes?.[0]?.AttributeValue}`,
            }),
          },
        ],
      }));

    // Act: the daily retire run, days 8 to 16.
    const sentOn: Record<string, Array<[number, string]>> = { etl: [], ci: [] };
    const byOwner: Record<string, ReceivedAlert[]> = { 'data-team': [], platform: [], all: [] };
    for (let n = 8; n <= 16; n++) {
      const run = await runCli('retire', '--now', day(n), '--config', configFile);
      expect(run.code, run.stderr).toBe(0);
      const [d, p, all] = [await dataTeam.receive(), await platform.receive(), await everything.receive()];
      byOwner['data-team']?.push(...d);
      byOwner.platform?.push(...p);
      byOwner.all?.push(...all);
      for (const alert of all)
        sentOn[alert.attributes.user ?? '']?.push([n, alert.attributes.severity ?? '']);
    }

    // Assess: day 8 and day 15 (remindEveryDays 7), and day 16 at once because it escalated.
    const expected: Array<[number, string]> = [
      [8, 'warning'],
      [15, 'warning'],
      [16, 'critical'],
    ];
    expect(sentOn).toEqual({ etl: expected, ci: expected });
    // Each owner's filtered subscription got exactly that owner's alerts.
    expect(byOwner['data-team']?.map((a) => [a.attributes.user, a.attributes.kind])).toEqual(
      expected.map(() => ['etl', 'key-in-use']),
    );
    expect(byOwner.platform?.map((a) => [a.attributes.user, a.attributes.kind])).toEqual(
      expected.map(() => ['ci', 'key-in-use']),
    );
    expect(byOwner.all).toHaveLength(6);
    const escalated = byOwner['data-team']?.at(-1);
    expect(escalated?.subject).toBe(`keyrot: etl's replaced key ${oldKeys.etl} is still in use (escalated)`);
    expect(JSON.stringify(escalated?.message)).toContain('keyrot status --user etl');

    // Slack: etl's slack-channel tag picks data-alerts; ci has none and goes to the default channel.
    const slackFor = (token: string) =>
      slack.received
        .filter((r) => r.token === token)
        .map((r) => (r.payload.blocks?.[0]?.text as { text: string } | undefined)?.text);
    expect(slackFor('ok-data')).toEqual([
      ':warning: WARNING · key-in-use',
      ':warning: WARNING · key-in-use',
      ':rotating_light: CRITICAL · key-in-use',
    ]);
    expect(slackFor('ok-ops')).toHaveLength(3);
    const context = slack.received[0]?.payload.blocks?.at(-1)?.elements as Array<{ text: string }>;
    expect(context[0]?.text).toBe(`${day(8)} · stage test · keyrot`);
    expect(slack.problems).toEqual([]);

    // Who still uses the key, from CloudTrail: looked up once per key on the days an alert went out only.
    expect(
      cloudtrail
        .commandCalls(LookupEventsCommand)
        .map((c) => c.args[0].input.LookupAttributes?.[0]?.AttributeValue),
    ).toEqual([8, 15, 16].flatMap(() => [oldKeys.ci, oldKeys.etl]));
    expect(
      (escalated?.message as { content?: { description?: string } } | undefined)?.content?.description,
    ).toContain(`203.0.113.7 · consumer-of-${oldKeys.etl} · GetCallerIdentity · last seen`);
    const status = await runCli('status', '--user', 'etl', '--now', day(16), '--config', configFile);
    expect(status.stdout).toContain(`${oldKeys.etl} is held. Still used by (CloudTrail, last 90 days):`);
    expect(status.stdout).toContain(`203.0.113.7 · consumer-of-${oldKeys.etl} · GetCallerIdentity`);

    // The ledger in DynamoDB: the last alert about each key, with a TTL.
    const { Item } = await dynamo.send(
      new GetItemCommand({ TableName: TABLE, Key: { subject: { S: `key#123456789012#${oldKeys.etl}` } } }),
    );
    expect(Item).toMatchObject({
      severity: { N: '2' },
      state: { S: 'held-escalated' },
      kind: { S: 'key-in-use' },
      sentAt: { N: String(Date.parse(day(16))) },
      expiresAt: { N: String(Math.ceil((Date.parse(day(16)) + 8 * DAY_MS) / 1000)) },
    });

    // No alert carried key material (every SQS message and Slack post was scanned on arrival).
    for (const alert of byOwner.all ?? [])
      for (const secret of secretKeys) expect(alert.raw).not.toContain(secret);
    expect(JSON.stringify(slack.received)).not.toMatch(/SecretAccessKey/);
    expect(scanned.alerts).toBeGreaterThanOrEqual(12);
  });

  it('the ledger holds against concurrent runs: of ten claims at once, one wins', async () => {
    const ledger = dynamoLedger(createDynamoDb({ credentials: clients.iam.config.credentials }), TABLE, 7);
    const alert = {
      kind: 'drift',
      severity: 'warning',
      accountId: '123456789012',
      title: 't',
      lines: [],
      nextSteps: [],
      threadId: 't',
      subject: 'drift#concurrency',
      state: 'drift:x',
    } satisfies Alert;
    const now = new Date();
    const claims = await Promise.all(Array.from({ length: 10 }, () => ledger.claim(alert, now)));
    expect(claims.filter(Boolean)).toHaveLength(1);
    // A release only takes back its own claim; then the next run sends.
    await ledger.release(alert, new Date(now.getTime() + 1));
    expect(await ledger.claim(alert, new Date(now.getTime() + 1000))).toBe(false);
    await ledger.release(alert, now);
    expect(await ledger.claim(alert, new Date(now.getTime() + 1000))).toBe(true);
    // A state change goes through at once; the same state with a lower severity does not.
    expect(await ledger.claim({ ...alert, state: 'drift:y' }, new Date(now.getTime() + 2000))).toBe(true);
    expect(
      await ledger.claim({ ...alert, state: 'drift:y', severity: 'info' }, new Date(now.getTime() + 3000)),
    ).toBe(false);
  });

  it('rollback and emergency rotation tell the owner at once, in Slack and through the topic', async () => {
    const { TopicArn = '' } = await sns.send(new CreateTopicCommand({ Name: 'keyrot-test-events' }));
    const queue = await alertQueue(TopicArn, sns);
    vi.stubEnv('ALERT_TOPIC_ARN', TopicArn);
    vi.stubEnv('ALERT_LEDGER_TABLE', TABLE);
    // bot is rotated twice, so its first key is AWSPREVIOUS and can be rolled back to.
    await clients.iam.send(
      new CreateUserCommand({
        UserName: 'bot',
        Path: '/machine/',
        Tags: [
          { Key: 'owner', Value: 'data-team' },
          { Key: 'slack-channel', Value: 'data-alerts' },
        ],
      }),
    );
    const first = await runCli('rotate', '--user', 'bot', '--now', day(17), '--config', configFile);
    expect(first.code, first.stderr).toBe(0);
    const second = await runCli('rotate', '--user', 'bot', '--now', day(17), '--config', configFile);
    expect(second.code, second.stderr).toBe(0);
    const firstKey = /new key (AKIA\w+)/.exec(first.stdout)?.[1];
    const before = slack.received.length;

    const rollback = await runCli('rollback', '--user', 'bot', '--now', day(17), '--config', configFile);
    expect(rollback.code, rollback.stderr).toBe(0);
    const emergency = await runCli(
      'rotate',
      '--user',
      'ci',
      '--compromised',
      '--now',
      day(17),
      '--config',
      configFile,
    );
    expect(emergency.code, emergency.stderr).toBe(0);

    const received = await queue.receive();
    expect(
      received.map((a) => [a.attributes.kind, a.attributes.user, a.attributes.owner, a.attributes.severity]),
    ).toEqual([
      ['rollback', 'bot', 'data-team', 'warning'],
      ['emergency-rotation', 'ci', 'platform', 'critical'],
    ]);
    expect(received[0]?.subject).toBe(`keyrot: bot rolled back to ${firstKey}`);
    expect(JSON.stringify(received[1]?.message)).toMatch(
      /Deactivated at once, whatever their use: AKIA\w+\./,
    );
    expect(
      slack.received
        .slice(before)
        .map((r) => [r.token, (r.payload.blocks?.[0]?.text as { text: string } | undefined)?.text]),
    ).toEqual([
      ['ok-data', ':warning: WARNING · rollback'],
      ['ok-ops', ':rotating_light: CRITICAL · emergency-rotation'],
    ]);
    expect(slack.problems).toEqual([]);
  });
});
