import { errorName } from '../../aws/errors.js';
import type { AwsSsmOptions } from '../catalog.js';
import { TargetFailure } from '../failure.js';
import type { CreateTarget, Fingerprint, SsmPort, Target } from '../port.js';

/**
 * SSM Parameter Store, in this account or (with roleArn and externalId) another: the key pair as
 * SecureString parameters `<parameterName>/AWS_ACCESS_KEY_ID` and `.../AWS_SECRET_ACCESS_KEY`
 * (encrypted with kmsKeyId when given), then the String parameter `.../KEYROT_ACCESS_KEY_ID`, the
 * fingerprint, read without decrypting anything.
 */
export const createAwsSsm: CreateTarget<AwsSsmOptions> = (name, options, deps) => {
  const label = `aws-ssm target "${name}"`;
  const names = {
    accessKeyId: `${options.parameterName}/AWS_ACCESS_KEY_ID`,
    secretAccessKey: `${options.parameterName}/AWS_SECRET_ACCESS_KEY`,
    fingerprint: `${options.parameterName}/KEYROT_ACCESS_KEY_ID`,
  };
  let client: SsmPort | undefined;
  const ssm = (): SsmPort => {
    if (deps.ssm === undefined) throw new Error(`${label}: no SSM client was provided`);
    client ??= deps.ssm({
      ...(options.roleArn ? { roleArn: options.roleArn } : {}),
      ...(options.externalId ? { externalId: options.externalId } : {}),
      ...(options.region ? { region: options.region } : {}),
    });
    return client;
  };
  const call = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (error) {
      throw ssmFailure(label, what, options, error);
    }
  };
  const readFingerprint = () =>
    call(`GetParameter ${names.fingerprint}`, () => ssm().getString(names.fingerprint));

  const target: Target = {
    type: 'aws-ssm',
    name,
    async push(credential) {
      const kms = options.kmsKeyId ? { kmsKeyId: options.kmsKeyId } : {};
      await call(`PutParameter ${names.secretAccessKey}`, () =>
        ssm().putParameter({
          name: names.secretAccessKey,
          value: credential.secretAccessKey,
          secure: true,
          ...kms,
        }),
      );
      await call(`PutParameter ${names.accessKeyId}`, () =>
        ssm().putParameter({ name: names.accessKeyId, value: credential.accessKeyId, secure: true, ...kms }),
      );
      await call(`PutParameter ${names.fingerprint}`, () =>
        ssm().putParameter({ name: names.fingerprint, value: credential.accessKeyId, secure: false }),
      );
      return { outcome: 'pushed' };
    },
    async verify(credential) {
      const held = await readFingerprint();
      if (held !== credential.accessKeyId)
        throw new TargetFailure(
          'conflict',
          `${label}: ${names.fingerprint} names ${held ?? 'no key'}, not the new key ${credential.accessKeyId}: the rotation pushes again when retried`,
        );
    },
    async fingerprint(): Promise<Fingerprint> {
      const held = await readFingerprint();
      return held === undefined ? { state: 'absent' } : { state: 'holds', accessKeyId: held };
    },
    describe: () => ({
      type: 'aws-ssm',
      name,
      parameterName: options.parameterName,
      ...(options.roleArn ? { roleArn: options.roleArn } : {}),
      ...(options.region ? { region: options.region } : {}),
      ...(options.kmsKeyId ? { kmsKeyId: options.kmsKeyId } : {}),
    }),
  };
  return target;
};

/** An SDK error as a TargetFailure: the SDK already retried throttling and 5xx. */
function ssmFailure(label: string, what: string, options: AwsSsmOptions, error: unknown): TargetFailure {
  if (error instanceof TargetFailure) return error;
  const name = errorName(error) ?? 'Error';
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  const where = options.roleArn ? `the role ${options.roleArn}` : 'the rotate role';
  const cause = new Error(`${name}${status ? ` (HTTP ${status})` : ''}`);
  if (/AccessDenied|UnrecognizedClient|InvalidClientTokenId|ExpiredToken/.test(name) || status === 403)
    return new TargetFailure(
      'forbidden',
      `${label}: AWS denied ${what} (${name}): grant ${where} ssm:PutParameter and ssm:GetParameter on ${options.parameterName}/*${options.kmsKeyId ? `, and kms:Encrypt on ${options.kmsKeyId}` : ''}${options.roleArn ? ', and the rotate role sts:AssumeRole on it' : ''}`,
      { cause, ...(status ? { status } : {}) },
    );
  if (/Throttl|TooManyUpdates/.test(name) || status === 429)
    return new TargetFailure(
      'throttled',
      `${label}: SSM throttled ${what} (${name}); the rotation is retried`,
      {
        cause,
      },
    );
  if (status !== undefined && status >= 500)
    return new TargetFailure('server', `${label}: SSM failed ${what} (${name}); the rotation is retried`, {
      cause,
      status,
    });
  if (status === undefined || name === 'TimeoutError')
    return new TargetFailure(
      'network',
      `${label}: could not reach SSM for ${what} (${name}); the rotation is retried`,
      {
        cause,
      },
    );
  return new TargetFailure(
    'invalid',
    `${label}: SSM refused ${what} (${name}): check parameterName${options.kmsKeyId ? ' and kmsKeyId' : ''}`,
    { cause, status },
  );
}
