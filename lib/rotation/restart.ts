import { errorName } from '../aws/errors.js';
import type { Config } from '../config.js';
import { NotManagedError, RotationInProgressError } from '../errors.js';
import { listAccessKeys } from '../inventory/per-user.js';
import { cancelPending, describeSecret, secretNameFor } from '../secret/secret.js';
import { getIamUser, requireMachineUser, requireTagsMatchIam } from '../secret/state.js';
import { readVersion } from '../secret/value.js';
import type { RotationDeps } from './steps.js';
import { unfinishedRotation } from './stuck.js';

export interface RestartResult {
  /** The AWSPENDING version taken off, or undefined when no rotation was unfinished. */
  cancelledVersion?: string;
  /** Why cancelling it was safe. */
  why?: string;
}

/**
 * Cancels a stuck rotation so that a new one can start: it records the cancellation (so the next
 * locally driven rotation derives a new token) and takes the AWSPENDING label off the pending version, which is what Secrets Manager looks at before it refuses RotateSecret with "A previous
 * rotation isn't complete" (Secrets Manager User Guide, "Troubleshoot rotation": remove the
 * AWSPENDING label from the version). It never deletes a key. It cancels only an attempt nothing can
 * depend on: a pending version with no value yet (the stub RotateSecret makes, on AWS), or one whose
 * key no longer exists in IAM. A pending key that still exists may already be at a target (setSecret
 * ran), so that rotation is finished instead, by resuming it (`keyrot rotate --user`), once the
 * cause of the failure is fixed.
 */
export async function restartRotation(
  deps: Pick<RotationDeps, 'clients' | 'clock'>,
  config: Config,
  userName: string,
): Promise<RestartResult> {
  const { iam, secrets } = deps.clients;
  const user = await getIamUser(iam, userName);
  requireMachineUser(config, user);
  const name = secretNameFor(config, userName);
  const snapshot = await describeSecret(secrets, name).catch((error: unknown) => {
    if (errorName(error) !== 'ResourceNotFoundException') throw error;
    throw new NotManagedError(
      `${userName} has no keyrot secret (${name}), so there is no rotation to restart. Rotate it: keyrot rotate --user ${userName}.`,
    );
  });
  requireTagsMatchIam(snapshot, user);
  const unfinished = await unfinishedRotation(
    secrets,
    snapshot,
    deps.clock.now(),
    config.rotation.stuckAfterHours,
  );
  if (unfinished === undefined) return {};
  const read = await readVersion(secrets, snapshot.arn, unfinished.versionId);
  let why: string;
  if (read.kind === 'empty') {
    why = 'it holds no key yet';
  } else if (read.kind === 'credential') {
    const keyId = read.value.AccessKeyId;
    const exists = (await listAccessKeys(iam, userName)).some((k) => k.accessKeyId === keyId);
    if (exists) {
      throw new RotationInProgressError(
        `The unfinished rotation of ${userName} (AWSPENDING version ${unfinished.versionId}) holds key ${keyId}, which exists and may already be at a target, so keyrot won't cancel it. Fix what stopped it (the rotate function's log says), then finish it with "keyrot rotate --user ${userName}".`,
      );
    }
    why = `its key ${keyId} no longer exists in IAM`;
  } else {
    why = 'it holds no keyrot credential';
  }
  await cancelPending(secrets, snapshot.arn, unfinished.versionId, deps.clock.now());
  return { cancelledVersion: unfinished.versionId, why };
}
