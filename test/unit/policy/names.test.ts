import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../../../lib/config.js';
import { isTagValue, unmanageableReason } from '../../../lib/policy/names.js';
import { createSecretInput, formatIntent } from '../../../lib/secret/secret.js';

const arnFor = (path: string, name: string) => `arn:aws:iam::123456789012:user${path}${name}`;

describe('names AWS refuses', () => {
  it('accepts every IAM user name character but ",", and ordinary paths', () => {
    expect(
      unmanageableReason({ userName: 'ci+deploy=x.y@z_1-2', arn: arnFor('/machine/ci/', 'ci') }),
    ).toBeUndefined();
  });

  it('refuses a user name with ",", which secret names and tag values refuse', () => {
    expect(unmanageableReason({ userName: 'etl,eu', arn: arnFor('/machine/', 'etl,eu') })).toBe(
      `its name contains ",", which IAM allows but Secrets Manager secret names and tag values refuse, so keyrot can't give it a secret; create a user whose name has none, move its consumers there and delete this one`,
    );
  });

  it('names every character it refuses, once each, in order', () => {
    expect(unmanageableReason({ userName: 'etl,eu#1,x#', arn: arnFor('/machine/', 'etl') })).toMatch(
      /^its name contains ",", "#", which IAM allows/,
    );
  });

  it('refuses a user whose ARN is longer than a tag value holds (IAM paths may be 512 characters)', () => {
    const fits = `/machine/${'a'.repeat(256 - arnFor('/machine//', 'ci').length)}/`;
    expect(arnFor(fits, 'ci')).toHaveLength(256);
    expect(unmanageableReason({ userName: 'ci', arn: arnFor(fits, 'ci') })).toBeUndefined();
    const long = arnFor(`/machine/${'a'.repeat(230)}/`, 'ci');
    expect(unmanageableReason({ userName: 'ci', arn: long })).toBe(
      `its ARN is ${long.length} characters long (a long IAM path), more than the 256 a tag value holds, so keyrot can't record it on the secret (keyrot:user-arn); create the user under a shorter path`,
    );
    expect(long.length).toBeGreaterThan(256);
  });

  it('refuses a path with characters tag values refuse', () => {
    expect(unmanageableReason({ userName: 'ci', arn: arnFor('/machine/team#1,eu/', 'ci') })).toMatch(
      /^its path contains "#", ",", which tag values refuse/,
    );
  });

  it('writes only tag values AWS accepts: the user tags and an intent listing two keys', () => {
    const input = createSecretInput(defaultConfig, 'ci', arnFor('/machine/', 'ci'));
    for (const tag of input.Tags ?? []) expect(isTagValue(tag.Value ?? '')).toBe(true);
    const intent = formatIntent({
      token: '3f2a5c1e-1111-2222-3333-444455556666',
      at: new Date('2026-06-01T00:00:00Z'),
      knownKeyIds: ['AKIAAAAAAAAAAAAAAAAA', 'AKIABBBBBBBBBBBBBBBB'],
    });
    expect(intent).toBe(
      '3f2a5c1e-1111-2222-3333-444455556666 1780272000 AKIAAAAAAAAAAAAAAAAA+AKIABBBBBBBBBBBBBBBB',
    );
    expect(isTagValue(intent)).toBe(true);
    expect(isTagValue('a,b')).toBe(false);
    expect(isTagValue('x'.repeat(257))).toBe(false);
  });
});
