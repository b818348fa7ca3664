import { describe, expect, it, vi } from 'vitest';
import {
  AwsAccessError,
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
import { runCli } from '../../helpers/cli.js';

// `keyrot plan` stands in for any command: it throws whatever the row gives it.
const thrown = vi.hoisted(() => ({ error: undefined as unknown }));
vi.mock('../../../lib/cli/commands/plan.js', () => ({
  planHelp: 'Usage: keyrot plan\n',
  planCommand: async () => {
    throw thrown.error;
  },
}));

const withOperation = (error: Error) => Object.assign(error, { $operation: 'iam:ListUsers' });

describe('CLI exit codes, one row per error keyrot can end with', () => {
  it.each([
    ['KeyrotError', new KeyrotError('keyrot failed'), 1],
    ['InventoryError', new InventoryError('report never completed'), 1],
    ['TargetError', new TargetError('push failed'), 1],
    ['KeyTestError', new KeyTestError('key never worked'), 1],
    ['UsageError', new UsageError('bad flag'), 2],
    ['ConfigError', new ConfigError('bad config'), 2],
    ['NotManagedError', new NotManagedError('not a machine user'), 2],
    ['AwsAccessError', new AwsAccessError('no way in'), 3],
    ['RotationInProgressError', new RotationInProgressError('busy'), 4],
    ['KeyLimitError', new KeyLimitError('no free slot'), 4],
    ['KeyGuardError', new KeyGuardError('the key is in use'), 4],
    [
      'BrokenUserError',
      new BrokenUserError('ci has no working key', { reason: 'r', detail: 'd', fix: 'f' }),
      5,
    ],
  ])('%s exits %i, printing its message on one line', async (_name, error, code) => {
    thrown.error = error;
    const result = await runCli('plan');
    expect(result).toEqual({ code, stdout: '', stderr: `keyrot: ${(error as Error).message}\n` });
  });

  it.each([
    ['AccessDenied', 403, 3],
    ['AccessDeniedException', 400, 3],
    ['UnauthorizedOperation', 400, 3],
    ['AuthorizationError', 400, 3],
    ['InvalidClientTokenId', 403, 3],
    ['SignatureDoesNotMatch', 403, 3],
    ['UnrecognizedClientException', 400, 3],
    ['ExpiredToken', 400, 3],
    ['ExpiredTokenException', 400, 3],
    ['InvalidAccessKeyId', 403, 3],
  ])('an AWS %s (HTTP %i) exits %i', async (name, status, code) => {
    thrown.error = withOperation(awsError(name, status));
    const result = await runCli('plan');
    expect(result.code).toBe(code);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(`(${name})`);
  });

  it.each([
    ['InternalFailure', 500],
    ['ServiceUnavailable', 503],
  ])('an AWS %s (HTTP %i) after the retries exits 1, saying it is on AWS’s side', async (name, status) => {
    thrown.error = withOperation(awsError(name, status));
    const result = await runCli('plan');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      new RegExp(`^keyrot: AWS answered HTTP ${status} on iam:ListUsers \\(${name}\\)`),
    );
  });

  it('an AWS error that is neither access nor a 5xx (Throttling, HTTP 400) exits 1 with its name', async () => {
    thrown.error = withOperation(awsError('Throttling', 400));
    const result = await runCli('plan');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('keyrot: plan failed: Throttling: ');
  });

  it.each(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH'])(
    'a network error %s exits 3',
    async (errorCode) => {
      thrown.error = withOperation(Object.assign(new Error('request failed'), { code: errorCode }));
      const result = await runCli('plan');
      expect(result.code).toBe(3);
      expect(result.stderr).toMatch(new RegExp(`^keyrot: Cannot reach .* \\(${errorCode}\\)`));
    },
  );

  it('anything else (a bug, a thrown string) exits 1', async () => {
    thrown.error = new TypeError('x is undefined');
    expect(await runCli('plan')).toEqual({
      code: 1,
      stdout: '',
      stderr: 'keyrot: plan failed: TypeError: x is undefined. Re-run with --verbose for details.\n',
    });
    thrown.error = 'a string';
    expect((await runCli('plan')).code).toBe(1);
  });
});
