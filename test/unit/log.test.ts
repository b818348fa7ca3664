import { describe, expect, it } from 'vitest';
import { REDACTED, redact } from '../../lib/log.js';

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
