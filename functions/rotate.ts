import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { createClients } from '../lib/aws/clients.js';
import { systemClock } from '../lib/clock.js';
import { lambdaConfig } from '../lib/lambda-config.js';
import { createLogger, redactErrors } from '../lib/log.js';
import { rotationDeps } from '../lib/rotation/deps.js';
import { runRotationStep } from '../lib/rotation/lambda-step.js';

const logger = createLogger();
const clients = createClients();

/** Secrets Manager's rotation function: {Step, SecretId, ClientRequestToken} -> one idempotent step. */
export const lambdaHandler = async (event: unknown) => {
  const config = await lambdaConfig();
  const result = await runRotationStep(rotationDeps(clients, systemClock, config), config, event);
  logger.info('rotation step done', {
    ...result,
    clientRequestToken: (event as { ClientRequestToken?: string }).ClientRequestToken,
  });
};

// A thrown error is printed by the Lambda runtime, outside the logger: it is scrubbed of key material.
export const handler = middy(lambdaHandler).use(injectLambdaContext(logger)).use(redactErrors());
