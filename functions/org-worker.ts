import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { SQSEvent } from 'aws-lambda';
import { hubEnvironment } from '../lib/accounts/hub.js';
import { runAccount } from '../lib/accounts/run-account.js';
import { processAccountBatch } from '../lib/accounts/worker.js';
import { createClients, defaultRegion } from '../lib/aws/clients.js';
import { systemClock } from '../lib/clock.js';
import { lambdaConfig } from '../lib/lambda-config.js';
import { createLogger, redactErrors } from '../lib/log.js';

const logger = createLogger();
const { sts } = createClients();
const environment = hubEnvironment();

/**
 * Organization mode, in the hub: one message per member account (the event source mapping's maximum
 * concurrency caps how many accounts run at once) -> the member role assumed there -> scan, rotations
 * started and retirement in that account. Failed messages are reported one by one (partial batch
 * response): SQS retries only those, then parks them on the dead-letter queue.
 */
export const lambdaHandler = async (event: SQSEvent) => {
  const config = await lambdaConfig();
  const { response, outcomes } = await processAccountBatch(
    event.Records,
    async (message) => {
      const run = await runAccount(
        {
          sts,
          clock: systemClock,
          role: environment.role,
          rotateFunctionName: environment.rotateFunctionName,
          region: defaultRegion(),
        },
        config,
        message,
      );
      logger.info('account done', { account: run.accountId, scan: run.scan, retirement: run.retirement });
    },
    // One account at a time per invocation: the event source mapping's maximum concurrency is then
    // the number of accounts in flight.
    1,
  );
  for (const outcome of outcomes)
    if (outcome.error !== undefined)
      logger.error('account failed', {
        messageId: outcome.messageId,
        account: outcome.accountId,
        error: outcome.error as Error,
      });
  return response;
};

export const handler = middy(lambdaHandler).use(injectLambdaContext(logger)).use(redactErrors());
