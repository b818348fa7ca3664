import { AwsAccessError, AwsServiceError, KeyrotError } from '../errors.js';
import { endpointOverride } from './clients.js';

/** Error names that mean "this identity may not make the call" (exported for the table-driven tests). */
export const DENIED: ReadonlySet<string> = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'UnauthorizedOperation',
  'AuthorizationError',
]);
/** Error names that mean "AWS does not accept these credentials". */
export const BAD_CREDENTIALS: ReadonlySet<string> = new Set([
  'InvalidClientTokenId',
  'SignatureDoesNotMatch',
  'UnrecognizedClientException',
  'ExpiredToken',
  'ExpiredTokenException',
  'InvalidAccessKeyId',
]);
/** Node error codes that mean "AWS (or the emulator) can't be reached". */
export const NETWORK_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
]);

interface AwsErrorShape {
  name?: string;
  code?: string;
  message?: string;
  $operation?: string;
  $metadata?: { httpStatusCode?: number };
}

/** The operation an error came from ("iam:ListUsers"), as recorded by the client middleware. */
export function operationOf(error: unknown): string {
  return (error as AwsErrorShape | undefined)?.$operation ?? 'an AWS call';
}

export function errorName(error: unknown): string | undefined {
  return (error as AwsErrorShape | undefined)?.name;
}

export function isThrottling(error: unknown): boolean {
  // Stryker disable next-line StringLiteral: the stand-in for a missing name matches no throttling pattern, as '' does
  const name = errorName(error) ?? '';
  return /Throttl|TooManyRequests|RequestLimitExceeded|SlowDown/.test(name);
}

/**
 * Turns an SDK error that means "keyrot can't get at AWS" into an AwsAccessError that says what to do.
 * Anything else is returned as it is.
 */
export function classifyAwsError(error: unknown): unknown {
  if (error instanceof KeyrotError || !(error instanceof Error)) return error;
  const shape = error as AwsErrorShape;
  const name = shape.name ?? '';
  const operation = operationOf(error);
  if (name === 'CredentialsProviderError') {
    return new AwsAccessError(
      'No AWS credentials found. Set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run where a role provides them.',
      { cause: error },
    );
  }
  if (BAD_CREDENTIALS.has(name)) {
    return new AwsAccessError(
      `AWS rejected the credentials on ${operation} (${name}). Check that the access key exists, is active and matches its secret, or refresh your session.`,
      { cause: error },
    );
  }
  if (DENIED.has(name) || shape.$metadata?.httpStatusCode === 403) {
    const known = shape.$operation !== undefined;
    return new AwsAccessError(
      `AWS denied ${operation} (${DENIED.has(name) ? name : 'HTTP 403'}). Grant this identity ${known ? operation : 'the permissions keyrot needs'} — the README's "Permissions" section lists what each command needs.`,
      { cause: error },
    );
  }
  const status = shape.$metadata?.httpStatusCode ?? 0;
  if (status >= 500) {
    // A 5xx whose body is not the service's error format (an HTML page from a proxy or an overloaded
    // emulator) surfaces as a parse error such as "Unexpected token '<'". The SDK has already retried it.
    const parse =
      error.name === 'SyntaxError' || /Deserialization error|Unexpected token/.test(error.message);
    return new AwsServiceError(
      `AWS answered HTTP ${status} on ${operation}${parse ? ' with a body that is not an AWS error (an HTML error page?)' : ` (${name})`}, and kept failing after the SDK's retries. This is on AWS's side (or the emulator's): run the command again later; keyrot's steps are safe to re-run.`,
      { cause: error },
    );
  }
  const code = shape.code ?? (error.cause as AwsErrorShape | undefined)?.code ?? '';
  if (NETWORK_CODES.has(code) || name === 'TimeoutError' || /socket hang up|connect E/.test(error.message)) {
    const endpoint = endpointOverride();
    const where = endpoint ? `the endpoint ${endpoint} (AWS_ENDPOINT_URL)` : 'AWS';
    return new AwsAccessError(
      `Cannot reach ${where} for ${operation} (${code || name}). Check the network${endpoint ? ', or unset AWS_ENDPOINT_URL / start the emulator' : ' and AWS_REGION'}.`,
      { cause: error },
    );
  }
  return error;
}
