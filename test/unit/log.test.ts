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

// The patterns one by one, with exact inputs: each name the code lists, the boundaries of each shape
// (lengths 39, 40, 41; 99, 100; what may stand next to a key) and the anchors of `^token$`.
describe('the redaction marker', () => {
  it('is the literal text [REDACTED], wherever it replaces something', () => {
    expect(REDACTED).toBe('[REDACTED]');
    expect(JSON.stringify({ SecretAccessKey: 'x', note: `with ${secret}` }, redact)).toBe(
      '{"SecretAccessKey":"[REDACTED]","note":"with [REDACTED]"}',
    );
  });
});

describe('redact: field names, their case and the anchors of "token"', () => {
  it.each([
    'secretaccesskey',
    'SECRETACCESSKEY',
    'AWS_SECRET_ACCESS_KEY',
    'secretString',
    'SECRETBINARY',
    'aws_sessionToken',
    'dbPassword',
    'ProxyAuthorization',
    'TOKEN',
    'Token',
  ])('%s is redacted', (field) => {
    expect(redact(field, 'value')).toBe('[REDACTED]');
  });

  it.each([
    // The name of the Secrets Manager secret that holds a target's token: a name, not the token.
    ['tokenSecretId', 'keyrot-tokens/github'],
    ['tokens', '2'],
    ['mytoken', 'name'],
    ['clientRequestToken', '11111111-2222-3333-4444-555555555555'],
    ['SecretId', 'keyrot/ci-deploy'],
    ['secretName', 'keyrot/ci-deploy'],
    ['AccessKeyId', 'AKIAIOSFODNN7EXAMPLE'],
  ])('%s is left alone', (field, value) => {
    expect(redact(field, value)).toBe(value);
  });

  it('treats the root value like any value: a secret-shaped root string is redacted, a root object kept', () => {
    expect(JSON.stringify(secret, redact)).toBe('"[REDACTED]"');
    expect(JSON.stringify({ n: 1 }, redact)).toBe('{"n":1}');
  });
});

describe('redactText: the shape of a secret access key (40 characters standing alone)', () => {
  const forty = 'abcdefghij+/ABCDEFGHIJ0123456789klmnopqr';
  it('the examples have the lengths they claim', () => {
    expect(forty).toHaveLength(40);
    expect(secret).toHaveLength(40);
  });

  it.each([
    [forty, '[REDACTED]'],
    [`${forty} at the start`, '[REDACTED] at the start'],
    [`at the end ${forty}`, 'at the end [REDACTED]'],
    [`"${forty}"`, '"[REDACTED]"'],
    [`'${forty}'`, "'[REDACTED]'"],
    [`(${forty})`, '([REDACTED])'],
    [`id:${forty},`, 'id:[REDACTED],'],
    [`line\n${forty}\nline`, 'line\n[REDACTED]\nline'],
    [`ci-deploy_${forty}-x`, 'ci-deploy_[REDACTED]-x'],
    [`${forty}.`, '[REDACTED].'],
    // After an `=`: the value of an assignment whose name is not one of the secret names.
    [`secretKey=${secret}`, `secretKey=${REDACTED}`],
    [`--secret-access-key=${secret}`, `--secret-access-key=${REDACTED}`],
    [`?k=${secret}&x=1`, `?k=${REDACTED}&x=1`],
    [`two ${secret} and ${forty}`, `two ${REDACTED} and ${REDACTED}`],
  ])('%j -> %j', (text, expected) => {
    expect(redactText(text)).toBe(expected);
  });

  it.each([
    ['39 characters', 'c'.repeat(39)],
    ['41 characters', 'c'.repeat(41)],
    ['a letter before', `x${forty}`],
    ['a digit after', `${forty}7`],
    ['a slash before', `/${forty}`],
    ['a plus after', `${forty}+`],
    ['base64 padding after (42 characters)', `${forty}==`],
    ['an access key id', 'AKIAIOSFODNN7EXAMPLE'],
    ['an ARN', 'arn:aws:iam::123456789012:user/machine/ci-deploy'],
  ])('leaves a run that is not 40 long alone: %s', (_, text) => {
    expect(redactText(text)).toBe(text);
  });
});

describe('redactText: the shape of a session token (100 or more characters)', () => {
  it.each([
    ['exactly 100', 'A'.repeat(100)],
    ['with / + and padding', `IQoJb3JpZ2luX2Vj/+${'Z'.repeat(80)}==`],
    ['long', 'B'.repeat(1200)],
  ])('%s is redacted', (_, token) => {
    expect(token.length).toBeGreaterThanOrEqual(100);
    expect(redactText(`token ${token} end`)).toBe('token [REDACTED] end');
  });

  it('takes the whole run, whatever stands next to it', () => {
    expect(redactText(`X-Amz-Security-Token=${'Q'.repeat(150)}&X-Amz-Date=20261123`)).toBe(
      'X-Amz-Security-[REDACTED]&X-Amz-Date=20261123',
    );
  });

  it('leaves 99 characters alone', () => {
    const text = `run ${'D'.repeat(99)} end`;
    expect(redactText(text)).toBe(text);
  });
});

describe('redactText: secret-named assignments, whatever the value', () => {
  it.each([
    ['SecretAccessKey=abc', 'SecretAccessKey=[REDACTED]'],
    ['secret_access_key=abc', 'secret_access_key=[REDACTED]'],
    ['secretaccess_key=abc', 'secretaccess_key=[REDACTED]'],
    ['secret_accesskey=abc', 'secret_accesskey=[REDACTED]'],
    ['AWS_SECRET_ACCESS_KEY=abc', 'AWS_SECRET_ACCESS_KEY=[REDACTED]'],
    ['SessionToken=abc', 'SessionToken=[REDACTED]'],
    ['session_token=abc', 'session_token=[REDACTED]'],
    ['SecretString={abc}', 'SecretString=[REDACTED]'],
    ['secret_string=abc', 'secret_string=[REDACTED]'],
    ['PASSWORD=abc', 'PASSWORD=[REDACTED]'],
    ['dbpassword=abc', 'dbpassword=[REDACTED]'],
    ['authorization=abc', 'authorization=[REDACTED]'],
  ])('name: %s -> %s', (text, expected) => {
    expect(redactText(text)).toBe(expected);
  });

  it.each([
    ['password=abc', 'password=[REDACTED]'],
    ['password:abc', 'password:[REDACTED]'],
    ['password = abc', 'password = [REDACTED]'],
    ['password:\tabc', 'password:\t[REDACTED]'],
    ['"password":"abc"', '"password":"[REDACTED]"'],
    ['"password": "abc"', '"password": "[REDACTED]"'],
    ["'password': 'abc'", "'password': '[REDACTED]'"],
    ['password="abc"', 'password="[REDACTED]"'],
  ])('separator: %s -> %s', (text, expected) => {
    expect(redactText(text)).toBe(expected);
  });

  it.each([
    ['password=abc def', 'password=[REDACTED] def'],
    ['password=abc&user=x', 'password=[REDACTED]&user=x'],
    ['password=abc,user=x', 'password=[REDACTED],user=x'],
    ['password=abc;user=x', 'password=[REDACTED];user=x'],
    ['(password=abc)', '(password=[REDACTED])'],
    ['password=a.b-c/d+e', 'password=[REDACTED]'],
  ])('the value ends where it must: %s -> %s', (text, expected) => {
    expect(redactText(text)).toBe(expected);
  });

  it.each([
    'password reset is not needed',
    'the session token expired',
    'password=',
    'password=""',
    'SecretId=keyrot/ci-deploy',
  ])('leaves %j alone', (text) => {
    expect(redactText(text)).toBe(text);
  });
});

describe('redactError, when an error has no stack', () => {
  it('scrubs the message and goes on to the cause, leaving the missing stack missing', () => {
    const cause = new Error(`inner ${secret}`);
    const error = new Error(`outer password=hunter2`, { cause });
    error.stack = undefined;
    expect(redactError(error)).toBe(error);
    expect(error.message).toBe('outer password=[REDACTED]');
    expect(error.stack).toBeUndefined();
    expect(cause.message).toBe('inner [REDACTED]');
    expect(cause.stack).toContain('inner [REDACTED]');
  });
});
