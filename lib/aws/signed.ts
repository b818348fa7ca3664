import { Sha256 } from '@smithy/core/checksum';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { KeyrotError } from '../errors.js';
import { defaultRegion, endpointOverride } from './clients.js';

/**
 * One signed AWS call, for the few operations that don't earn their SDK client's bytes: DynamoDB's
 * three ledger calls (the client adds 41 KB), sns:Publish in the rotate and respond functions (22 KB),
 * the aws-ssm target's two calls (76 KB), and the leak response's cloudtrail:LookupEvents (42 KB); with
 * those clients the bundles would pass 400 KB. The request is signed with the SDK's own SigV4 signer
 * and sent with its HTTP handler; throttling, 5xx, timeouts and network errors are retried with
 * backoff, like the SDK's standard retry mode.
 */
export interface SignedCallOptions {
  /** The identity to sign with: pass another client's (`clients.iam.config.credentials`). */
  credentials: AwsCredentialIdentityProvider | AwsCredentialIdentity;
  region?: string;
  /** Defaults to AWS_ENDPOINT_URL, then the service's regional endpoint. */
  endpoint?: string;
  requestHandler?: { handle: NodeHttpHandler['handle'] };
  /** Attempts per call for throttling, 5xx and network errors. */
  maxAttempts?: number;
  requestTimeoutMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

/** How one AWS protocol frames a request and names its errors. */
export interface SignedProtocol {
  /** The signing name, also the endpoint's host prefix. */
  service: string;
  contentType: string;
  /** The X-Amz-Target header of JSON protocols. */
  target?: (operation: string) => string;
  /** The error's name and a message that never quotes the request. */
  error(operation: string, status: number, text: string, headers: Record<string, string>): ErrorShape;
  /** Error names worth another attempt, besides 5xx and no answer. */
  retryable: RegExp;
}

export interface ErrorShape {
  name: string;
  message: string;
}

/**
 * An AWS service refused a signed call, or gave no answer (`TimeoutError`, `NetworkError`, without a
 * status). Shaped as the SDK's errors are: `name` is the service's error type, the status in $metadata.
 */
export class SignedCallError extends KeyrotError {
  readonly $metadata: { httpStatusCode?: number };
  constructor(
    name: string,
    message: string,
    readonly $operation: string,
    status?: number,
  ) {
    super(message);
    this.name = name;
    this.$metadata = status === undefined ? {} : { httpStatusCode: status };
  }
}

export type SignedCall = (operation: string, body: string) => Promise<string>;

export function signedCall(protocol: SignedProtocol, options: SignedCallOptions): SignedCall {
  const region = options.region ?? defaultRegion();
  const endpoint = new URL(
    options.endpoint ?? endpointOverride() ?? `https://${protocol.service}.${region}.amazonaws.com`,
  );
  const signer = new SignatureV4({
    service: protocol.service,
    region,
    credentials: options.credentials,
    sha256: Sha256,
  });
  const timeout = options.requestTimeoutMs ?? 10_000;
  const handler =
    options.requestHandler ??
    new NodeHttpHandler({ connectionTimeout: 5_000, requestTimeout: timeout, throwOnRequestTimeout: true });
  const maxAttempts = options.maxAttempts ?? 4;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const label = (operation: string) => `${protocol.service}:${operation}`;

  async function once(operation: string, body: string): Promise<string> {
    const request = new HttpRequest({
      method: 'POST',
      protocol: endpoint.protocol,
      hostname: endpoint.hostname,
      ...(endpoint.port ? { port: Number(endpoint.port) } : {}),
      path: endpoint.pathname,
      headers: {
        host: endpoint.host,
        'content-type': protocol.contentType,
        ...(protocol.target ? { 'x-amz-target': protocol.target(operation) } : {}),
      },
      body,
    });
    const signed = await signer.sign(request);
    let response: Awaited<ReturnType<NodeHttpHandler['handle']>>['response'];
    let text: string;
    try {
      ({ response } = await handler.handle(signed as HttpRequest));
      text = await readBody(response.body);
    } catch (error) {
      const name =
        error instanceof Error && /Timeout|Abort/.test(error.name) ? 'TimeoutError' : 'NetworkError';
      throw new SignedCallError(name, `${label(operation)}: no answer (${name})`, label(operation));
    }
    if (response.statusCode >= 200 && response.statusCode < 300) return text;
    const shape = protocol.error(operation, response.statusCode, text, response.headers);
    throw new SignedCallError(shape.name, shape.message, label(operation), response.statusCode);
  }

  return async (operation, body) => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await once(operation, body);
      } catch (error) {
        if (!(error instanceof SignedCallError)) throw error;
        const status = error.$metadata.httpStatusCode;
        const retryable = status === undefined || status >= 500 || protocol.retryable.test(error.name);
        if (!retryable || attempt >= maxAttempts) throw error;
        await sleep(Math.min(2_000, 50 * 2 ** attempt * Math.random() + 50));
      }
    }
  };
}

/** The error of AWS's JSON protocols: `__type` (or X-Amzn-ErrorType) names it, maybe `ns#Name`. */
export function jsonError(status: number, text: string, headers: Record<string, string>): ErrorShape {
  let body: { __type?: unknown; message?: unknown; Message?: unknown } = {};
  try {
    body = text ? JSON.parse(text) : {};
  } catch {
    // not JSON (a proxy's page): the status says enough
  }
  const type = String(headers['x-amzn-errortype'] ?? body.__type ?? '').split(':')[0] ?? '';
  const name = type.slice(type.lastIndexOf('#') + 1) || `HTTP${status}`;
  const message =
    typeof (body.message ?? body.Message) === 'string' ? String(body.message ?? body.Message) : name;
  return { name, message };
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
