import { ListAccessKeysCommand } from '@aws-sdk/client-iam';
import { ConfiguredRetryStrategy } from '@smithy/util-retry';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createClients } from '../../../lib/aws/clients.js';
import { classifyAwsError, isThrottling } from '../../../lib/aws/errors.js';
import { AwsAccessError, AwsServiceError, ConfigError } from '../../../lib/errors.js';
import { awsError } from '../../helpers/aws-errors.js';
import { scriptedHandler } from '../../helpers/fake-http.js';

const withOperation = (error: Error, operation: string) => Object.assign(error, { $operation: operation });

afterEach(() => vi.unstubAllEnvs());

describe('classifyAwsError', () => {
  it('says how to provide credentials when none are found', () => {
    const error = Object.assign(new Error('Could not load credentials from any providers'), {
      name: 'CredentialsProviderError',
    });
    const result = classifyAwsError(error);
    expect(result).toBeInstanceOf(AwsAccessError);
    expect((result as Error).message).toMatch(/^No AWS credentials found\. Set AWS_PROFILE/);
  });

  it('names the denied operation and where to find the needed permissions', () => {
    const result = classifyAwsError(
      withOperation(awsError('AccessDenied', 403), 'iam:GenerateCredentialReport'),
    );
    expect((result as Error).message).toBe(
      'AWS denied iam:GenerateCredentialReport (AccessDenied). Grant this identity iam:GenerateCredentialReport — the README\'s "Permissions" section lists what each command needs.',
    );
  });

  it('treats a bare HTTP 403 (an unparseable error body) as denied', () => {
    const result = classifyAwsError(
      Object.assign(new Error('Deserialization error'), { $metadata: { httpStatusCode: 403 } }),
    );
    expect((result as Error).message).toMatch(
      /^AWS denied an AWS call \(HTTP 403\)\. Grant this identity the permissions keyrot needs — /,
    );
  });

  it('says the credentials were rejected for an invalid key', () => {
    const result = classifyAwsError(
      withOperation(awsError('InvalidClientTokenId', 403), 'sts:GetCallerIdentity'),
    );
    expect((result as Error).message).toMatch(
      /^AWS rejected the credentials on sts:GetCallerIdentity \(InvalidClientTokenId\)/,
    );
  });

  it('names the emulator endpoint when it cannot be reached', () => {
    vi.stubEnv('AWS_ENDPOINT_URL', 'http://127.0.0.1:9');
    const error = withOperation(
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' }),
      'sts:GetCallerIdentity',
    );
    expect((classifyAwsError(error) as Error).message).toBe(
      'Cannot reach the endpoint http://127.0.0.1:9 (AWS_ENDPOINT_URL) for sts:GetCallerIdentity (ECONNREFUSED). Check the network, or unset AWS_ENDPOINT_URL / start the emulator.',
    );
  });

  it('names AWS itself when no endpoint override is set', () => {
    vi.stubEnv('AWS_ENDPOINT_URL', '');
    const error = Object.assign(new Error('timed out'), { name: 'TimeoutError' });
    expect((classifyAwsError(error) as Error).message).toMatch(
      /^Cannot reach AWS for an AWS call \(TimeoutError\)\. Check the network and AWS_REGION\.$/,
    );
  });

  it('leaves keyrot errors, other AWS errors and non-errors alone', () => {
    const config = new ConfigError('bad');
    const throttled = awsError('Throttling');
    expect(classifyAwsError(config)).toBe(config);
    expect(classifyAwsError(throttled)).toBe(throttled);
    expect(classifyAwsError('text')).toBe('text');
  });
});

describe('isThrottling', () => {
  it.each(['Throttling', 'ThrottlingException', 'TooManyRequestsException', 'RequestLimitExceeded'])(
    '%s is throttling',
    (name) => {
      expect(isThrottling(awsError(name))).toBe(true);
    },
  );
  it('AccessDenied is not', () => expect(isThrottling(awsError('AccessDenied'))).toBe(false));
});

describe('a 5xx answered with an HTML page', () => {
  it('is retried by the SDK, then classified as a failure on AWS side, never a raw SyntaxError', async () => {
    // Prepare: every ListAccessKeys is answered 502 with an HTML page, as a proxy or an overloaded moto does.
    const handler = scriptedHandler(() => ({ status: 502, body: '<html><body>Bad Gateway</body></html>' }));
    const { iam } = createClients({
      requestHandler: handler,
      retryStrategy: new ConfiguredRetryStrategy(3, () => 0),
    });
    iam.config.credentials = async () => ({ accessKeyId: 'AKIDTEST', secretAccessKey: 'test' });
    // Act
    const raw = await iam.send(new ListAccessKeysCommand({ UserName: 'ci' })).catch((e: unknown) => e);
    const error = classifyAwsError(raw);
    // Assess
    expect(handler.actions).toEqual(['ListAccessKeys', 'ListAccessKeys', 'ListAccessKeys']);
    expect(error).toBeInstanceOf(AwsServiceError);
    expect((error as Error).message).toMatch(
      /^AWS answered HTTP 502 on iam:ListAccessKeys .*and kept failing after the SDK's retries\./,
    );
  });
});
