import { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import { IAMClient } from '@aws-sdk/client-iam';
import { OrganizationsClient } from '@aws-sdk/client-organizations';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import { STSClient } from '@aws-sdk/client-sts';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type {
  AwsCredentialIdentity,
  AwsCredentialIdentityProvider,
  InitializeMiddleware,
  MetadataBearer,
  RetryStrategyV2,
} from '@smithy/types';
import { AdaptiveRetryStrategy } from '@smithy/util-retry';

/** The AWS clients keyrot uses, built once and passed into lib functions as `deps`. */
export interface AwsClients {
  iam: IAMClient;
  sts: STSClient;
  secrets: SecretsManagerClient;
  /** An STS client that signs with the given key (to prove a new key works). One attempt per call. */
  stsWith(credentials: { accessKeyId: string; secretAccessKey: string }): STSClient;
}

export interface ClientOptions {
  /** Defaults to AWS_REGION, then AWS_DEFAULT_REGION, then us-east-1 (IAM is global). */
  region?: string;
  /** Total attempts per call, including retries of throttling, 5xx and network errors. */
  maxAttempts?: number;
  /** Replaces the SDK's adaptive retry strategy (tests use it to make backoff instant). */
  retryStrategy?: RetryStrategyV2;
  /** Counts every command sent, by operation name (benchmarks and tests). */
  callCounter?: CallCounter;
  /** Replaces the HTTP handler (tests use it to inject throttling or failures below the SDK). */
  requestHandler?: NodeHttpHandler | { handle: NodeHttpHandler['handle'] };
  /** Signs with these instead of the default provider chain (an assumed role, for example; a provider is
   * asked again whenever the SDK finds its credentials expiring). */
  credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
}

/** Operation name -> number of calls. Pages and retries of one call count once per page. */
export type CallCounter = Map<string, number>;

export function totalCalls(counter: CallCounter): number {
  let total = 0;
  for (const count of counter.values()) total += count;
  return total;
}

/** The endpoint override, if one is set (AWS_ENDPOINT_URL points keyrot at a local emulator). */
export function endpointOverride(): string | undefined {
  return process.env.AWS_ENDPOINT_URL || undefined;
}

export function defaultRegion(): string {
  return process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION || 'us-east-1';
}

function newHttpHandler(): NodeHttpHandler {
  return new NodeHttpHandler({
    connectionTimeout: 5_000,
    requestTimeout: 30_000,
    throwOnRequestTimeout: true,
  });
}

/** AWS_MAX_ATTEMPTS (the SDK's own variable) when set to a whole number, else 8. */
function maxAttemptsFromEnv(): number {
  const value = Number(process.env.AWS_MAX_ATTEMPTS);
  return Number.isInteger(value) && value > 0 ? value : 8;
}

/**
 * IAM's LimitExceeded is a quota (two keys per user), not a rate, but the SDK classes it with
 * throttling and backs off for ~25 s before giving up. Give it up at once; retry everything else.
 */
export function withoutQuotaRetries(inner: RetryStrategyV2): RetryStrategyV2 {
  return {
    acquireInitialRetryToken: (scope) => inner.acquireInitialRetryToken(scope),
    refreshRetryTokenForRetry: (token, info) => {
      if (/^LimitExceeded/.test(info.error?.name ?? '')) throw info.error;
      return inner.refreshRetryTokenForRetry(token, info);
    },
    recordSuccess: (token) => inner.recordSuccess(token),
  };
}

/** The settings every client shares: region, retries (adaptive), HTTP handler, credentials. */
function commonSettings(options: ClientOptions) {
  const maxAttempts = options.maxAttempts ?? maxAttemptsFromEnv();
  return {
    region: options.region ?? defaultRegion(),
    maxAttempts,
    retryMode: 'adaptive',
    ...(options.retryStrategy ? { retryStrategy: options.retryStrategy } : {}),
    requestHandler: options.requestHandler ?? newHttpHandler(),
    ...(options.credentials ? { credentials: options.credentials } : {}),
  };
}

export function createClients(options: ClientOptions = {}): AwsClients {
  const common = commonSettings(options);
  const { maxAttempts } = common;
  const iam = new IAMClient({
    ...common,
    retryStrategy: withoutQuotaRetries(
      options.retryStrategy ?? new AdaptiveRetryStrategy(async () => maxAttempts),
    ),
  });
  const sts = new STSClient(common);
  const secrets = new SecretsManagerClient(common);
  for (const client of [iam, sts, secrets]) instrument(client, options.callCounter);
  const stsWith: AwsClients['stsWith'] = (credentials) => {
    // The caller polls for IAM's eventual consistency itself, so the SDK must not retry on its own.
    // Its own HTTP handler: destroying this short-lived client must not close the shared connections
    // that other calls are still using.
    const client = new STSClient({
      ...common,
      maxAttempts: 1,
      retryStrategy: undefined,
      credentials,
      requestHandler: options.requestHandler ?? newHttpHandler(),
    });
    instrument(client, options.callCounter);
    return client;
  };
  return { iam, sts, secrets, stsWith };
}

/** The part of an SDK client that `instrument` needs. */
interface MiddlewareClient {
  config: { serviceId?: string };
  middlewareStack: {
    add(
      middleware: InitializeMiddleware<object, MetadataBearer>,
      options: { step: 'initialize'; name: string; priority: 'high' },
    ): void;
  };
}

/**
 * Adds keyrot's middleware to a client: every error names the operation that failed (`$operation`),
 * so messages can say "AWS denied iam:ListAccessKeys" instead of a bare "Access denied"; and every
 * command is counted when a counter is given.
 */
export function instrument(client: MiddlewareClient, counter?: CallCounter): void {
  const service = client.config.serviceId?.toLowerCase().replace(/\s+/g, '') ?? 'aws';
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const operation = `${service}:${String(context.commandName).replace(/Command$/, '')}`;
      if (counter) counter.set(operation, (counter.get(operation) ?? 0) + 1);
      try {
        return await next(args);
      } catch (error) {
        if (error instanceof Error && !('$operation' in error)) {
          Object.defineProperty(error, '$operation', { value: operation, enumerable: false });
        }
        throw error;
      }
    },
    { step: 'initialize', name: 'keyrotInstrument', priority: 'high' },
  );
}

/** An SNS client for alerts, with the same settings as the others (only scan and retire publish). */
export function createSnsClient(options: ClientOptions = {}): SNSClient {
  const client = new SNSClient(commonSettings(options));
  instrument(client, options.callCounter);
  return client;
}

/** A CloudTrail client for LookupEvents (who still uses a held key); only retire and status use it. */
export function createCloudTrailClient(options: ClientOptions = {}): CloudTrailClient {
  const client = new CloudTrailClient(commonSettings(options));
  instrument(client, options.callCounter);
  return client;
}

/** An Organizations client (organization mode: the hub lists accounts), with the same settings. */
export function createOrganizationsClient(options: ClientOptions = {}): OrganizationsClient {
  const client = new OrganizationsClient(commonSettings(options));
  instrument(client, options.callCounter);
  return client;
}
