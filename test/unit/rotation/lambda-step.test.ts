import { GetUserCommand, IAMClient, ListAccessKeysCommand } from '@aws-sdk/client-iam';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  SecretsManagerClient,
  TagResourceCommand,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { defaultConfig } from '../../../lib/config.js';
import { NotManagedError } from '../../../lib/errors.js';
import { RotationRequestError, runRotationStep } from '../../../lib/rotation/lambda-step.js';
import { awsError } from '../../helpers/aws-errors.js';
import {
  ARN,
  credential,
  describeOutput,
  machineUser,
  mockDeps,
  TOKEN,
} from '../../helpers/rotation-mocks.js';

const iam = mockClient(IAMClient);
const secrets = mockClient(SecretsManagerClient);
const event = (Step: string, ClientRequestToken = TOKEN) => ({ Step, SecretId: ARN, ClientRequestToken });
const changed = () =>
  secrets.commandCalls(TagResourceCommand).length +
  secrets.commandCalls(UpdateSecretVersionStageCommand).length +
  iam.calls().length -
  iam.commandCalls(GetUserCommand).length;

beforeEach(() => {
  iam.reset();
  secrets.reset();
  iam.on(GetUserCommand).resolves(machineUser());
});

describe('runRotationStep refuses, changing nothing', () => {
  it.each([
    [
      { Step: 'rotateEverything', SecretId: ARN, ClientRequestToken: TOKEN },
      'Unknown rotation step "rotateEverything"; expected one of createSecret, setSecret, testSecret, finishSecret.',
    ],
    [{ Step: 'createSecret', ClientRequestToken: TOKEN }, 'The rotation event has no SecretId.'],
    [{ Step: 'createSecret', SecretId: ARN }, 'The rotation event has no ClientRequestToken.'],
    [null, 'Unknown rotation step null; expected one of createSecret, setSecret, testSecret, finishSecret.'],
  ])('a malformed event %j', async (raw, message) => {
    const { deps } = mockDeps();
    await expect(runRotationStep(deps, defaultConfig, raw)).rejects.toThrow(
      new RotationRequestError(message),
    );
    expect(secrets.calls()).toHaveLength(0);
  });

  it('a secret outside the prefix, or without keyrot tags', async () => {
    const { deps } = mockDeps();
    secrets
      .on(DescribeSecretCommand)
      .resolvesOnce(describeOutput({}, { name: 'prod/db-password' }))
      .resolvesOnce(describeOutput({}, { tags: false }));
    await expect(runRotationStep(deps, defaultConfig, event('createSecret'))).rejects.toThrow(
      /^Secret prod\/db-password is not a keyrot secret \(it needs the prefix "keyrot\/" and the tags keyrot:user and keyrot:user-arn\); refusing to rotate it\.$/,
    );
    await expect(runRotationStep(deps, defaultConfig, event('createSecret'))).rejects.toBeInstanceOf(
      NotManagedError,
    );
    expect(changed()).toBe(0);
  });

  it('a secret with rotation off', async () => {
    const { deps } = mockDeps();
    secrets
      .on(DescribeSecretCommand)
      .resolves(describeOutput({ [TOKEN]: ['AWSPENDING'] }, { rotationEnabled: false }));
    await expect(runRotationStep(deps, defaultConfig, event('setSecret'))).rejects.toThrow(
      'Rotation is not enabled on secret keyrot/ci.',
    );
    expect(changed()).toBe(0);
  });

  it.each([
    ['createSecret', { [TOKEN]: ['AWSPREVIOUS'] }, '["AWSPREVIOUS"]'],
    // Secrets Manager makes the pending version before it invokes createSecret: it never sends a
    // token without one.
    ['createSecret', { V1: ['AWSCURRENT'] }, 'no such version'],
    ['setSecret', { V1: ['AWSCURRENT'] }, 'no such version'],
    ['testSecret', { [TOKEN]: ['AWSCURRENT'] }, '["AWSCURRENT"]'],
    ['finishSecret', { [TOKEN]: [] }, '[]'],
  ])('%s with a foreign token (%j)', async (step, versions, stages) => {
    const { deps } = mockDeps();
    secrets.on(DescribeSecretCommand).resolves(describeOutput(versions));
    await expect(runRotationStep(deps, defaultConfig, event(step))).rejects.toThrow(
      `Token ${TOKEN} is not the pending version of keyrot/ci (its stages: ${stages}).`,
    );
    expect(changed()).toBe(0);
  });
});

describe('runRotationStep runs', () => {
  it('finishSecret replayed on the token that is already current', async () => {
    const { deps } = mockDeps();
    secrets
      .on(DescribeSecretCommand)
      .resolves(describeOutput({ [TOKEN]: ['AWSCURRENT'] }, { cutover: TOKEN }));
    expect(await runRotationStep(deps, defaultConfig, event('finishSecret'))).toEqual({
      step: 'finishSecret',
      user: 'ci',
      moved: false,
      redeployFailures: [],
    });
    expect(changed()).toBe(0);
  });

  it('createSecret on the empty pending version RotateSecret made, with no AWSCURRENT anywhere', async () => {
    const { deps } = mockDeps();
    secrets.on(DescribeSecretCommand).resolves(describeOutput({ [TOKEN]: ['AWSPENDING'] }));
    // The version has no value yet: Secrets Manager answers ResourceNotFoundException.
    secrets.on(GetSecretValueCommand).rejects(awsError('ResourceNotFoundException'));
    iam.on(ListAccessKeysCommand).rejects(new Error('reached IAM'));
    await expect(runRotationStep(deps, defaultConfig, event('createSecret'))).rejects.toThrow('reached IAM');
  });

  it('setSecret on the pending token', async () => {
    const { deps } = mockDeps();
    secrets
      .on(DescribeSecretCommand)
      .resolves(describeOutput({ V1: ['AWSCURRENT'], [TOKEN]: ['AWSPENDING'] }));
    secrets.on(GetSecretValueCommand).resolves({ SecretString: credential('AKIANEW0000000000000') });
    expect(await runRotationStep(deps, defaultConfig, event('setSecret'))).toEqual({
      step: 'setSecret',
      user: 'ci',
    });
  });
});
