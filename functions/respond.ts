import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import { keyUsageLookup } from '../lib/alerts/key-usage.js';
import { functionAlerting } from '../lib/alerts/setup.js';
import { createClients } from '../lib/aws/clients.js';
import { signedCloudTrail } from '../lib/aws/cloudtrail-signed.js';
import { signedSns } from '../lib/aws/sns-signed.js';
import { systemClock } from '../lib/clock.js';
import { lambdaConfig } from '../lib/lambda-config.js';
import { leakAlerts, withExposedKeyCalls } from '../lib/leak/alerts.js';
import { parseExposedKeysEvent } from '../lib/leak/event.js';
import { respondToLeak } from '../lib/leak/respond.js';
import { createLogger, redactErrors } from '../lib/log.js';
import { createMetrics, powertoolsMetrics } from '../lib/metrics.js';
import { rotationDeps } from '../lib/rotation/deps.js';

const logger = createLogger();
const clients = createClients();
const metrics = createMetrics();
/** The alert topic, ledger and stage come from serverless.yml's environment, Slack from the config. */
const alerting = functionAlerting({
  clients,
  // A signed Publish, not the SNS client: it keeps the bundle within 400 KB with the target adapters.
  sns: signedSns({ credentials: clients.iam.config.credentials }),
  clock: systemClock,
  log: logger,
});
// What the exposed key did, for the alert: a signed LookupEvents, for the same reason as the Publish.
const cloudtrail = signedCloudTrail({ credentials: clients.iam.config.credentials });

/**
 * EventBridge (AWS Health, AWS_RISK_CREDENTIALS_EXPOSED) -> an emergency rotation of each exposed
 * machine-user key -> critical alerts for owners (once per key and outcome). A key whose response
 * failed fails the invocation after the alerts (EventBridge retries; the response is idempotent).
 */
export const lambdaHandler = async (raw: unknown) => {
  const event = parseExposedKeysEvent(raw);
  const config = await lambdaConfig();
  const outcomes = await respondToLeak(rotationDeps(clients, systemClock, config), config, event);
  for (const outcome of outcomes) {
    (outcome.outcome === 'failed' ? logger.error : logger.warn).call(logger, 'leak response', { outcome });
  }
  // A failed alert is logged and counted (AlertsFailed has an alarm); it never fails the response.
  // What the exposed key did (CloudTrail), once per key, only for alerts the ledger lets through.
  const usage = keyUsageLookup(cloudtrail, undefined, (accessKeyId, error) =>
    logger.warn('CloudTrail lookup failed', { accessKeyId, error: error as Error }),
  );
  const delivery = await alerting
    .forRun(config, powertoolsMetrics(metrics))
    .send(leakAlerts(event, outcomes), { enrich: withExposedKeyCalls(usage) });
  const failed = outcomes.filter((o) => o.outcome === 'failed').length;
  const summary = {
    eventId: event.eventId,
    keys: outcomes.length,
    rotated: outcomes.filter((o) => o.outcome === 'rotated').length,
    alreadyHandled: outcomes.filter((o) => o.outcome === 'already-handled').length,
    reportedOnly: outcomes.filter((o) => o.outcome === 'not-managed' || o.outcome === 'unknown').length,
    failed,
    alerts: delivery,
  };
  logger.info('leak response complete', { summary });
  if (failed > 0) throw new Error(`The leak response failed for ${failed} key(s); see the log.`);
  return summary;
};

// A thrown error is printed by the Lambda runtime, outside the logger: it is scrubbed of key material
// (redactErrors is used last, so its onError runs first).
export const handler = middy(lambdaHandler)
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics))
  .use(redactErrors());
