import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  SecretsManagerClient,
  TagResourceCommand,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { setSecret } from '../../../lib/rotation/steps.js';
import { TargetFailure } from '../../../lib/targets/failure.js';
import type { Target } from '../../../lib/targets/port.js';
import {
  ARN,
  credential,
  describeOutput,
  fakeTarget,
  mockDeps,
  START,
  TOKEN,
} from '../../helpers/rotation-mocks.js';

const secrets = mockClient(SecretsManagerClient);
beforeEach(() => {
  secrets.reset();
  secrets.on(GetSecretValueCommand).resolves({ SecretString: credential('AKIANEW0000000000000') });
});

const gone: Target = {
  ...fakeTarget('vendor').target,
  type: 'webhook',
  push: async () => ({
    outcome: 'disabled',
    reason: 'webhook target "vendor": the receiver answered 410 Gone',
  }),
};

describe('setSecret with targets', () => {
  it('records a target that answered 410 as disabled, warns, and skips it in later rotations', async () => {
    // Prepare
    const other = fakeTarget('ci-repo');
    const warnings: string[] = [];
    const { deps } = mockDeps([gone, other.target]);
    deps.logger = { info: () => {}, warn: (message) => void warnings.push(message) };
    secrets.on(DescribeSecretCommand).resolves(describeOutput({ [TOKEN]: ['AWSPENDING'] }));
    // Act
    await setSecret(deps, { secretId: ARN, token: TOKEN, userName: 'ci' });
    // Assess: the rotation goes on; the disabled target is recorded and reported.
    expect(secrets).toHaveReceivedCommandWith(TagResourceCommand, {
      Tags: expect.arrayContaining([
        { Key: 'keyrot:target:vendor', Value: `disabled - ${START.toISOString()}` },
      ]),
    });
    expect(warnings).toEqual(['target disabled']);

    // A later rotation: the record says disabled, so it is not pushed to.
    let pushed = 0;
    const counting: Target = {
      ...gone,
      push: async () => {
        pushed += 1;
        return { outcome: 'pushed' };
      },
    };
    const later = mockDeps([counting, other.target]).deps;
    const output = describeOutput({ [TOKEN]: ['AWSPENDING'] });
    output.Tags?.push({ Key: 'keyrot:target:vendor', Value: `disabled - ${START.toISOString()}` });
    secrets.on(DescribeSecretCommand).resolves(output);
    await setSecret(later, { secretId: ARN, token: TOKEN, userName: 'ci' });
    expect(pushed).toBe(0);
    expect(other.pushed).toEqual(['AKIANEW0000000000000', 'AKIANEW0000000000000']);
  });

  it('tries every target even when one fails, records the ones that received the key, then fails', async () => {
    const failing = fakeTarget('ci-repo', {
      push: () =>
        Promise.reject(
          new TargetFailure('unauthorized', 'github-actions target "ci-repo": HTTP 401: fix the token'),
        ),
    });
    const ok = fakeTarget('ci-hook');
    const { deps } = mockDeps([failing.target, ok.target]);
    secrets.on(DescribeSecretCommand).resolves(describeOutput({ [TOKEN]: ['AWSPENDING'] }));
    await expect(setSecret(deps, { secretId: ARN, token: TOKEN, userName: 'ci' })).rejects.toThrow(
      'Pushing the new key of ci failed for 1 of 2 targets; the old key stays current. Fix this, then run keyrot rotate --user ci: it resumes this rotation and pushes again.\n  - github-actions target "ci-repo": HTTP 401: fix the token',
    );
    expect(ok.pushed).toEqual(['AKIANEW0000000000000']);
    expect(secrets).toHaveReceivedCommandWith(TagResourceCommand, {
      Tags: [{ Key: 'keyrot:target:ci-hook', Value: `AKIANEW0000000000000 ${TOKEN} ${START.toISOString()}` }],
    });
  });
});
