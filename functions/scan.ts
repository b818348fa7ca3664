import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { ScheduledEvent } from 'aws-lambda';
import { driftAlerts, scanAlerts } from '../lib/alerts/alerts.js';
import { SLACK_CHANNEL_TAG } from '../lib/alerts/owners.js';
import { functionAlerting } from '../lib/alerts/setup.js';
import { createClients, createSnsClient } from '../lib/aws/clients.js';
import { sdkSns } from '../lib/aws/sns.js';
import { systemClock } from '../lib/clock.js';
import { lambdaConfig } from '../lib/lambda-config.js';
import { createLogger, redactErrors } from '../lib/log.js';
import { createMetrics, powertoolsMetrics } from '../lib/metrics.js';
import { startRotations } from '../lib/rotation/start.js';
import { recordScanMetrics, scanAccount, scanTargetDrift, summarize } from '../lib/scan.js';

const logger = createLogger();
const metrics = createMetrics();
const clients = createClients();
/** The rotate function; serverless.yml sets it. Without it the scan only reports. */
const rotateFunctionArn = process.env.ROTATE_FUNCTION_ARN || undefined;
/** The alert topic, ledger and stage come from serverless.yml; without a topic or Slack, findings are only logged. */
const alerting = functionAlerting({
  clients,
  sns: sdkSns(createSnsClient()),
  clock: systemClock,
  log: logger,
});

/**
 * EventBridge schedule -> inventory and plan of the account -> Secrets Manager rotations started for
 * the machine users that are due -> a digest per owner -> a structured summary and metrics.
 */
export const lambdaHandler = async (_event: ScheduledEvent) => {
  const config = await lambdaConfig();
  const port = powertoolsMetrics(metrics);
  const now = systemClock.now();
  const result = await scanAccount({ clients, clock: systemClock }, config, now);
  for (const action of result.plan.actions) {
    logger.info('planned action', {
      action: { kind: action.kind, user: action.userName, key: action.key, reason: action.reason },
    });
  }
  recordScanMetrics(port, result, now);
  const rotations = rotateFunctionArn
    ? await startRotations(clients.secrets, result.plan, config, rotateFunctionArn, result.inventory)
    : [];
  for (const rotation of rotations) {
    if (rotation.outcome === 'failed') logger.error('rotation not started', { rotation });
    else if (rotation.outcome === 'stuck') logger.error('rotation stuck', { rotation });
    else if (rotation.outcome === 'started' || rotation.outcome === 'onboarded')
      logger.info('rotation started', { rotation });
    else logger.info('rotation not started now', { rotation });
  }
  // Drift: targets whose recorded key is not AWSCURRENT's (a rollback or rotation that did not reach
  // them); `keyrot status` reads their live fingerprints.
  const drift = await scanTargetDrift(clients.secrets, config);
  for (const finding of drift)
    logger.warn("target drift: the target does not hold AWSCURRENT's key", { drift: finding });
  const count = (...outcomes: string[]) => rotations.filter((r) => outcomes.includes(r.outcome)).length;
  const summary = {
    ...summarize(result),
    targetDrift: drift.length,
    rotationsStarted: count('started', 'onboarded'),
    rotationsInProgress: count('in-progress'),
    rotationsStuck: count('stuck'),
    rotationsRecentlyRotated: count('recently-rotated'),
    rotationsQueued: count('queued'),
    rotationsFailed: count('failed'),
  };
  // Owners and Slack channels from the inventory's tags: no call needed.
  const routes = new Map(
    result.inventory.users.map((u) => {
      const owner = u.tags[config.ownerTag];
      const slackChannel = u.tags[SLACK_CHANNEL_TAG];
      return [
        u.userName,
        { ...(owner ? { owner } : {}), ...(slackChannel ? { slackChannel } : {}) },
      ] as const;
    }),
  );
  const channels = new Map(
    [...routes].flatMap(([userName, r]) => (r.slackChannel ? [[userName, r.slackChannel] as const] : [])),
  );
  // A digest per owner, and one alert per drifted target (each once per remind window, again at once
  // when what the target holds changes). A failed alert is logged and counted (AlertsFailed, which has
  // an alarm); it never fails the scan.
  const alerts = await alerting
    .forRun(config, port)
    .send([...scanAlerts(result.plan, rotations, channels), ...driftAlerts(result.plan.accountId, drift)], {
      routes,
    });
  const complete = { ...summary, alerts };
  logger.info('scan complete', { summary: complete });
  return complete;
};

// A thrown error is printed by the Lambda runtime, outside the logger: it is scrubbed of key material
// (redactErrors is used last, so its onError runs first).
export const handler = middy(lambdaHandler)
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics))
  .use(redactErrors());
