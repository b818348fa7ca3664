import { TagResourceCommand, UpdateSecretVersionStageCommand } from '@aws-sdk/client-secrets-manager';
import type { Config } from '../config.js';
import { BrokenUserError, KeyrotError, NotManagedError } from '../errors.js';
import { reactivateKey } from '../secret/guard.js';
import { STAGE, secretNameFor, TAG, unfinishedToken, versionWith } from '../secret/secret.js';
import { readManagedUser } from '../secret/state.js';
import { type RotationDeps, setSecret } from './steps.js';

export interface RollbackResult {
  userName: string;
  secretName: string;
  /** The key that is AWSCURRENT again. */
  restoredKeyId: string;
  reactivated: boolean;
  /** The newer key, now AWSPREVIOUS: retirement deactivates and deletes it as usual. */
  replacedKeyId?: string;
  /** True when this run only completed a rollback that an earlier run had begun. */
  completed: boolean;
}

/**
 * For when a new key breaks a consumer, while the previous key still exists: reactivate the previous
 * key, make its version AWSCURRENT again (the newer one becomes AWSPREVIOUS, so retirement takes it
 * from here), push it to the targets again, and record the cut-over. No version is deleted.
 * The user comes from IAM and the secret must agree with it. A broken user (AWSCURRENT's key missing
 * or inactive) is refused: a rollback can't tell an interrupted rollback from a hand edit there.
 */
export async function rollbackUser(
  deps: RotationDeps,
  config: Config,
  userName: string,
): Promise<RollbackResult> {
  const { secrets } = deps.clients;
  const managed = await readManagedUser(deps, config, userName);
  if (managed === undefined) {
    throw new NotManagedError(
      `${userName} has no keyrot secret (${secretNameFor(config, userName)}), so there is nothing to roll back to. Rotate it first: keyrot rotate --user ${userName}.`,
    );
  }
  const { snapshot, stages, keys } = managed;
  if (unfinishedToken(snapshot) !== undefined) {
    throw new KeyrotError(
      `A rotation of ${userName} is unfinished; finish it (keyrot rotate --user ${userName}) before rolling back, or abandon it (keyrot rollback --user ${userName} --abandon).`,
    );
  }
  if (managed.broken) {
    throw new BrokenUserError(
      `Can't roll back ${userName}: ${managed.broken.detail}. Fix: ${managed.broken.fix}`,
      managed.broken,
    );
  }
  // Not broken, no rotation unfinished: AWSCURRENT holds this user's credential, for a key IAM has and
  // that is Active; or no version holds any stage yet (a secret whose first key was never stored).
  const { current, previous } = stages;
  if (current?.kind !== 'credential') {
    throw new KeyrotError(
      `${snapshot.name} has no AWSCURRENT version: keyrot has not stored a key of ${userName} in it yet, so there is nothing to roll back to. Rotate it: keyrot rotate --user ${userName}.`,
    );
  }
  if (previous === undefined) {
    throw new KeyrotError(
      `${snapshot.name} has no previous version to roll back to: keyrot has stored only one key of ${userName} so far. A key from before keyrot, if the user had one, is unchanged in IAM until retirement takes it out; \`keyrot status --user ${userName}\` shows the keys.`,
    );
  }
  // Secrets Manager moves AWSPREVIOUS off the new version whenever AWSCURRENT moves; only a hand edit
  // puts both on one version, and then no older version is named to roll back to.
  if (previous.versionId === current.versionId) {
    throw new KeyrotError(
      `AWSPREVIOUS of ${snapshot.name} is on its AWSCURRENT version ${current.versionId} (a hand edit), so no older version is named to roll back to. Put AWSPREVIOUS on the version to restore, then roll back.`,
    );
  }

  // A rollback that moved AWSCURRENT but crashed before recording the cut-over: the cut-over still
  // names the version it demoted. Finish it, don't flip back. The crash may have come before or during
  // the push: push again (idempotent), then record.
  if (snapshot.cutover?.versionId === previous.versionId) {
    await setSecret(deps, {
      secretId: snapshot.arn,
      token: current.versionId,
      pending: current.value,
      userName,
    });
    await recordCutover(deps, snapshot.arn, current.versionId);
    return {
      userName,
      secretName: snapshot.name,
      restoredKeyId: current.value.AccessKeyId,
      reactivated: false,
      completed: true,
    };
  }
  if (previous.kind !== 'credential' || previous.value.UserName !== userName) {
    throw new KeyrotError(
      `The previous version of ${snapshot.name} holds no keyrot credential of ${userName}; nothing to roll back to.`,
    );
  }
  const restore = previous.value;
  const key = keys.find((k) => k.accessKeyId === restore.AccessKeyId);
  if (key === undefined) {
    throw new KeyrotError(
      `Can't roll back ${userName}: the previous key ${restore.AccessKeyId} no longer exists (retirement deleted it). Rotate instead: keyrot rotate --user ${userName}.`,
    );
  }
  const reactivated = key.status === 'Inactive';
  if (reactivated) await reactivateKey(deps, userName, snapshot.arn, restore.AccessKeyId);
  // A driven rotation leaves AWSPENDING on the version it made current. Detach it before demoting that
  // version, or it would look like an unfinished rotation. (Harmless if the run stops right here.)
  if (versionWith(snapshot, STAGE.pending) === current.versionId) {
    await secrets.send(
      new UpdateSecretVersionStageCommand({
        SecretId: snapshot.arn,
        VersionStage: STAGE.pending,
        RemoveFromVersionId: current.versionId,
      }),
    );
  }
  await secrets.send(
    new UpdateSecretVersionStageCommand({
      SecretId: snapshot.arn,
      VersionStage: STAGE.current,
      MoveToVersionId: previous.versionId,
      RemoveFromVersionId: current.versionId,
    }),
  );
  await setSecret(deps, { secretId: snapshot.arn, token: previous.versionId, pending: restore, userName });
  await recordCutover(deps, snapshot.arn, previous.versionId);
  return {
    userName,
    secretName: snapshot.name,
    restoredKeyId: restore.AccessKeyId,
    reactivated,
    replacedKeyId: current.value.AccessKeyId,
    completed: false,
  };
}

async function recordCutover(deps: RotationDeps, secretArn: string, versionId: string): Promise<void> {
  await deps.clients.secrets.send(
    new TagResourceCommand({
      SecretId: secretArn,
      Tags: [{ Key: TAG.cutover, Value: `${versionId} ${deps.clock.now().toISOString()}` }],
    }),
  );
}
