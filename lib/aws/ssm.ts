import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import type { SsmPort } from '../targets/port.js';
import { type CallCounter, defaultRegion, endpointOverride, instrument } from './clients.js';

/**
 * The SSM port for the aws-ssm adapter: PutParameter and GetParameter, signed with SigV4 by the SDK's
 * own signer and sent with fetch (AWS JSON 1.1, as the SDK would). Two calls don't earn the SSM
 * client's 76 KB, which would push the rotate bundle past 400 KB. Credentials are the caller's (the
 * rotate role in Lambda), or another account's through sts:AssumeRole with the external id, refreshed
 * before they expire. Throttling, 5xx and network errors are retried with backoff.
 */
export interface SsmPortOptions {
  /** The credentials of this account (another client's provider: the same source as every client). */
  credentials: AwsCredentialIdentityProvider;
  callCounter?: CallCounter;
  /** Default: AWS_ENDPOINT_URL, else https://ssm.<region>.amazonaws.com. */
  endpoint?: string;
  maxAttempts?: number;
  requestTimeoutMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

/** An SSM error as the SDK would shape it: name from the error type, the HTTP status in $metadata. */
class SsmError extends Error {
  readonly $metadata: { httpStatusCode?: number };
  constructor(name: string, message: string, status?: number) {
    super(message);
    this.name = name;
    this.$metadata = status === undefined ? {} : { httpStatusCode: status };
  }
}

class NodeSha256 {
  private hash: Hash | Hmac;
  constructor(private readonly secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = this.fresh();
  }
  private fresh(): Hash | Hmac {
    return this.secret === undefined ? createHash('sha256') : createHmac('sha256', toBuffer(this.secret));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.hash.update(toBuffer(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
  reset(): void {
    this.hash = this.fresh();
  }
}

function toBuffer(data: string | ArrayBuffer | ArrayBufferView): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}

const RETRYABLE = /Throttl|TooManyUpdates|InternalServerError|ServiceUnavailable/;

export function ssmPortFactory(options: SsmPortOptions) {
  return (access: { roleArn?: string; externalId?: string; region?: string }): SsmPort => {
    const region = access.region ?? defaultRegion();
    const credentials = access.roleArn
      ? assumedRole(access.roleArn, access.externalId, region, options.credentials)
      : options.credentials;
    const endpoint = new URL(options.endpoint ?? endpointOverride() ?? `https://ssm.${region}.amazonaws.com`);
    const signer = new SignatureV4({ credentials, region, service: 'ssm', sha256: NodeSha256 });
    const attempts = options.maxAttempts ?? 3;
    const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));

    const call = async (operation: 'PutParameter' | 'GetParameter', input: object): Promise<unknown> => {
      options.callCounter?.set(`ssm:${operation}`, (options.callCounter.get(`ssm:${operation}`) ?? 0) + 1);
      for (let attempt = 1; ; attempt++) {
        let error: SsmError;
        try {
          const request = new HttpRequest({
            method: 'POST',
            protocol: endpoint.protocol,
            hostname: endpoint.hostname,
            ...(endpoint.port ? { port: Number(endpoint.port) } : {}),
            path: '/',
            headers: {
              host: endpoint.host,
              'content-type': 'application/x-amz-json-1.1',
              'x-amz-target': `AmazonSSM.${operation}`,
            },
            body: JSON.stringify(input),
          });
          const signed = await signer.sign(request);
          const response = await fetch(`${endpoint.origin}/`, {
            method: 'POST',
            headers: signed.headers,
            body: signed.body as string,
            signal: AbortSignal.timeout(options.requestTimeoutMs ?? 10_000),
          });
          const text = await response.text();
          if (response.ok) return text ? (JSON.parse(text) as unknown) : {};
          let type = response.headers.get('x-amzn-errortype') ?? '';
          try {
            const body = JSON.parse(text) as { __type?: string };
            type ||= body.__type ?? '';
          } catch {
            // not JSON (a proxy's page): the status says enough
          }
          const name =
            type.split(/[#:]/).filter(Boolean)[type.includes('#') ? 1 : 0] ?? `HTTP${response.status}`;
          // The message may quote the request; keep only the error's name and status.
          error = new SsmError(
            name || `HTTP${response.status}`,
            `ssm:${operation} failed (${name})`,
            response.status,
          );
        } catch (raw) {
          if (raw instanceof SsmError) throw raw;
          const name =
            raw instanceof Error && (raw.name === 'TimeoutError' || raw.name === 'AbortError')
              ? 'TimeoutError'
              : 'NetworkError';
          error = new SsmError(name, `ssm:${operation}: no answer (${name})`);
        }
        const retryable =
          RETRYABLE.test(error.name) ||
          (error.$metadata.httpStatusCode ?? 500) >= 500 ||
          error.name === 'TimeoutError' ||
          error.name === 'NetworkError';
        if (!retryable || attempt >= attempts) throw error;
        await sleep(Math.min(200 * 2 ** (attempt - 1), 2_000));
      }
    };

    return {
      async putParameter({ name, value, secure, kmsKeyId }) {
        await call('PutParameter', {
          Name: name,
          Value: value,
          Type: secure ? 'SecureString' : 'String',
          Overwrite: true,
          ...(secure && kmsKeyId ? { KeyId: kmsKeyId } : {}),
        });
      },
      async getString(name) {
        try {
          const answer = (await call('GetParameter', { Name: name, WithDecryption: false })) as {
            Parameter?: { Value?: string };
          };
          return answer.Parameter?.Value;
        } catch (error) {
          if (error instanceof SsmError && error.name === 'ParameterNotFound') return undefined;
          throw error;
        }
      },
    };
  };
}

function assumedRole(
  roleArn: string,
  externalId: string | undefined,
  region: string,
  source: AwsCredentialIdentityProvider,
): AwsCredentialIdentityProvider {
  const sts = new STSClient({ region, credentials: source });
  instrument(sts);
  let cached: AwsCredentialIdentity | undefined;
  return async () => {
    if (cached?.expiration && cached.expiration.getTime() - Date.now() > 60_000) return cached;
    const { Credentials: c } = await sts.send(
      new AssumeRoleCommand({
        RoleArn: roleArn,
        RoleSessionName: 'keyrot-target',
        DurationSeconds: 900,
        ...(externalId ? { ExternalId: externalId } : {}),
      }),
    );
    if (!c?.AccessKeyId || !c.SecretAccessKey)
      throw new Error(`sts:AssumeRole ${roleArn} returned no credentials`);
    cached = {
      accessKeyId: c.AccessKeyId,
      secretAccessKey: c.SecretAccessKey,
      ...(c.SessionToken ? { sessionToken: c.SessionToken } : {}),
      ...(c.Expiration ? { expiration: c.Expiration } : {}),
    };
    return cached;
  };
}
