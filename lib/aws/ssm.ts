import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import type { SsmPort } from '../targets/port.js';
import { type CallCounter, defaultRegion, instrument } from './clients.js';
import { jsonError, SignedCallError, signedCall } from './signed.js';

/**
 * The SSM port for the aws-ssm adapter: PutParameter and GetParameter, signed with SigV4 by the SDK's
 * own signer through `signedCall` (AWS JSON 1.1, as the SDK would). Two calls don't earn the SSM
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

export function ssmPortFactory(options: SsmPortOptions) {
  return (access: { roleArn?: string; externalId?: string; region?: string }): SsmPort => {
    const region = access.region ?? defaultRegion();
    const credentials = access.roleArn
      ? assumedRole(access.roleArn, access.externalId, region, options.credentials)
      : options.credentials;
    const send = signedCall(
      {
        service: 'ssm',
        contentType: 'application/x-amz-json-1.1',
        target: (operation) => `AmazonSSM.${operation}`,
        // The message may quote the request; keep only the error's name and status.
        error: (operation, status, text, headers) => {
          const { name } = jsonError(status, text, headers);
          return { name, message: `ssm:${operation} failed (${name})` };
        },
        retryable: /Throttl|TooManyUpdates|InternalServerError|ServiceUnavailable/,
      },
      {
        credentials,
        region,
        ...(options.endpoint ? { endpoint: options.endpoint } : {}),
        maxAttempts: options.maxAttempts ?? 3,
        ...(options.requestTimeoutMs ? { requestTimeoutMs: options.requestTimeoutMs } : {}),
        ...(options.sleep ? { sleep: options.sleep } : {}),
      },
    );
    const call = async (operation: 'PutParameter' | 'GetParameter', input: object): Promise<unknown> => {
      options.callCounter?.set(`ssm:${operation}`, (options.callCounter.get(`ssm:${operation}`) ?? 0) + 1);
      const text = await send(operation, JSON.stringify(input));
      return text ? (JSON.parse(text) as unknown) : {};
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
          if (error instanceof SignedCallError && error.name === 'ParameterNotFound') return undefined;
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
