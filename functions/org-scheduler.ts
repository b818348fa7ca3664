import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { OrganizationsClient } from '@aws-sdk/client-organizations';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import middy from '@middy/core';
import type { ScheduledEvent } from 'aws-lambda';
import { hubEnvironment, scheduleAccounts, scheduleRunId } from '../lib/accounts/hub.js';
import { systemClock } from '../lib/clock.js';
import { lambdaConfig } from '../lib/lambda-config.js';
import { createLogger, redactErrors } from '../lib/log.js';

const logger = createLogger();
const org = new OrganizationsClient({});
const sqs = new SQSClient({});
const environment = hubEnvironment();

/**
 * Organization mode, in the hub: EventBridge schedule -> the organization's accounts, filtered by the
 * config's accounts.include / accounts.exclude -> one message per account, with the run's id, on the
 * account queue, which the worker reads.
 */
export const lambdaHandler = async (event: ScheduledEvent) => {
  const config = await lambdaConfig();
  const result = await scheduleAccounts(
    {
      org,
      sendBatch: (QueueUrl, Entries) => sqs.send(new SendMessageBatchCommand({ QueueUrl, Entries })),
    },
    environment.queueUrl,
    config.accounts,
    scheduleRunId(event, systemClock.now()),
  );
  logger.info('accounts scheduled', {
    accounts: result.accounts.length,
    sent: result.sent,
    runId: result.runId,
  });
  return result;
};

export const handler = middy(lambdaHandler).use(injectLambdaContext(logger)).use(redactErrors());
