import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { createClients } from '../lib/aws/clients.js';
import { systemClock } from '../lib/clock.js';
import { RotationInProgressError } from '../lib/errors.js';
import { lambdaConfig } from '../lib/lambda-config.js';
import { createLogger } from '../lib/log.js';
import { rotationDeps } from '../lib/rotation/deps.js';
import { runRotationStep } from '../lib/rotation/lambda-step.js';

const logger = createLogger();
const clients = createClients();

/** The log message the rotate errors alarm subtracts (serverless.yml, RotateInProgressFilter). */
export const DEFERRED_MESSAGE = 'rotation step deferred: rotation in progress';

/**
 * Secrets Manager's rotation function: {Step, SecretId, ClientRequestToken} -> one idempotent step.
 * "Rotation in progress" (another attempt may still store its key) must fail the step, so Secrets
 * Manager retries it later, but it is expected, not an error: it is logged as a warning with a
 * message the stack's error alarm subtracts from the function's Errors.
 */
export const lambdaHandler = async (event: unknown) => {
  const config = await lambdaConfig();
  const clientRequestToken = (event as { ClientRequestToken?: string }).ClientRequestToken;
  try {
    const result = await runRotationStep(rotationDeps(clients, systemClock, config), config, event);
    logger.info('rotation step done', { ...result, clientRequestToken });
  } catch (error) {
    if (error instanceof RotationInProgressError) {
      logger.warn(DEFERRED_MESSAGE, { reason: error.message, clientRequestToken });
    } else {
      logger.error('rotation step failed', { error, clientRequestToken });
    }
    throw error;
  }
};

export const handler = middy(lambdaHandler).use(injectLambdaContext(logger));
