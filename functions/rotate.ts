import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { rotationFailureAlert } from '../lib/alerts/alerts.js';
import { sendAlerts } from '../lib/alerts/notifier.js';
import { userRoutes } from '../lib/alerts/owners.js';
import { alertEnvironment, createAlerting } from '../lib/alerts/setup.js';
import { createClients, createSnsClient } from '../lib/aws/clients.js';
import { createDynamoDb } from '../lib/aws/dynamodb.js';
import { systemClock } from '../lib/clock.js';
import { TargetError } from '../lib/errors.js';
import { lambdaConfig } from '../lib/lambda-config.js';
import { createLogger } from '../lib/log.js';
import { createMetrics, powertoolsMetrics } from '../lib/metrics.js';
import { rotationDeps } from '../lib/rotation/deps.js';
import { runRotationStep } from '../lib/rotation/lambda-step.js';

const logger = createLogger();
const metrics = createMetrics();
const clients = createClients();
const sns = createSnsClient();
const dynamoDb = createDynamoDb({ credentials: clients.iam.config.credentials });
const environment = alertEnvironment('dev');

/**
 * Secrets Manager's rotation function: {Step, SecretId, ClientRequestToken} -> one idempotent step.
 * A failed step alerts the user's owner (once per remind window), then fails the invocation so that
 * Secrets Manager retries; the alert itself can never fail the step.
 */
export const lambdaHandler = async (event: unknown, context: Context) => {
  const config = await lambdaConfig();
  const port = powertoolsMetrics(metrics);
  const result = await runRotationStep(
    rotationDeps(clients, systemClock, config),
    config,
    event,
    async (failure) => {
      port.add('RotationsFailed', 1, failure.step);
      if (failure.error instanceof TargetError && failure.error.target)
        port.add('TargetPushesFailed', 1, failure.error.target.type);
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
      if (alerting.notifiers.length === 0) return;
      const accountId = context.invokedFunctionArn.split(':')[4] ?? '';
      const routes = await userRoutes(clients.iam, [failure.userName], config.ownerTag);
      const alert = rotationFailureAlert(accountId, failure, true);
      await sendAlerts(alerting, [{ ...alert, ...routes.get(failure.userName) }]);
    },
  );
  if (result.moved) port.add('KeysRotated', 1);
  logger.info('rotation step done', {
    ...result,
    clientRequestToken: (event as { ClientRequestToken?: string }).ClientRequestToken,
  });
};

export const handler = middy(lambdaHandler).use(injectLambdaContext(logger)).use(logMetrics(metrics));
