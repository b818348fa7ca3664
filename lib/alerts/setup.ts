import type { IAMClient } from '@aws-sdk/client-iam';
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createDynamoDb, type DynamoDb } from '../aws/dynamodb.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import { ConfigError } from '../errors.js';
import type { MetricsPort } from '../metrics.js';
import { type Alert, type Routing, withOwners } from './alerts.js';
import { dynamoLedger } from './ledger.js';
import {
  type AlertingDeps,
  type AlertLog,
  type AlertSummary,
  type Notifier,
  sendAlerts,
} from './notifier.js';
import { userRoutes } from './owners.js';
import { slackNotifier } from './slack.js';
import { type SnsPort, snsNotifier } from './sns.js';

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
  sns?: SnsPort;
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

/** What a function sends alerts with during one invocation. */
export interface FunctionAlerting {
  /** The notifiers, ledger and the rest (a handler may call sendAlerts itself). */
  deps: AlertingDeps;
  /** Whether any notifier is configured (the topic, or Slack). */
  enabled: boolean;
  /**
   * Routes each alert to its user's owner and Slack channel, then sends it once per remind window.
   * The routes are read with iam:ListUserTags for the users alerted about, unless given (the scan has
   * every user's tags already); nothing is read when nothing is configured. Never throws for a
   * notifier; see sendAlerts.
   */
  send(
    alerts: readonly Alert[],
    options?: {
      routes?: ReadonlyMap<string, Routing>;
      enrich?: (alert: Alert) => Promise<Alert>;
    },
  ): Promise<AlertSummary>;
}

/**
 * The alerting wiring every function shares: built once per container with its clients (the SNS port
 * differs: the SDK client, or the signed Publish that keeps a bundle small), then `forRun(config,
 * metrics)` per invocation. The environment (ALERT_TOPIC_ARN, ALERT_LEDGER_TABLE, KEYROT_STAGE) is
 * read per run; the ledger's DynamoDB signer is made once, when a table is named.
 */
export function functionAlerting(input: {
  clients: { iam: IAMClient; secrets: SecretsManagerClient };
  sns: SnsPort;
  clock: Clock;
  log: AlertLog;
  /** The stage when KEYROT_STAGE is not set. */
  defaultStage?: string;
}): { forRun(config: Pick<Config, 'alerts' | 'ownerTag'>, metrics: MetricsPort): FunctionAlerting } {
  const { clients } = input;
  let dynamoDb: DynamoDb | undefined;
  return {
    forRun(config, metrics) {
      const environment = alertEnvironment(input.defaultStage ?? 'dev');
      if (environment.ledgerTable)
        dynamoDb ??= createDynamoDb({ credentials: clients.iam.config.credentials });
      const deps = createAlerting({
        config,
        environment,
        sns: input.sns,
        secrets: clients.secrets,
        ...(dynamoDb ? { dynamoDb } : {}),
        clock: input.clock,
        log: input.log,
        metrics,
      });
      const enabled = deps.notifiers.length > 0;
      return {
        deps,
        enabled,
        async send(alerts, options = {}) {
          if (!enabled || alerts.length === 0) return sendAlerts(deps, alerts);
          const routes =
            options.routes ??
            (await userRoutes(
              clients.iam,
              alerts.flatMap((a) => (a.userName ? [a.userName] : [])),
              config.ownerTag,
            ));
          return sendAlerts(deps, withOwners(alerts, routes), options.enrich);
        },
      };
    },
  };
}
