import { GetParameterCommand, ParameterType, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { AwsCredentialIdentity } from '@smithy/types';
import type { SsmPort } from '../targets/port.js';
import { type CallCounter, defaultRegion, instrument } from './clients.js';
import { errorName } from './errors.js';

/**
 * The SSM port for the aws-ssm adapter: this account's SSM with the function's own credentials, or
 * another account's through sts:AssumeRole (with the external id), refreshed as they near expiry.
 * Only the rotate function and the CLI import this module.
 */
export function ssmPortFactory(
  options: {
    callCounter?: CallCounter;
    endpoint?: string;
    maxAttempts?: number;
    requestTimeoutMs?: number;
  } = {},
) {
  return (access: { roleArn?: string; externalId?: string; region?: string }): SsmPort => {
    const region = access.region ?? defaultRegion();
    const credentials = access.roleArn ? assumedRole(access.roleArn, access.externalId, region) : undefined;
    const client = new SSMClient({
      region,
      ...(credentials ? { credentials } : {}),
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      ...(options.maxAttempts ? { maxAttempts: options.maxAttempts } : {}),
      requestHandler: new NodeHttpHandler({
        connectionTimeout: 5_000,
        requestTimeout: options.requestTimeoutMs ?? 30_000,
        throwOnRequestTimeout: true,
      }),
    });
    instrument(client, options.callCounter);
    return {
      async putParameter({ name, value, secure, kmsKeyId }) {
        await client.send(
          new PutParameterCommand({
            Name: name,
            Value: value,
            Type: secure ? ParameterType.SECURE_STRING : ParameterType.STRING,
            Overwrite: true,
            ...(secure && kmsKeyId ? { KeyId: kmsKeyId } : {}),
          }),
        );
      },
      async getString(name) {
        try {
          const { Parameter } = await client.send(
            new GetParameterCommand({ Name: name, WithDecryption: false }),
          );
          return Parameter?.Value;
        } catch (error) {
          if (errorName(error) === 'ParameterNotFound') return undefined;
          throw error;
        }
      },
    };
  };
}

function assumedRole(roleArn: string, externalId: string | undefined, region: string) {
  const sts = new STSClient({ region });
  return async (): Promise<AwsCredentialIdentity> => {
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
    return {
      accessKeyId: c.AccessKeyId,
      secretAccessKey: c.SecretAccessKey,
      ...(c.SessionToken ? { sessionToken: c.SessionToken } : {}),
      ...(c.Expiration ? { expiration: c.Expiration } : {}),
    };
  };
}
