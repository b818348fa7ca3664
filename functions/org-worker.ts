import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { digestAfterRun, dynamoDigestStore } from '../lib/accounts/digest.js';
import { workerEnvironment } from '../lib/accounts/hub.js';
import { type AccountRun, AccountRunError, runAccount } from '../lib/accounts/run-account.js';
import { processAccountBatch } from '../lib/accounts/worker.js';
import type { Alert } from '../lib/alerts/alerts.js';
import { alertEnvironment, functionAlerting } from '../lib/alerts/setup.js';
import { createClients, defaultRegion } from '../lib/aws/clients.js';
import { createDynamoDb } from '../lib/aws/dynamodb.js';
import { signedSns } from '../lib/aws/sns-signed.js';
import { systemClock } from '../lib/clock.js';
import { lambdaConfig } from '../lib/lambda-config.js';
import { createLogger, redactErrors } from '../lib/log.js';
import { noMetrics } from '../lib/metrics.js';

const logger = createLogger();
/** The hub's own clients: STS assumes the member roles; Secrets Manager reads the Slack webhooks. */
const clients = createClients();
const environment = workerEnvironment();
/** The hub's alert topic, ledger and stage (serverless.hub.yml); Slack from the config. */
const alerting = functionAlerting({
  clients,
  sns: signedSns({ credentials: clients.iam.config.credentials }),
  clock: systemClock,
  log: logger,
});
/** The organization's digests are kept in the hub's alert ledger table until a run's last account is done. */
const { ledgerTable } = alertEnvironment('dev');
const digestStore = ledgerTable
  ? dynamoDigestStore(createDynamoDb({ credentials: clients.iam.config.credentials }), ledgerTable)
  : undefined;
/** The alerts carry their owners and Slack channels already (read in the member account). */
const asRouted = { routes: new Map() };

/**
 * Organization mode, in the hub: one message per member account (the event source mapping's maximum
 * concurrency caps how many accounts run at once) -> the member role assumed there -> scan, rotations
 * started and retirement in that account -> retirement's alerts (with the account's alias) to the
 * hub's notifiers, and the account's share of the run's digests, sent as one digest per owner by the
 * run's last account. Failed messages are reported one by one (partial batch response): SQS retries
 * only those, then parks them on the dead-letter queue; on the last attempt the account is recorded as
 * missing from the digests.
 */
export const lambdaHandler = async (event: SQSEvent) => {
  const config = await lambdaConfig();
  const send = alerting.forRun(config, noMetrics);
  const digest = digestStore
    ? { store: digestStore, send: (alerts: Alert[]) => send.send(alerts, asRouted) }
    : undefined;
  const { response, outcomes } = await processAccountBatch(
    event.Records,
    async (message, record: SQSRecord) => {
      let run: AccountRun;
      try {
        run = await runAccount(
          {
            sts: clients.sts,
            clock: systemClock,
            role: environment.role,
            rotateFunctionName: environment.rotateFunctionName,
            region: defaultRegion(),
          },
          config,
          message,
        );
      } catch (error) {
        // Retirement failed for some users: the run was done, and its alerts say which (the ledger
        // sends each once however often the message is retried).
        if (error instanceof AccountRunError) await send.send(error.run.alerts, asRouted);
        // On the last attempt before the dead-letter queue, the account is recorded as missing so the
        // run's digests still go out. The account's own error is what fails the message.
        if (digest)
          await digestAfterRun(digest, message, {
            error,
            receiveCount: Number(record.attributes.ApproximateReceiveCount),
            maxReceiveCount: environment.maxReceiveCount,
          }).catch((digestError: unknown) =>
            logger.error('account not recorded as missing from the digests', {
              account: message.accountId,
              error: digestError as Error,
            }),
          );
        throw error;
      }
      const alerts = await send.send(run.alerts, asRouted);
      const digests = digest ? await digestAfterRun(digest, message, { share: run.digest }) : undefined;
      logger.info('account done', {
        account: run.accountId,
        alias: run.alias,
        scan: run.scan,
        retirement: run.retirement,
        alerts,
        ...(digests ? { digestsSent: digests.sent } : {}),
      });
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
