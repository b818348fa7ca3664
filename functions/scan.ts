import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { ScheduledEvent } from 'aws-lambda';
import { createClients } from '../lib/aws/clients.js';
import { systemClock } from '../lib/clock.js';
import { lambdaConfig } from '../lib/lambda-config.js';
import { createLogger } from '../lib/log.js';
import { startRotations } from '../lib/rotation/start.js';
import { scanAccount, summarize } from '../lib/scan.js';

const logger = createLogger();
const clients = createClients();

/** EventBridge schedule -> inventory and plan of the account -> a structured summary. Changes nothing yet. */
export const lambdaHandler = async (_event: ScheduledEvent) => {
  const config = await lambdaConfig();
  const result = await scanAccount({ clients, clock: systemClock }, config, systemClock.now());
  const summary = summarize(result);
  logger.info('scan complete', { summary });
  for (const action of result.plan.actions) {
    logger.info('planned action', {
      action: { kind: action.kind, user: action.userName, key: action.key, reason: action.reason },
    });
  }
  return summary;
};

export const handler = middy(lambdaHandler).use(injectLambdaContext(logger));
