import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SNSClient } from '@aws-sdk/client-sns';
import type { DynamoDb } from '../aws/dynamodb.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import { ConfigError } from '../errors.js';
import type { MetricsPort } from '../metrics.js';
import { dynamoLedger } from './ledger.js';
import type { AlertingDeps, AlertLog, Notifier } from './notifier.js';
import { slackNotifier } from './slack.js';
import { snsNotifier } from './sns.js';

/** Where alerts go, from the environment serverless.yml sets (the CLI reads the same variables). */
export interface AlertEnvironment {
  /** ALERT_TOPIC_ARN: the SNS topic. */
  topicArn?: string;
  /** ALERT_LEDGER_TABLE: the dedup ledger's DynamoDB table. */
  ledgerTable?: string;
  /** KEYROT_STAGE: the stage named in each alert's context line. */
  stage: string;
}

export function alertEnvironment(
  defaultStage: string,
  env: NodeJS.ProcessEnv = process.env,
): AlertEnvironment {
  return {
    ...(env.ALERT_TOPIC_ARN ? { topicArn: env.ALERT_TOPIC_ARN } : {}),
    ...(env.ALERT_LEDGER_TABLE ? { ledgerTable: env.ALERT_LEDGER_TABLE } : {}),
    stage: env.KEYROT_STAGE || defaultStage,
  };
}

/**
 * Reads a Slack webhook URL from its secret, once per secret per container. The value is the URL
 * itself (or JSON with a `url` field). It is never logged or put in an error message.
 */
export function webhookUrlReader(secrets: SecretsManagerClient): (secretId: string) => Promise<string> {
  const cache = new Map<string, Promise<string>>();
  const read = async (secretId: string) => {
    const { SecretString = '' } = await secrets.send(new GetSecretValueCommand({ SecretId: secretId }));
    let value = SecretString.trim();
    if (value.startsWith('{')) {
      try {
        value = String((JSON.parse(value) as { url?: unknown }).url ?? '');
      } catch {
        value = '';
      }
    }
    let url: URL | undefined;
    try {
      url = new URL(value);
    } catch {
      url = undefined;
    }
    if (url === undefined || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
      throw new ConfigError(
        `Secret ${secretId} does not hold a Slack webhook URL; store the channel's incoming-webhook URL (https://hooks.slack.com/services/...) as its value.`,
      );
    }
    return url.toString();
  };
  return (secretId) => {
    let found = cache.get(secretId);
    if (found === undefined) {
      found = read(secretId);
      // A failed read is tried again next time.
      found.catch(() => cache.delete(secretId));
      cache.set(secretId, found);
    }
    return found;
  };
}

export interface AlertingInput {
  config: Pick<Config, 'alerts'>;
  environment: AlertEnvironment;
  /** Needed when a topic is set. */
  sns?: SNSClient;
  secrets: SecretsManagerClient;
  /** Needed when a ledger table is set. */
  dynamoDb?: DynamoDb;
  clock: Clock;
  log: AlertLog;
  metrics: MetricsPort;
  fetch?: typeof fetch;
}

/** The notifiers, ledger and the rest that sendAlerts needs, from config and environment. */
export function createAlerting(input: AlertingInput): AlertingDeps {
  const notifiers: Notifier[] = [];
  const { topicArn, ledgerTable, stage } = input.environment;
  if (topicArn && input.sns) notifiers.push(snsNotifier(input.sns, topicArn));
  const slack = input.config.alerts.slack;
  if (slack) {
    notifiers.push(
      slackNotifier({
        channels: slack.channels,
        ...(slack.defaultChannel ? { defaultChannel: slack.defaultChannel } : {}),
        timeoutMs: slack.timeoutSeconds * 1000,
        webhookUrl: webhookUrlReader(input.secrets),
        ...(input.fetch ? { fetch: input.fetch } : {}),
      }),
    );
  }
  return {
    notifiers,
    ...(ledgerTable && input.dynamoDb
      ? { ledger: dynamoLedger(input.dynamoDb, ledgerTable, input.config.alerts.remindEveryDays) }
      : {}),
    metrics: input.metrics,
    log: input.log,
    clock: input.clock,
    stage,
  };
}
