import { Sha256 } from '@smithy/core/checksum';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import type { EventLookup, TrailEvent } from '../alerts/key-usage.js';
import { KeyrotError } from '../errors.js';
import { defaultRegion, endpointOverride } from './clients.js';
import { readBody } from './dynamodb.js';

/** CloudTrail refused a LookupEvents; `name` is CloudTrail's error type (ThrottlingException, ...). */
export class CloudTrailError extends KeyrotError {
  readonly $metadata: { httpStatusCode: number };
  readonly $operation = 'cloudtrail:LookupEvents';
  constructor(name: string, message: string, status: number) {
    super(message);
    this.name = name;
    this.$metadata = { httpStatusCode: status };
  }
}

const TARGET = 'com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents';

/**
 * cloudtrail:LookupEvents over CloudTrail's JSON 1.1 API, signed with the SDK's own SigV4 signer and
 * sent with its HTTP handler, as lib/aws/sns-signed.ts does for Publish. The leak response uses it to
 * show what an exposed key did: @aws-sdk/client-cloudtrail adds 42 KB to a bundle, which would take the
 * respond bundle over its 400 KB budget. Timestamps go and come as epoch seconds, as the JSON 1.1 protocol has them.
 */
export function signedCloudTrail(options: {
  credentials: AwsCredentialIdentityProvider | AwsCredentialIdentity;
  region?: string;
  endpoint?: string;
  maxAttempts?: number;
  requestHandler?: { handle: NodeHttpHandler['handle'] };
  sleep?: (ms: number) => Promise<void>;
}): EventLookup {
  const region = options.region ?? defaultRegion();
  const endpoint = new URL(
    options.endpoint ?? endpointOverride() ?? `https://cloudtrail.${region}.amazonaws.com`,
  );
  const signer = new SignatureV4({
    service: 'cloudtrail',
    region,
    credentials: options.credentials,
    sha256: Sha256,
  });
  const handler =
    options.requestHandler ??
    new NodeHttpHandler({ connectionTimeout: 5_000, requestTimeout: 10_000, throwOnRequestTimeout: true });
  const maxAttempts = options.maxAttempts ?? 3;
  const sleep = options.sleep ?? ((ms: number) => new Promise((resolve) => setTimeout(resolve, ms)));

  async function once(body: string): Promise<Record<string, unknown>> {
    const request = new HttpRequest({
      method: 'POST',
      protocol: endpoint.protocol,
      hostname: endpoint.hostname,
      ...(endpoint.port ? { port: Number(endpoint.port) } : {}),
      path: endpoint.pathname,
      headers: { host: endpoint.host, 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': TARGET },
      body,
    });
    const signed = await signer.sign(request);
    const { response } = await handler.handle(signed as HttpRequest);
    const text = await readBody(response.body);
    let parsed: Record<string, unknown> = {};
    try {
      parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      // Not JSON (an emulator's HTML error page): the status says enough.
    }
    if (response.statusCode >= 200 && response.statusCode < 300) return parsed;
    const type = String(parsed.__type ?? `HTTP${response.statusCode}`);
    const name = type.slice(type.lastIndexOf('#') + 1);
    throw new CloudTrailError(name, String(parsed.message ?? parsed.Message ?? name), response.statusCode);
  }

  return {
    async lookupEvents(input) {
      const body = JSON.stringify({
        LookupAttributes: [{ AttributeKey: 'AccessKeyId', AttributeValue: input.accessKeyId }],
        StartTime: input.startTime.getTime() / 1000,
        EndTime: input.endTime.getTime() / 1000,
        MaxResults: input.maxResults,
        ...(input.nextToken ? { NextToken: input.nextToken } : {}),
      });
      for (let attempt = 1; ; attempt++) {
        try {
          const out = await once(body);
          const events = (Array.isArray(out.Events) ? out.Events : []).map(
            (e: Record<string, unknown>): TrailEvent => ({
              ...(typeof e.EventName === 'string' ? { EventName: e.EventName } : {}),
              ...(typeof e.EventTime === 'number' ? { EventTime: new Date(e.EventTime * 1000) } : {}),
              ...(typeof e.CloudTrailEvent === 'string' ? { CloudTrailEvent: e.CloudTrailEvent } : {}),
            }),
          );
          return {
            events,
            ...(typeof out.NextToken === 'string' && out.NextToken ? { nextToken: out.NextToken } : {}),
          };
        } catch (error) {
          const retryable =
            !(error instanceof CloudTrailError) ||
            error.$metadata.httpStatusCode >= 500 ||
            /Throttl/.test(error.name);
          if (!retryable || attempt >= maxAttempts) throw error;
          await sleep(Math.min(2_000, 100 * 2 ** attempt * Math.random() + 100));
        }
      }
    },
  };
}
