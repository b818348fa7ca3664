import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context, ScheduledEvent } from 'aws-lambda';
import { retirementAlerts } from '../lib/alerts/alerts.js';
import { keyUsageLookup } from '../lib/alerts/key-usage.js';
import { functionAlerting } from '../lib/alerts/setup.js';
import { createClients, createCloudTrailClient } from '../lib/aws/clients.js';
import { cloudTrailLookup } from '../lib/aws/cloudtrail.js';
import { signedSns } from '../lib/aws/sns-signed.js';
import { systemClock } from '../lib/clock.js';
import { lambdaConfig } from '../lib/lambda-config.js';
import { createLogger, redactErrors } from '../lib/log.js';
import { createMetrics, powertoolsMetrics } from '../lib/metrics.js';
import { retireAccount } from '../lib/retirement/retire.js';

const logger = createLogger();
const metrics = createMetrics();
const clients = createClients();
// Who still uses a key is a detail: a CloudTrail that keeps failing is not waited for.
const cloudtrail = createCloudTrailClient({ maxAttempts: 3 });
/** The alert topic, ledger and stage come from serverless.yml; without a topic or Slack, alerts are only logged. */
const alerting = functionAlerting({
  clients,
  // A signed Publish, not the SNS client: 22 KB less, which keeps the bundle well within 400 KB.
  sns: signedSns({ credentials: clients.iam.config.credentials }),
  clock: systemClock,
  log: logger,
});

/**
 * Daily: retire the keys rotation replaced (deactivate when idle, delete later). A key still in use is
 * held and its owner told who still uses it (CloudTrail), escalated once escalateAfterDays have passed.
 */
export const lambdaHandler = async (_event: ScheduledEvent, context: Context) => {
  const config = await lambdaConfig();
  const port = powertoolsMetrics(metrics);
  const { selection, results } = await retireAccount(
    { clients, clock: systemClock },
    config,
    systemClock.now(),
  );
  const summary = {
    machineUsers: selection.machineUsers,
    managed: selection.managed,
    selected: selection.selected.length,
    users: results.length,
    deactivated: 0,
    deleted: 0,
    held: 0,
    escalated: 0,
    kept: 0,
    broken: 0,
    failed: 0,
  };
  for (const result of results) {
    if ('error' in result) {
      summary.failed++;
      logger.error('retirement failed', { user: result.userName, error: result.error as Error });
      continue;
    }
    if (result.broken) {
      // Logged every run until fixed, alerted once per remind window; keyrot touched none of its keys.
      summary.broken++;
      logger.error('machine user is broken', { user: result.userName, broken: result.broken });
      continue;
    }
    for (const refused of result.refused ?? []) {
      summary.kept++;
      logger.warn('key guard kept a key', {
        user: result.userName,
        accessKeyId: refused.decision.accessKeyId,
        reason: refused.reason,
      });
    }
    for (const d of result.decisions) {
      if (d.kind === 'hold') {
        summary.held++;
        if (d.escalate) summary.escalated++;
        (d.escalate ? logger.error : logger.warn).call(logger, 'replaced key still in use', {
          user: result.userName,
          accessKeyId: d.accessKeyId,
          lastUsedAt: result.state.keys.find((k) => k.accessKeyId === d.accessKeyId)?.lastUsedAt,
          escalate: d.escalate === true,
          reason: d.reason,
        });
      }
    }
    for (const d of result.applied) {
      if (d.kind === 'deactivate') summary.deactivated++;
      if (d.kind === 'delete') summary.deleted++;
      logger.info('retirement step', {
        user: result.userName,
        accessKeyId: d.accessKeyId,
        kind: d.kind,
        reason: d.reason,
      });
    }
  }
  port.add('HeldKeys', summary.held);
  const accountId = context.invokedFunctionArn.split(':')[4] ?? '';
  // Who still uses a held key: CloudTrail, once per key, only for alerts the ledger lets through.
  const usage = keyUsageLookup(cloudTrailLookup(cloudtrail), undefined, (accessKeyId, error) =>
    logger.warn('CloudTrail lookup failed', { accessKeyId, error: error as Error }),
  );
  // Owners and channels are read (iam:ListUserTags) only for the users there is something to tell,
  // and only when there is somewhere to tell it.
  const delivery = await alerting.forRun(config, port).send(retirementAlerts(accountId, results), {
    enrich: async (alert) => {
      if (alert.kind !== 'key-in-use' || alert.accessKeyId === undefined) return alert;
      const found = await usage(alert.accessKeyId);
      return found ? { ...alert, usage: found } : alert;
    },
  });
  const complete = { ...summary, alerts: delivery };
  logger.info('retirement complete', { summary: complete });
  if (summary.failed > 0) throw new Error(`Retirement failed for ${summary.failed} user(s); see the log.`);
  return complete;
};

// A thrown error is printed by the Lambda runtime, outside the logger: it is scrubbed of key material
// (redactErrors is used last, so its onError runs first).
export const handler = middy(lambdaHandler)
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics))
  .use(redactErrors());
