import type { PublishCommandInput } from '@aws-sdk/client-sns';
import { Sha256 } from '@smithy/core/checksum';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import type { SnsPort } from '../alerts/sns.js';
import { KeyrotError } from '../errors.js';
import { defaultRegion, endpointOverride } from './clients.js';
import { readBody } from './dynamodb.js';

/** SNS refused a Publish; `name` is SNS's error code (NotFound, AuthorizationError, Throttling...). */
export class SnsError extends KeyrotError {
  readonly $metadata: { httpStatusCode: number };
  readonly $operation = 'sns:Publish';
  constructor(name: string, message: string, status: number) {
    super(message);
    this.name = name;
    this.$metadata = { httpStatusCode: status };
  }
}

/**
 * sns:Publish over SNS's Query API, signed with the SDK's own SigV4 signer and sent with its HTTP
 * handler. The rotate and respond functions publish with this: @aws-sdk/client-sns adds 22 KB to a
 * bundle (its error classes and schemas), which with the target adapters would take both over the
 * 400 KB budget, and they publish one kind of message. The scan, retire and the CLI use the SDK client.
 */
export function signedSns(options: {
  credentials: AwsCredentialIdentityProvider | AwsCredentialIdentity;
  region?: string;
  endpoint?: string;
  maxAttempts?: number;
}): SnsPort {
  const region = options.region ?? defaultRegion();
  const endpoint = new URL(options.endpoint ?? endpointOverride() ?? `https://sns.${region}.amazonaws.com`);
  const signer = new SignatureV4({
    service: 'sns',
    region,
    credentials: options.credentials,
    sha256: Sha256,
  });
  const handler = new NodeHttpHandler({
    connectionTimeout: 5_000,
    requestTimeout: 10_000,
    throwOnRequestTimeout: true,
  });
  const maxAttempts = options.maxAttempts ?? 4;

  async function once(body: string): Promise<void> {
    const request = new HttpRequest({
      method: 'POST',
      protocol: endpoint.protocol,
      hostname: endpoint.hostname,
      ...(endpoint.port ? { port: Number(endpoint.port) } : {}),
      path: endpoint.pathname,
      headers: { host: endpoint.host, 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
      body,
    });
    const signed = await signer.sign(request);
    const { response } = await handler.handle(signed as HttpRequest);
    const text = await readBody(response.body);
    if (response.statusCode >= 200 && response.statusCode < 300) return;
    const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1] ?? `HTTP${response.statusCode}`;
    const message = /<Message>([^<]*)<\/Message>/.exec(text)?.[1] ?? code;
    throw new SnsError(code, message, response.statusCode);
  }

  return {
    async publish(input) {
      const body = publishBody(input);
      for (let attempt = 1; ; attempt++) {
        try {
          return await once(body);
        } catch (error) {
          const retryable =
            !(error instanceof SnsError) ||
            error.$metadata.httpStatusCode >= 500 ||
            /Throttl/.test(error.name);
          if (!retryable || attempt >= maxAttempts) throw error;
          await new Promise((resolve) => setTimeout(resolve, Math.min(2_000, 50 * 2 ** attempt)));
        }
      }
    },
  };
}

/** The Query API form of a Publish (Action, Version, and the input's fields, attributes as entries). */
export function publishBody(input: PublishCommandInput): string {
  const form = new URLSearchParams({ Action: 'Publish', Version: '2010-03-31' });
  for (const key of ['TopicArn', 'Subject', 'Message', 'MessageStructure'] as const) {
    const value = input[key];
    if (value !== undefined) form.set(key, value);
  }
  Object.entries(input.MessageAttributes ?? {}).forEach(([name, value], i) => {
    const entry = `MessageAttributes.entry.${i + 1}`;
    form.set(`${entry}.Name`, name);
    form.set(`${entry}.Value.DataType`, value.DataType ?? 'String');
    if (value.StringValue !== undefined) form.set(`${entry}.Value.StringValue`, value.StringValue);
  });
  return form.toString();
}
