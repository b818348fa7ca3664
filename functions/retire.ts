import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context, ScheduledEvent } from 'aws-lambda';
import { retirementAlerts, withOwners } from '../lib/alerts/alerts.js';
import { userOwners } from '../lib/alerts/owners.js';
import { deliverAlerts } from '../lib/alerts/sns.js';
import { createClients, createSnsClient } from '../lib/aws/clients.js';
import { systemClock } from '../lib/clock.js';
import { lambdaConfig } from '../lib/lambda-config.js';
import { createLogger } from '../lib/log.js';
import { retireAll } from '../lib/retirement/retire.js';

const logger = createLogger();
const clients = createClients();
const sns = createSnsClient();
/** The alert topic; serverless.yml sets it. Without it, alerts are only logged. */
const alertTopicArn = process.env.ALERT_TOPIC_ARN || undefined;

/**
 * Daily: retire the keys rotation replaced (deactivate when idle, delete later). A key still in use is
 * held and logged for its owner, escalated once escalateAfterDays have passed.
 */
export const lambdaHandler = async (_event: ScheduledEvent, context: Context) => {
  const config = await lambdaConfig();
  const results = await retireAll({ clients, clock: systemClock }, config, systemClock.now());
  const summary = {
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
      // Reported (and alerted) every run until fixed; keyrot touched none of its keys.
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
  const accountId = context.invokedFunctionArn.split(':')[4] ?? '';
  // Owners are read (iam:ListUserTags) only for the users there is something to tell, and only when
  // there is a topic to tell it on.
  const found = retirementAlerts(accountId, results);
  const alerts = alertTopicArn
    ? withOwners(
        found,
        await userOwners(
          clients.iam,
          found.flatMap((a) => (a.userName ? [a.userName] : [])),
          config.ownerTag,
        ),
      )
    : found;
  // Alerts that could not be published fail the invocation (Lambda retries it; a rerun is safe),
  // after the summary is logged.
  const delivery = await deliverAlerts(sns, alertTopicArn, alerts);
  const complete = { ...summary, alerts: alerts.length, alertsPublished: delivery.published };
  logger.info('retirement complete', { summary: complete });
  if (summary.failed > 0) throw new Error(`Retirement failed for ${summary.failed} user(s); see the log.`);
  if (delivery.error) throw delivery.error;
  return complete;
};

export const handler = middy(lambdaHandler).use(injectLambdaContext(logger));
