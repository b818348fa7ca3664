import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { errorName } from '../aws/errors.js';
import { wholeDaysBetween } from '../clock.js';
import type { Config } from '../config.js';
import { KeyLimitError, NotManagedError } from '../errors.js';
import { listAccessKeys, withLastUse } from '../inventory/per-user.js';
import { unmanageableReason } from '../policy/names.js';
import {
  createSecretInput,
  derivedToken,
  describeSecret,
  type SecretSnapshot,
  secretNameFor,
  TAG,
  unfinishedToken,
} from '../secret/secret.js';
import { getIamUser, type IamUser, requireMachineUser, requireTagsMatchIam } from '../secret/state.js';
import { createSecret, finishSecret, type RotationDeps, setSecret, testSecret } from './steps.js';
import type { RedeployFailure } from './targets.js';

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
  /** Inactive keys deleted to make room for the new key. */
  deletedForRoom: string[];
  /** Keys a crashed attempt created and never stored, deleted. */
  orphansDeleted: string[];
  /** Redeploys that failed after the cut-over (the new key is current and stored regardless). */
  redeployFailures: RedeployFailure[];
}

/**
 * Rotates one machine user's key locally, running the four Secrets Manager steps in order with one
 * token, as Secrets Manager would. The user's path and ARN come from IAM, and the secret's tags must
 * agree with IAM. An unfinished rotation (anyone's) is resumed with its token; otherwise the token is
 * derived from the secret's state, so racing drivers agree on it.
 */
export async function rotateUser(
  deps: RotationDeps,
  config: Config,
  userName: string,
): Promise<RotationResult> {
  const user = await getIamUser(deps.clients.iam, userName);
  requireMachineUser(config, user);
  const unmanageable = unmanageableReason(user);
  if (unmanageable !== undefined)
    throw new NotManagedError(`keyrot can't manage ${userName}: ${unmanageable}.`);
  const { snapshot, onboarded } = await secretFor(deps, config, user);
  requireTagsMatchIam(snapshot, user);
  const unfinished = unfinishedToken(snapshot);
  const token = unfinished ?? derivedToken(snapshot);
  const input = { secretId: snapshot.arn, token, snapshot };

  const created = await createSecret(deps, input);
  const { value } = created;
  await setSecret(deps, { ...input, pending: value, userName });
  const { attempts } = await testSecret(deps, { ...input, pending: value, userArn: user.arn });
  // finishSecret reads the secret afresh: what createSecret's write did to the stages (the first
  // version of a secret may or may not have been made current) is Secrets Manager's to say.
  const { redeployFailures } = await finishSecret(deps, { secretId: snapshot.arn, token });
  return {
    userName,
    secretName: snapshot.name,
    secretArn: snapshot.arn,
    accessKeyId: value.AccessKeyId,
    resumed: unfinished !== undefined,
    onboarded,
    testAttempts: attempts,
    deletedForRoom: created.deletedForRoom,
    orphansDeleted: created.orphansDeleted,
    redeployFailures,
  };
}

/**
 * The user's secret, created (onboarding) when it does not exist yet. Before creating it, the user
 * must have room for a new key: two active keys, or an inactive one used within the idle window,
 * stop the rotation here, so a refused onboarding leaves no empty secret behind.
 */
async function secretFor(
  deps: RotationDeps,
  config: Config,
  user: IamUser,
): Promise<{ snapshot: SecretSnapshot; onboarded: boolean }> {
  const name = secretNameFor(config, user.userName);
  try {
    return { snapshot: await describeSecret(deps.clients.secrets, name), onboarded: false };
  } catch (error) {
    if (errorName(error) !== 'ResourceNotFoundException') throw error;
  }
  await requireRoom(deps, config, user.userName);
  try {
    const createdSecret = await deps.clients.secrets.send(
      new CreateSecretCommand(createSecretInput(config, user.userName, user.arn)),
    );
    const snapshot: SecretSnapshot = {
      arn: createdSecret.ARN ?? '',
      name,
      rotationEnabled: false,
      versions: new Map(),
      tags: { [TAG.user]: user.userName, [TAG.userArn]: user.arn },
      userName: user.userName,
      userArn: user.arn,
    };
    return { snapshot, onboarded: true };
  } catch (error) {
    // Another driver onboarded the user first: use its secret.
    if (errorName(error) !== 'ResourceExistsException') throw error;
    return { snapshot: await describeSecret(deps.clients.secrets, name), onboarded: false };
  }
}

/** Before onboarding: the rotation will find a key slot (the key guard's make-room rules, in short). */
async function requireRoom(deps: RotationDeps, config: Config, userName: string): Promise<void> {
  const keys = await listAccessKeys(deps.clients.iam, userName);
  if (keys.length < 2) return;
  const now = deps.clock.now();
  for (const key of keys) {
    if (key.status !== 'Inactive') continue;
    const used = await withLastUse(deps.clients.iam, key);
    const idle = used.lastUsedAt ? wholeDaysBetween(used.lastUsedAt, now) : undefined;
    if (idle === undefined || idle >= config.policy.idleDaysBeforeDeactivate) return;
  }
  throw new KeyLimitError(
    `${userName} has no free key slot: ${keys.map((k) => `${k.accessKeyId} (${k.status})`).join(' and ')}. keyrot only deletes an inactive key unused for idleDaysBeforeDeactivate (${config.policy.idleDaysBeforeDeactivate}) to make room. Deactivate the key no consumer uses, or in an emergency: keyrot rotate --user ${userName} --compromised. Nothing was changed.`,
  );
}
