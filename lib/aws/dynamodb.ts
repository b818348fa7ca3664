import { Sha256 } from '@smithy/core/checksum';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { KeyrotError } from '../errors.js';
import { defaultRegion, endpointOverride } from './clients.js';

/**
 * The three DynamoDB calls the alert ledger makes, over DynamoDB's JSON API, signed with the SDK's own
 * SigV4 signer and sent with its HTTP handler. Why not @aws-sdk/client-dynamodb: it adds 41 KB to each
 * bundle (its error classes, schemas and endpoint rules), which would take the retire bundle over the
 * 400 KB budget; the ledger needs PutItem and DeleteItem with a condition, nothing more.
 */
export interface DynamoDb {
  send(
    operation: 'PutItem' | 'DeleteItem' | 'GetItem' | 'UpdateItem' | 'BatchGetItem',
    input: Record<string, unknown>,
  ): Promise<unknown>;
}

/** DynamoDB refused a call; `name` is DynamoDB's error type (ConditionalCheckFailedException, ...). */
export class DynamoDbError extends KeyrotError {
  readonly $metadata: { httpStatusCode: number };
  constructor(
    name: string,
    message: string,
    readonly $operation: string,
    status: number,
  ) {
    super(message);
    this.name = name;
    this.$metadata = { httpStatusCode: status };
  }
}

export interface DynamoDbOptions {
  /** The identity to sign with: pass another client's (`clients.iam.config.credentials`). */
  credentials: AwsCredentialIdentityProvider | AwsCredentialIdentity;
  region?: string;
  /** Defaults to AWS_ENDPOINT_URL, then the regional endpoint. */
  endpoint?: string;
  requestHandler?: { handle: NodeHttpHandler['handle'] };
  /** Attempts per call for throttling, 5xx and network errors. */
  maxAttempts?: number;
  sleep?: (ms: number) => Promise<void>;
}

const RETRYABLE =
  /Throttl|ProvisionedThroughputExceeded|RequestLimitExceeded|InternalServerError|ServiceUnavailable/;

export function createDynamoDb(options: DynamoDbOptions): DynamoDb {
  const region = options.region ?? defaultRegion();
  const endpoint = new URL(
    options.endpoint ?? endpointOverride() ?? `https://dynamodb.${region}.amazonaws.com`,
  );
  const signer = new SignatureV4({
    service: 'dynamodb',
    region,
    credentials: options.credentials,
    sha256: Sha256,
  });
  const handler =
    options.requestHandler ??
    new NodeHttpHandler({ connectionTimeout: 5_000, requestTimeout: 10_000, throwOnRequestTimeout: true });
  const maxAttempts = options.maxAttempts ?? 4;
  const sleep = options.sleep ?? ((ms: number) => new Promise((resolve) => setTimeout(resolve, ms)));

  async function once(operation: string, body: string): Promise<unknown> {
    const request = new HttpRequest({
      method: 'POST',
      protocol: endpoint.protocol,
      hostname: endpoint.hostname,
      ...(endpoint.port ? { port: Number(endpoint.port) } : {}),
      path: endpoint.pathname,
      headers: {
        host: endpoint.host,
        'content-type': 'application/x-amz-json-1.0',
        'x-amz-target': `DynamoDB_20120810.${operation}`,
      },
      body,
    });
    const signed = await signer.sign(request);
    const { response } = await handler.handle(signed as HttpRequest);
    const text = await readBody(response.body);
    const parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    if (response.statusCode >= 200 && response.statusCode < 300) return parsed;
    const type = String(parsed.__type ?? `HTTP${response.statusCode}`);
    const name = type.slice(type.lastIndexOf('#') + 1);
    const message = String(parsed.message ?? parsed.Message ?? name);
    throw new DynamoDbError(name, message, `dynamodb:${operation}`, response.statusCode);
  }

  return {
    async send(operation, input) {
      const body = JSON.stringify(input);
      for (let attempt = 1; ; attempt++) {
        try {
          return await once(operation, body);
        } catch (error) {
          const retryable =
            !(error instanceof DynamoDbError) ||
            error.$metadata.httpStatusCode >= 500 ||
            RETRYABLE.test(error.name);
          if (!retryable || attempt >= maxAttempts) throw error;
          await sleep(Math.min(2_000, 50 * 2 ** attempt * Math.random() + 50));
        }
      }
    },
  };
}

export async function readBody(body: unknown): Promise<string> {
  if (body === undefined || body === null) return '';
  if (typeof body === 'string') return body;
  const chunks: Buffer[] = [];
  for await (const chunk of body as AsyncIterable<Buffer | string>) {
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
