import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { redeployFailedAlert, rotationFailureAlert } from '../lib/alerts/alerts.js';
import { functionAlerting } from '../lib/alerts/setup.js';
import { createClients } from '../lib/aws/clients.js';
import { signedSns } from '../lib/aws/sns-signed.js';
import { systemClock } from '../lib/clock.js';
import { RotationInProgressError, TargetError } from '../lib/errors.js';
import { lambdaConfig } from '../lib/lambda-config.js';
import { createLogger, redactErrors } from '../lib/log.js';
import { createMetrics, powertoolsMetrics } from '../lib/metrics.js';
import { rotationDeps } from '../lib/rotation/deps.js';
import { runRotationStep } from '../lib/rotation/lambda-step.js';

const logger = createLogger();
const metrics = createMetrics();
const clients = createClients();
const alerting = functionAlerting({
  clients,
  // A signed Publish, not the SNS client: it keeps the bundle within 400 KB with the target adapters.
  sns: signedSns({ credentials: clients.iam.config.credentials }),
  clock: systemClock,
  log: logger,
});
/** What adapters log through: the Powertools logger (with its redaction), narrowed to the port. */
const targetLogger = {
  info: (message: string, extra: Record<string, unknown> = {}) => logger.info(message, extra),
  warn: (message: string, extra: Record<string, unknown> = {}) => logger.warn(message, extra),
};

/** The log message the rotate errors alarm subtracts (serverless.yml, RotateInProgressFilter). */
export const DEFERRED_MESSAGE = 'rotation step deferred: rotation in progress';

/**
 * Secrets Manager's rotation function: {Step, SecretId, ClientRequestToken} -> one idempotent step.
 * A failed step alerts the user's owner (once per remind window), then fails the invocation so that
 * Secrets Manager retries; the alert itself can never fail the step. "Rotation in progress" (another
 * attempt may still store its key) must fail the step too, so Secrets Manager retries it later, but it
 * is expected, not an error: no alert, and a warning with a message the stack's error alarm subtracts
 * from the function's Errors.
 */
export const lambdaHandler = async (event: unknown, context: Context) => {
  const config = await lambdaConfig();
  const port = powertoolsMetrics(metrics);
  const clientRequestToken = (event as { ClientRequestToken?: string }).ClientRequestToken;
  try {
    const result = await runRotationStep(
      rotationDeps(clients, systemClock, config, { logger: targetLogger }),
      config,
      event,
      async (failure) => {
        if (failure.error instanceof RotationInProgressError) return;
        port.add('RotationsFailed', 1, failure.step);
        if (failure.error instanceof TargetError && failure.error.target)
          port.add('TargetPushesFailed', 1, failure.error.target.type);
        const accountId = context.invokedFunctionArn.split(':')[4] ?? '';
        await alerting.forRun(config, port).send([rotationFailureAlert(accountId, failure, true)]);
      },
    );
    const { redeployFailures = [], ...done } = result;
    if (result.moved) port.add('KeysRotated', 1);
    logger.info('rotation step done', {
      ...done,
      redeploysFailed: redeployFailures.length,
      clientRequestToken,
    });
    // A failed redeploy never fails the step: the new key is current and stored. Its owner is told.
    if (redeployFailures.length > 0) {
      const accountId = context.invokedFunctionArn.split(':')[4] ?? '';
      await alerting
        .forRun(config, port)
        .send(redeployFailures.map((f) => redeployFailedAlert({ accountId, userName: result.user, ...f })));
    }
  } catch (error) {
    if (error instanceof RotationInProgressError) {
      logger.warn(DEFERRED_MESSAGE, { reason: error.message, clientRequestToken });
    } else {
      logger.error('rotation step failed', { error, clientRequestToken });
    }
    throw error;
  }
};

// A thrown error is printed by the Lambda runtime, outside the logger: it is scrubbed of key material
// (redactErrors is used last, so its onError runs first).
export const handler = middy(lambdaHandler)
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics))
  .use(redactErrors());
