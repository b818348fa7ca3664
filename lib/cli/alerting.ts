import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import type { Alert } from '../alerts/alerts.js';
import { keyUsageLookup } from '../alerts/key-usage.js';
import { type AlertSummary, sendAlerts } from '../alerts/notifier.js';
import { userRoutes } from '../alerts/owners.js';
import { alertEnvironment, createAlerting } from '../alerts/setup.js';
import { type AwsClients, createCloudTrailClient, createSnsClient } from '../aws/clients.js';
import { cloudTrailLookup } from '../aws/cloudtrail.js';
import { createDynamoDb } from '../aws/dynamodb.js';
import { sdkSns } from '../aws/sns.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import { noMetrics } from '../metrics.js';
import type { CliIo } from './io.js';

/**
 * The CLI tells owners what it did, as the functions do: through the topic (ALERT_TOPIC_ARN) and
 * Slack (alerts.slack in the config), once per remind window when ALERT_LEDGER_TABLE names the
 * ledger. Nothing is configured: nothing is sent, and no AWS call is made for it.
 */
export async function alertFromCli(
  config: Config,
  clients: Pick<AwsClients, 'iam' | 'sts' | 'secrets'>,
  clock: Clock,
  io: CliIo,
  build: (accountId: string) => Alert[],
): Promise<AlertSummary | undefined> {
  const environment = alertEnvironment('cli');
  const alerting = createAlerting({
    config,
    environment,
    ...(environment.topicArn ? { sns: sdkSns(createSnsClient()) } : {}),
    secrets: clients.secrets,
    ...(environment.ledgerTable
      ? { dynamoDb: createDynamoDb({ credentials: clients.iam.config.credentials }) }
      : {}),
    clock,
    log: {
      warn: (message, extra) => io.stderr(`keyrot: ${message} (${describe(extra)})\n`),
      error: (message, extra) => io.stderr(`keyrot: ${message} (${describe(extra)})\n`),
    },
    metrics: noMetrics,
  });
  if (alerting.notifiers.length === 0) return undefined;
  const { Account = '' } = await clients.sts.send(new GetCallerIdentityCommand({}));
  const found = build(Account);
  if (found.length === 0) return { alerts: 0, sent: 0, deduplicated: 0, failed: 0 };
  const routes = await userRoutes(
    clients.iam,
    found.flatMap((a) => (a.userName ? [a.userName] : [])),
    config.ownerTag,
  );
  const alerts = found.map((a) => (a.userName ? { ...a, ...routes.get(a.userName) } : a));
  // Who still uses a key is a detail: a CloudTrail that keeps failing is not waited for.
  const usage = keyUsageLookup(cloudTrailLookup(createCloudTrailClient({ maxAttempts: 3 })));
  const summary = await sendAlerts(alerting, alerts, async (alert) => {
    if (alert.kind !== 'key-in-use' || alert.accessKeyId === undefined) return alert;
    const seen = await usage(alert.accessKeyId);
    return seen ? { ...alert, usage: seen } : alert;
  });
  io.stderr(
    `keyrot: alerts: ${summary.sent} sent, ${summary.deduplicated} already sent within alerts.remindEveryDays, ${summary.failed} failed\n`,
  );
  return summary;
}

function describe(extra: Record<string, unknown>): string {
  const error = extra.error as { message?: string } | undefined;
  return [extra.title, extra.channel, error?.message].filter((v) => v !== undefined).join('; ');
}
