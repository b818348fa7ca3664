import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { ScheduledEvent } from 'aws-lambda';
import { scanAlerts } from '../lib/alerts/alerts.js';
import { deliverAlerts } from '../lib/alerts/sns.js';
import { createClients, createSnsClient } from '../lib/aws/clients.js';
import { systemClock } from '../lib/clock.js';
import { lambdaConfig } from '../lib/lambda-config.js';
import { createLogger, redactErrors } from '../lib/log.js';
import { startRotations } from '../lib/rotation/start.js';
import { scanAccount, summarize } from '../lib/scan.js';

const logger = createLogger();
const clients = createClients();
/** The rotate function; serverless.yml sets it. Without it the scan only reports. */
const rotateFunctionArn = process.env.ROTATE_FUNCTION_ARN || undefined;
const sns = createSnsClient();
/** The alert topic; serverless.yml sets it. Without it, findings are only logged. */
const alertTopicArn = process.env.ALERT_TOPIC_ARN || undefined;

/**
 * EventBridge schedule -> inventory and plan of the account -> Secrets Manager rotations started for
 * the machine users that are due -> a structured summary.
 */
export const lambdaHandler = async (_event: ScheduledEvent) => {
  const config = await lambdaConfig();
  const result = await scanAccount({ clients, clock: systemClock }, config, systemClock.now());
  for (const action of result.plan.actions) {
    logger.info('planned action', {
      action: { kind: action.kind, user: action.userName, key: action.key, reason: action.reason },
    });
  }
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
  // Alerts that could not be published fail the invocation after the summary is logged; Lambda
  // retries it, and a rerun only finds the rotations it started in progress.
  const alerts = scanAlerts(result.plan, rotations);
  const delivery = await deliverAlerts(sns, alertTopicArn, alerts);
  const complete = { ...summary, alerts: alerts.length, alertsPublished: delivery.published };
  logger.info('scan complete', { summary: complete });
  if (delivery.error) throw delivery.error;
  return complete;
};

// A thrown error is printed by the Lambda runtime, outside the logger: it is scrubbed of key material.
export const handler = middy(lambdaHandler).use(injectLambdaContext(logger)).use(redactErrors());
