import { describe, expect, it, vi } from 'vitest';
import { createLogger, REDACTED, redact, redactError, redactErrors, redactText } from '../../lib/log.js';

const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';

describe('redact', () => {
  it('removes secret-named fields wherever they sit', () => {
    const text = JSON.stringify(
      {
        AccessKey: { AccessKeyId: 'AKIAEXAMPLE', SecretAccessKey: secret },
        SecretString: '{"x":1}',
        token: 'abc',
        Password: 'p',
      },
      redact,
    );
    expect(text).not.toContain(secret);
    expect(JSON.parse(text)).toEqual({
      AccessKey: { AccessKeyId: 'AKIAEXAMPLE', SecretAccessKey: REDACTED },
      SecretString: REDACTED,
      token: REDACTED,
      Password: REDACTED,
    });
  });

  it('removes secret-shaped strings inside messages, and leaves ordinary text', () => {
    expect(JSON.stringify({ message: `failed with ${secret} inside` }, redact)).toBe(
      `{"message":"failed with ${REDACTED} inside"}`,
    );
    expect(JSON.stringify({ arn: 'arn:aws:iam::123456789012:user/machine/ci-deploy' }, redact)).toContain(
      'ci-deploy',
    );
  });
});

describe('redact: every secret-named field, whatever its value', () => {
  it.each([
    'SecretAccessKey',
    'secretAccessKey',
    'aws_secret_access_key',
    'SecretString',
    'SecretBinary',
    'SessionToken',
    'sessionToken',
    'Password',
    'Authorization',
    'token',
  ])('%s', (field) => {
    expect(redact(field, 'short')).toBe(REDACTED);
    expect(redact(field, 12)).toBe(REDACTED);
  });

  it('leaves other fields, empty values and the root alone', () => {
    expect(redact('AccessKeyId', 'AKIAEXAMPLE')).toBe('AKIAEXAMPLE');
    expect(redact('clientRequestToken', '11111111-2222-3333-4444-555555555555')).toBe(
      '11111111-2222-3333-4444-555555555555',
    );
    expect(redact('SecretAccessKey', undefined)).toBeUndefined();
    expect(redact('SecretAccessKey', null)).toBeNull();
    const root = { a: 1 };
    expect(redact('', root)).toBe(root);
  });
});

describe('redactText', () => {
  const token = `IQoJb3JpZ2luX2VjE${'A'.repeat(120)}==`;
  it.each([
    [`key ${secret} here`, `key ${REDACTED} here`],
    [`SecretAccessKey=${secret}&x=1`, `SecretAccessKey=${REDACTED}&x=1`],
    [`"SessionToken": "abc.def"`, `"SessionToken": "${REDACTED}"`],
    [`aws_session_token = short-token`, `aws_session_token = ${REDACTED}`],
    [`password: hunter2)`, `password: ${REDACTED})`],
    [`Authorization:AWS4-HMAC x`, `Authorization:${REDACTED} x`],
    [`token ${token} end`, `token ${REDACTED} end`],
  ])('%s -> %s', (text, expected) => {
    expect(redactText(text)).toBe(expected);
  });

  it.each([
    'arn:aws:iam::123456789012:user/machine/ci-deploy',
    'AKIAIOSFODNN7EXAMPLE',
    '11111111-2222-3333-4444-555555555555',
    'a'.repeat(39),
    'a'.repeat(41),
    `${'b'.repeat(99)}`,
    'the key was rotated; a password reset is not needed',
  ])('leaves %s alone', (text) => {
    expect(redactText(text)).toBe(text);
  });
});

describe('redactError', () => {
  it('scrubs the message and stack of an error and of every cause, keeping its class', () => {
    const cause = new Error(`inner ${secret}`);
    const error = new TypeError(`outer SessionToken=abc`, { cause });
    expect(redactError(error)).toBe(error);
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toBe(`outer SessionToken=${REDACTED}`);
    expect(error.stack).toContain(`outer SessionToken=${REDACTED}`);
    expect(cause.message).toBe(`inner ${REDACTED}`);
    expect(cause.stack).not.toContain(secret);
  });

  it('stops at a cause cycle, and passes non-errors through', () => {
    const error = new Error(secret);
    Object.assign(error, { cause: error });
    expect(redactError(error).message).toBe(REDACTED);
    expect(redactError('text')).toBe('text');
  });
});

describe('redactErrors (the handlers’ middy middleware)', () => {
  it('scrubs the error a handler throws, in place', () => {
    const error = new Error(`failed with ${secret}`);
    const request = { error } as { error: Error };
    const middleware = redactErrors();
    middleware.onError?.(request as never);
    expect(request.error).toBe(error);
    expect(error.message).toBe(`failed with ${REDACTED}`);
  });
});

describe('createLogger', () => {
  it('writes JSON lines with secret-named fields and secret-shaped text redacted', () => {
    const lines: string[] = [];
    const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      lines.push(String(chunk));
      return true;
    });
    try {
      createLogger().info(`key ${secret}`, {
        AccessKey: { AccessKeyId: 'AKIAEXAMPLE', SecretAccessKey: 'x' },
      });
    } finally {
      write.mockRestore();
    }
    const line = JSON.parse(lines.join('')) as Record<string, unknown>;
    expect(line).toMatchObject({
      service: 'keyrot',
      message: `key ${REDACTED}`,
      AccessKey: { AccessKeyId: 'AKIAEXAMPLE', SecretAccessKey: REDACTED },
    });
  });
});

describe('redactError, when the stack was read before', () => {
  it('scrubs the stack too (V8 formats a stack once, at its first read)', () => {
    const error = new Error(`failed with ${secret}`);
    expect(error.stack).toContain(secret);
    redactError(error);
    expect(error.stack).not.toContain(secret);
    expect(error.stack).toContain(`failed with ${REDACTED}`);
  });
});
