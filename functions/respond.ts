import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import { withOwners } from '../lib/alerts/alerts.js';
import { sendAlerts } from '../lib/alerts/notifier.js';
import { userRoutes } from '../lib/alerts/owners.js';
import { alertEnvironment, createAlerting } from '../lib/alerts/setup.js';
import { createClients, createSnsClient } from '../lib/aws/clients.js';
import { createDynamoDb } from '../lib/aws/dynamodb.js';
import { systemClock } from '../lib/clock.js';
import { lambdaConfig } from '../lib/lambda-config.js';
import { leakAlerts } from '../lib/leak/alerts.js';
import { parseExposedKeysEvent } from '../lib/leak/event.js';
import { respondToLeak } from '../lib/leak/respond.js';
import { createLogger } from '../lib/log.js';
import { createMetrics, powertoolsMetrics } from '../lib/metrics.js';
import { rotationDeps } from '../lib/rotation/deps.js';

const logger = createLogger();
const clients = createClients();
const metrics = createMetrics();
const sns = createSnsClient();
const dynamoDb = createDynamoDb({ credentials: clients.iam.config.credentials });
/** The alert topic, ledger and stage; serverless.yml sets them. */
const environment = alertEnvironment('dev');

/**
 * EventBridge (AWS Health, AWS_RISK_CREDENTIALS_EXPOSED) -> an emergency rotation of each exposed
 * machine-user key -> critical alerts for owners (once per key and outcome). A key whose response
 * failed fails the invocation after the alerts (EventBridge retries; the response is idempotent).
 */
export const lambdaHandler = async (raw: unknown) => {
  const event = parseExposedKeysEvent(raw);
  const config = await lambdaConfig();
  const outcomes = await respondToLeak(rotationDeps(clients, systemClock, config), config, event);
  for (const outcome of outcomes) {
    (outcome.outcome === 'failed' ? logger.error : logger.warn).call(logger, 'leak response', { outcome });
  }
  const alerting = createAlerting({
    config,
    environment,
    sns,
    secrets: clients.secrets,
    dynamoDb,
    clock: systemClock,
    log: logger,
    metrics: powertoolsMetrics(metrics),
  });
  const found = leakAlerts(event, outcomes);
  const alerts =
    alerting.notifiers.length > 0
      ? withOwners(
          found,
          await userRoutes(
            clients.iam,
            found.flatMap((a) => (a.userName ? [a.userName] : [])),
            config.ownerTag,
          ),
        )
      : found;
  // A failed alert is logged and counted (AlertsFailed has an alarm); it never fails the response.
  const delivery = await sendAlerts(alerting, alerts);
  const failed = outcomes.filter((o) => o.outcome === 'failed').length;
  const summary = {
    eventId: event.eventId,
    keys: outcomes.length,
    rotated: outcomes.filter((o) => o.outcome === 'rotated').length,
    alreadyHandled: outcomes.filter((o) => o.outcome === 'already-handled').length,
    reportedOnly: outcomes.filter((o) => o.outcome === 'not-managed' || o.outcome === 'unknown').length,
    failed,
    alerts: delivery,
  };
  logger.info('leak response complete', { summary });
  if (failed > 0) throw new Error(`The leak response failed for ${failed} key(s); see the log.`);
  return summary;
};

export const handler = middy(lambdaHandler).use(injectLambdaContext(logger)).use(logMetrics(metrics));
