import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { deliverAlerts } from '../lib/alerts/sns.js';
import { createClients, createSnsClient } from '../lib/aws/clients.js';
import { systemClock } from '../lib/clock.js';
import { lambdaConfig } from '../lib/lambda-config.js';
import { leakAlerts } from '../lib/leak/alerts.js';
import { parseExposedKeysEvent } from '../lib/leak/event.js';
import { respondToLeak } from '../lib/leak/respond.js';
import { createLogger } from '../lib/log.js';
import { rotationDeps } from '../lib/rotation/deps.js';

const logger = createLogger();
const clients = createClients();
const sns = createSnsClient();
/** The alert topic; serverless.yml sets it. */
const alertTopicArn = process.env.ALERT_TOPIC_ARN || undefined;

/**
 * EventBridge (AWS Health, AWS_RISK_CREDENTIALS_EXPOSED) -> an emergency rotation of each exposed
 * machine-user key -> critical alerts for owners. A key whose response failed fails the invocation
 * after the alerts (EventBridge retries; the response is idempotent).
 */
export const lambdaHandler = async (raw: unknown) => {
  const event = parseExposedKeysEvent(raw);
  const config = await lambdaConfig();
  const outcomes = await respondToLeak(rotationDeps(clients, systemClock, config), config, event);
  for (const outcome of outcomes) {
    (outcome.outcome === 'failed' ? logger.error : logger.warn).call(logger, 'leak response', { outcome });
  }
  const alerts = leakAlerts(event, outcomes);
  const delivery = await deliverAlerts(sns, alertTopicArn, alerts);
  const failed = outcomes.filter((o) => o.outcome === 'failed').length;
  const summary = {
    eventId: event.eventId,
    keys: outcomes.length,
    rotated: outcomes.filter((o) => o.outcome === 'rotated').length,
    alreadyHandled: outcomes.filter((o) => o.outcome === 'already-handled').length,
    reportedOnly: outcomes.filter((o) => o.outcome === 'not-managed' || o.outcome === 'unknown').length,
    failed,
    alertsPublished: delivery.published,
  };
  logger.info('leak response complete', { summary });
  if (failed > 0) throw new Error(`The leak response failed for ${failed} key(s); see the log.`);
  if (delivery.error) throw delivery.error;
  return summary;
};

export const handler = middy(lambdaHandler).use(injectLambdaContext(logger));
