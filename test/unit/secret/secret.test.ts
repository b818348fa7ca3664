import { describe, expect, it } from 'vitest';
import { derivedToken, toSnapshot, unfinishedToken } from '../../../lib/secret/secret.js';
import { parseSecretValue } from '../../../lib/secret/value.js';
import { credential, describeOutput } from '../../helpers/rotation-mocks.js';

describe('unfinishedToken', () => {
  it.each([
    ['no versions', {}, undefined, undefined],
    ['a finished rotation', { A: ['AWSPREVIOUS'], B: ['AWSCURRENT', 'AWSPENDING'] }, 'B', undefined],
    ['a pending version that is not current', { A: ['AWSCURRENT'], B: ['AWSPENDING'] }, 'A', 'B'],
    [
      'a first version, current but its cut-over never recorded',
      { A: ['AWSCURRENT', 'AWSPENDING'] },
      undefined,
      'A',
    ],
    ['a hand-made current version', { A: ['AWSCURRENT'] }, undefined, undefined],
  ])('%s', (_name, versions, cutover, expected) => {
    expect(unfinishedToken(toSnapshot(describeOutput(versions, cutover ? { cutover } : {})))).toBe(expected);
  });
});

describe('derivedToken', () => {
  it('is the same for the same state, changes when the state moves on, and is a valid request token', () => {
    const before = toSnapshot(describeOutput({ A: ['AWSCURRENT'] }, { cutover: 'A' }));
    const after = toSnapshot(describeOutput({ A: ['AWSPREVIOUS'], B: ['AWSCURRENT'] }, { cutover: 'B' }));
    expect(derivedToken(before)).toBe(
      derivedToken(toSnapshot(describeOutput({ A: ['AWSCURRENT'] }, { cutover: 'A' }))),
    );
    expect(derivedToken(after)).not.toBe(derivedToken(before));
    expect(derivedToken(before)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  });
});

describe('parseSecretValue', () => {
  it('reads a keyrot credential and refuses anything else without echoing it', () => {
    expect(parseSecretValue(credential('AKIAEXAMPLE000000000'))).toMatchObject({
      Version: 1,
      AccessKeyId: 'AKIAEXAMPLE000000000',
    });
    expect(parseSecretValue('{"password":"hunter2"}')).toBeUndefined();
    expect(parseSecretValue('not json')).toBeUndefined();
    expect(parseSecretValue(undefined)).toBeUndefined();
  });
});
