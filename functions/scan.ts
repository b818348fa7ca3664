import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { ScheduledEvent } from 'aws-lambda';
import { scanAlerts } from '../lib/alerts/alerts.js';
import { sendAlerts } from '../lib/alerts/notifier.js';
import { SLACK_CHANNEL_TAG } from '../lib/alerts/owners.js';
import { alertEnvironment, createAlerting } from '../lib/alerts/setup.js';
import { createClients, createSnsClient } from '../lib/aws/clients.js';
import { createDynamoDb } from '../lib/aws/dynamodb.js';
import { systemClock } from '../lib/clock.js';
import { lambdaConfig } from '../lib/lambda-config.js';
import { createLogger } from '../lib/log.js';
import { createMetrics, powertoolsMetrics } from '../lib/metrics.js';
import { startRotations } from '../lib/rotation/start.js';
import { recordScanMetrics, scanAccount, summarize } from '../lib/scan.js';

const logger = createLogger();
const metrics = createMetrics();
const clients = createClients();
/** The rotate function; serverless.yml sets it. Without it the scan only reports. */
const rotateFunctionArn = process.env.ROTATE_FUNCTION_ARN || undefined;
const sns = createSnsClient();
const dynamoDb = createDynamoDb({ credentials: clients.iam.config.credentials });
/** The alert topic, ledger and stage; serverless.yml sets them. Without a topic or Slack, findings are only logged. */
const environment = alertEnvironment('dev');

/**
 * EventBridge schedule -> inventory and plan of the account -> Secrets Manager rotations started for
 * the machine users that are due -> a digest per owner -> a structured summary and metrics.
 */
export const lambdaHandler = async (_event: ScheduledEvent) => {
  const config = await lambdaConfig();
  const port = powertoolsMetrics(metrics);
  const alerting = createAlerting({
    config,
    environment,
    sns,
    secrets: clients.secrets,
    dynamoDb,
    clock: systemClock,
    log: logger,
    metrics: port,
  });
  const now = systemClock.now();
  const result = await scanAccount({ clients, clock: systemClock }, config, now);
  for (const action of result.plan.actions) {
    logger.info('planned action', {
      action: { kind: action.kind, user: action.userName, key: action.key, reason: action.reason },
    });
  }
  recordScanMetrics(port, result, now);
  const rotations = rotateFunctionArn
    ? await startRotations(clients.secrets, result.plan, config, rotateFunctionArn)
    : [];
  for (const rotation of rotations) {
    if (rotation.outcome === 'failed') logger.error('rotation not started', { rotation });
    else logger.info('rotation started', { rotation });
  }
  const summary = {
    ...summarize(result),
    rotationsStarted: rotations.filter((r) => r.outcome === 'started' || r.outcome === 'onboarded').length,
    rotationsInProgress: rotations.filter((r) => r.outcome === 'in-progress').length,
    rotationsFailed: rotations.filter((r) => r.outcome === 'failed').length,
  };
  const channels = new Map(
    result.inventory.users.flatMap((u) => {
      const channel = u.tags[SLACK_CHANNEL_TAG];
      return channel ? [[u.userName, channel] as const] : [];
    }),
  );
  // A failed alert is logged and counted (AlertsFailed, which has an alarm); it never fails the scan.
  const alerts = await sendAlerts(alerting, scanAlerts(result.plan, rotations, channels));
  const complete = { ...summary, alerts };
  logger.info('scan complete', { summary: complete });
  return complete;
};

export const handler = middy(lambdaHandler).use(injectLambdaContext(logger)).use(logMetrics(metrics));
