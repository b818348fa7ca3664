import { GetUserCommand } from '@aws-sdk/client-iam';
import { CreateSecretCommand, type CreateSecretCommandInput } from '@aws-sdk/client-secrets-manager';
import { errorName } from '../aws/errors.js';
import type { Config } from '../config.js';
import { NotManagedError } from '../errors.js';
import { isMachineUser } from '../policy/plan.js';
import {
  derivedToken,
  describeSecret,
  type SecretSnapshot,
  STAGE,
  TAG,
  unfinishedToken,
} from './secret-state.js';
import { createSecret, finishSecret, type RotationDeps, setSecret, testSecret } from './steps.js';

export interface RotationResult {
  userName: string;
  secretName: string;
  secretArn: string;
  /** The new key, now AWSCURRENT. Its secret is in the secret only. */
  accessKeyId: string;
  /** True when this run picked up a rotation that another run (or Secrets Manager) had started. */
  resumed: boolean;
  /** True when the secret was created by this run. */
  onboarded: boolean;
  /** sts:GetCallerIdentity attempts until IAM accepted the new key. */
  testAttempts: number;
}

export function secretNameFor(config: Pick<Config, 'secretPrefix'>, userName: string): string {
  return `${config.secretPrefix}${userName}`;
}

/** What onboarding creates: the user's secret, tagged as keyrot's, encrypted with the configured key. */
export function createSecretInput(
  config: Pick<Config, 'secretPrefix' | 'secretKmsKeyId'>,
  userName: string,
  userArn: string,
): CreateSecretCommandInput {
  return {
    Name: secretNameFor(config, userName),
    Description: `Access key of the IAM machine user ${userName}, rotated by keyrot`,
    Tags: [
      { Key: TAG.user, Value: userName },
      { Key: TAG.userArn, Value: userArn },
    ],
    ...(config.secretKmsKeyId ? { KmsKeyId: config.secretKmsKeyId } : {}),
  };
}

/** The IAM path in a user ARN (arn:aws:iam::1:user/machine/ci/name -> /machine/ci/). */
export function pathOfArn(arn: string, userName: string): string {
  const resource = arn.split(':').slice(5).join(':');
  return resource.slice('user'.length, resource.length - userName.length);
}

/**
 * Rotates one machine user's key locally, running the four Secrets Manager steps in order with one
 * token, as Secrets Manager would. An unfinished rotation (anyone's) is resumed with its token;
 * otherwise the token is derived from the secret's state, so racing drivers agree on it.
 */
export async function rotateUser(
  deps: RotationDeps,
  config: Config,
  userName: string,
): Promise<RotationResult> {
  const { snapshot, onboarded } = await secretFor(deps, config, userName);
  const userArn = snapshot.userArn;
  if (snapshot.userName !== userName || !userArn) {
    throw new NotManagedError(
      `Secret ${snapshot.name} is not keyrot's secret for ${userName} (its "${TAG.user}" tag says ${JSON.stringify(snapshot.userName ?? null)}). Rename or remove it, or set secretPrefix.`,
    );
  }
  requireMachineUser(config, userName, pathOfArn(userArn, userName));
  const unfinished = unfinishedToken(snapshot);
  const token = unfinished ?? derivedToken(snapshot);
  const input = { secretId: snapshot.arn, token, snapshot };

  const { value, created } = await createSecret(deps, input);
  // What createSecret just did, so later steps need not ask again. The first version of a secret is
  // made current by Secrets Manager itself.
  const stages = created
    ? [STAGE.pending, ...(snapshot.versions.size === 0 ? [STAGE.current] : [])]
    : undefined;
  const after: SecretSnapshot = stages
    ? { ...snapshot, versions: new Map([...snapshot.versions, [token, stages]]) }
    : await describeSecret(deps.clients.secrets, snapshot.arn);
  await setSecret(deps, { ...input, pending: value, userName });
  const { attempts } = await testSecret(deps, { ...input, pending: value, userArn });
  await finishSecret(deps, { ...input, snapshot: after });
  return {
    userName,
    secretName: snapshot.name,
    secretArn: snapshot.arn,
    accessKeyId: value.AccessKeyId,
    resumed: unfinished !== undefined,
    onboarded,
    testAttempts: attempts,
  };
}

function requireMachineUser(config: Config, userName: string, path: string): void {
  if (!isMachineUser({ path }, config.machinePath)) {
    throw new NotManagedError(
      `${userName} is not a machine user (path ${path}); keyrot only rotates users under ${config.machinePath}.`,
    );
  }
}

/** The user's secret, created (onboarding) when it does not exist yet. */
async function secretFor(
  deps: RotationDeps,
  config: Config,
  userName: string,
): Promise<{ snapshot: SecretSnapshot; onboarded: boolean }> {
  const name = secretNameFor(config, userName);
  try {
    return { snapshot: await describeSecret(deps.clients.secrets, name), onboarded: false };
  } catch (error) {
    if (errorName(error) !== 'ResourceNotFoundException') throw error;
  }
  const { User: user } = await deps.clients.iam.send(new GetUserCommand({ UserName: userName }));
  requireMachineUser(config, userName, user?.Path ?? '/');
  try {
    const createdSecret = await deps.clients.secrets.send(
      new CreateSecretCommand(createSecretInput(config, userName, user?.Arn ?? '')),
    );
    const snapshot: SecretSnapshot = {
      arn: createdSecret.ARN ?? '',
      name,
      rotationEnabled: false,
      versions: new Map(),
      tags: { [TAG.user]: userName, [TAG.userArn]: user?.Arn ?? '' },
      userName,
      userArn: user?.Arn ?? '',
    };
    return { snapshot, onboarded: true };
  } catch (error) {
    // Another driver onboarded the user first: use its secret.
    if (errorName(error) !== 'ResourceExistsException') throw error;
    return { snapshot: await describeSecret(deps.clients.secrets, name), onboarded: false };
  }
}
