import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  BAD_CREDENTIALS,
  classifyAwsError,
  DENIED,
  isThrottling,
  NETWORK_CODES,
  operationOf,
} from '../../../lib/aws/errors.js';
import * as errors from '../../../lib/errors.js';
import {
  AwsAccessError,
  AwsServiceError,
  BrokenUserError,
  ConfigError,
  InventoryError,
  KeyGuardError,
  KeyLimitError,
  KeyrotError,
  KeyTestError,
  NotManagedError,
  RotationInProgressError,
  TargetError,
  UsageError,
} from '../../../lib/errors.js';
import { awsError } from '../../helpers/aws-errors.js';

afterEach(() => vi.unstubAllEnvs());

// One row for every error name lib/aws/errors.ts lists. The last test checks the table is complete,
// so a name added to the code without a row fails here.
const deniedNames = ['AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation', 'AuthorizationError'];
const badCredentialNames = [
  'InvalidClientTokenId',
  'SignatureDoesNotMatch',
  'UnrecognizedClientException',
  'ExpiredToken',
  'ExpiredTokenException',
  'InvalidAccessKeyId',
];
const networkCodes = ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH'];

const op = (error: Error) => Object.assign(error, { $operation: 'iam:ListUsers' });
const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

describe('classifyAwsError, one row per error name', () => {
  it.each(deniedNames)('%s (HTTP 400) is "denied": an AwsAccessError, exit 3', (name) => {
    // Status 400, so only the name can make it "denied".
    const raw = op(awsError(name, 400));
    const result = classifyAwsError(raw);
    expect(result).toBeInstanceOf(AwsAccessError);
    expect((result as AwsAccessError).exitCode).toBe(3);
    expect((result as Error).cause).toBe(raw);
    expect(messageOf(result)).toBe(
      `AWS denied iam:ListUsers (${name}). Grant this identity iam:ListUsers — the README's "Permissions" section lists what each command needs.`,
    );
  });

  it.each(badCredentialNames)('%s is "credentials rejected": an AwsAccessError, exit 3', (name) => {
    const raw = op(awsError(name, 400));
    const result = classifyAwsError(raw);
    expect(result).toBeInstanceOf(AwsAccessError);
    expect((result as AwsAccessError).exitCode).toBe(3);
    expect((result as Error).cause).toBe(raw);
    expect(messageOf(result)).toBe(
      `AWS rejected the credentials on iam:ListUsers (${name}). Check that the access key exists, is active and matches its secret, or refresh your session.`,
    );
  });

  it.each(badCredentialNames)('%s with HTTP 403 is still "credentials rejected", not "denied"', (name) => {
    expect(messageOf(classifyAwsError(op(awsError(name, 403))))).toMatch(/^AWS rejected the credentials/);
  });

  it.each(networkCodes)('error code %s is "unreachable": an AwsAccessError, exit 3', (code) => {
    vi.stubEnv('AWS_ENDPOINT_URL', '');
    const raw = op(Object.assign(new Error('request failed'), { code }));
    const result = classifyAwsError(raw);
    expect(result).toBeInstanceOf(AwsAccessError);
    expect((result as Error).cause).toBe(raw);
    expect(messageOf(result)).toBe(
      `Cannot reach AWS for iam:ListUsers (${code}). Check the network and AWS_REGION.`,
    );
  });

  it.each(networkCodes)('error code %s on the error’s cause is "unreachable" too', (code) => {
    vi.stubEnv('AWS_ENDPOINT_URL', '');
    const raw = new Error('request failed', { cause: Object.assign(new Error('inner'), { code }) });
    expect(messageOf(classifyAwsError(raw))).toBe(
      `Cannot reach AWS for an AWS call (${code}). Check the network and AWS_REGION.`,
    );
  });

  it.each([
    ['TimeoutError', 'timed out'],
    ['Error', 'socket hang up'],
    ['Error', 'connect EHOSTDOWN 10.0.0.1:443'],
  ])('%s "%s" is "unreachable"', (name, message) => {
    vi.stubEnv('AWS_ENDPOINT_URL', '');
    const raw = Object.assign(new Error(message), { name });
    expect(messageOf(classifyAwsError(raw))).toBe(
      `Cannot reach AWS for an AWS call (${name}). Check the network and AWS_REGION.`,
    );
  });

  it('CredentialsProviderError is "no credentials": an AwsAccessError, exit 3', () => {
    const raw = Object.assign(new Error('Could not load credentials'), { name: 'CredentialsProviderError' });
    const result = classifyAwsError(raw);
    expect(result).toBeInstanceOf(AwsAccessError);
    expect((result as Error).cause).toBe(raw);
  });

  it.each([
    ['InternalFailure', 500],
    ['ServiceUnavailable', 503],
    ['Throttling', 502],
  ])('%s (HTTP %i) is "AWS failing": an AwsServiceError, exit 1', (name, status) => {
    const raw = op(awsError(name, status));
    const result = classifyAwsError(raw);
    expect(result).toBeInstanceOf(AwsServiceError);
    expect((result as AwsServiceError).exitCode).toBe(1);
    expect((result as Error).cause).toBe(raw);
    expect(messageOf(result)).toMatch(
      new RegExp(
        `^AWS answered HTTP ${status} on iam:ListUsers \\(${name}\\), and kept failing after the SDK's retries\\.`,
      ),
    );
  });

  it.each([
    ['SyntaxError', 'Unexpected token \'<\', "<!DOCTYPE "... is not valid JSON'],
    ['Error', 'Deserialization error: to see the raw response, inspect the hidden field'],
  ])('a 5xx whose body is not an AWS error (%s: %s) says so', (name, message) => {
    const raw = Object.assign(new Error(message), { name, $metadata: { httpStatusCode: 500 } });
    expect(messageOf(classifyAwsError(raw))).toMatch(
      /^AWS answered HTTP 500 on an AWS call with a body that is not an AWS error \(an HTML error page\?\)/,
    );
  });

  it.each([
    ['Throttling', 400],
    ['ResourceNotFoundException', 400],
    ['NoSuchEntity', 404],
    ['ValidationError', 400],
  ])('%s (HTTP %i) is not an access problem: returned as it is', (name, status) => {
    vi.stubEnv('AWS_ENDPOINT_URL', '');
    const raw = awsError(name, status);
    expect(classifyAwsError(raw)).toBe(raw);
  });

  it('the table names every error the code lists, and nothing else', () => {
    expect([...DENIED].sort()).toEqual([...deniedNames].sort());
    expect([...BAD_CREDENTIALS].sort()).toEqual([...badCredentialNames].sort());
    expect([...NETWORK_CODES].sort()).toEqual([...networkCodes].sort());
  });
});

describe('isThrottling, one row per name', () => {
  it.each([
    ['Throttling', true],
    ['ThrottlingException', true],
    ['TooManyRequestsException', true],
    ['RequestLimitExceeded', true],
    ['SlowDown', true],
    ['LimitExceeded', false],
    ['AccessDenied', false],
    ['InternalFailure', false],
  ])('%s -> %s', (name, expected) => {
    expect(isThrottling(awsError(name))).toBe(expected);
  });

  it('an error without a name is not throttling', () => {
    expect(isThrottling({})).toBe(false);
    expect(isThrottling(undefined)).toBe(false);
  });
});

// One row per class in lib/errors.ts: its name and the CLI exit code it maps to.
const broken = { reason: 'no-current', detail: 'no AWSCURRENT', fix: 'keyrot rotate --user ci' };
const errorClasses: Array<[string, (message: string, cause: unknown) => KeyrotError, number]> = [
  ['KeyrotError', (m, cause) => new KeyrotError(m, { cause }), 1],
  ['UsageError', (m, cause) => new UsageError(m, { cause }), 2],
  ['ConfigError', (m, cause) => new ConfigError(m, { cause }), 2],
  ['AwsAccessError', (m, cause) => new AwsAccessError(m, { cause }), 3],
  ['InventoryError', (m, cause) => new InventoryError(m, { cause }), 1],
  ['NotManagedError', (m, cause) => new NotManagedError(m, { cause }), 2],
  ['RotationInProgressError', (m, cause) => new RotationInProgressError(m, { cause }), 4],
  ['KeyLimitError', (m, cause) => new KeyLimitError(m, { cause }), 4],
  ['TargetError', (m, cause) => new TargetError(m, { cause }), 1],
  ['KeyTestError', (m, cause) => new KeyTestError(m, { cause }), 1],
  ['KeyGuardError', (m, cause) => new KeyGuardError(m, { cause }), 4],
  ['BrokenUserError', (m, cause) => new BrokenUserError(m, broken, { cause }), 5],
  ['AwsServiceError', (m, cause) => new AwsServiceError(m, { cause }), 1],
];

describe('keyrot error classes', () => {
  it.each(errorClasses)('%s carries its cause and exits %i', (name, make, exitCode) => {
    const cause = new Error('underneath');
    const error = make('what went wrong', cause);
    expect(error).toBeInstanceOf(KeyrotError);
    expect(error.name).toBe(name);
    expect(error.message).toBe('what went wrong');
    expect(error.cause).toBe(cause);
    expect(error.exitCode).toBe(exitCode);
    // An AWS error classifier never rewraps one of keyrot's own errors.
    expect(classifyAwsError(error)).toBe(error);
  });

  it('the table names every error class lib/errors.ts exports', () => {
    expect(Object.keys(errors).sort()).toEqual(errorClasses.map(([name]) => name).sort());
  });
});

describe('classifyAwsError, edges', () => {
  it('classifying twice returns the first result: a classified network error is not wrapped again', () => {
    vi.stubEnv('AWS_ENDPOINT_URL', '');
    const first = classifyAwsError(Object.assign(new Error('request failed'), { code: 'ECONNREFUSED' }));
    expect(first).toBeInstanceOf(AwsAccessError);
    expect(classifyAwsError(first)).toBe(first);
  });

  it('a 5xx SyntaxError is an unreadable answer, whatever its message', () => {
    const raw = Object.assign(new Error('JSON parse failure'), {
      name: 'SyntaxError',
      $metadata: { httpStatusCode: 502 },
    });
    expect(messageOf(classifyAwsError(raw))).toMatch(/with a body that is not an AWS error/);
  });

  it('an error without a name is classified by its status alone, and its message names nothing', () => {
    // An Error whose own name was set to undefined: no name list can claim it.
    const raw = Object.assign(new Error('no body'), { name: undefined, $metadata: { httpStatusCode: 503 } });
    const result = classifyAwsError(raw);
    expect(result).toBeInstanceOf(AwsServiceError);
    expect(messageOf(result)).toBe(
      "AWS answered HTTP 503 on an AWS call (), and kept failing after the SDK's retries. This is on AWS's side (or the emulator's): run the command again later; keyrot's steps are safe to re-run.",
    );
  });

  it('operationOf names no operation for something that is not an error', () => {
    expect(operationOf(undefined)).toBe('an AWS call');
    expect(operationOf(null)).toBe('an AWS call');
  });
});
