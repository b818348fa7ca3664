import { TagResourceCommand, UpdateSecretVersionStageCommand } from '@aws-sdk/client-secrets-manager';
import type { Config } from '../config.js';
import { BrokenUserError, KeyrotError, NotManagedError } from '../errors.js';
import { reactivateKey } from '../secret/guard.js';
import { STAGE, secretNameFor, TAG, unfinishedToken } from '../secret/secret.js';
import { keyIdOf, readManagedUser } from '../secret/state.js';
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
  const current = stages.current?.versionId;
  const previous = stages.previous?.versionId;

  // A rollback that moved AWSCURRENT but crashed before recording the cut-over: finish it, don't flip
  // back. (The current key is known to exist and be active: the user is not broken.)
  if (
    current !== undefined &&
    snapshot.cutover !== undefined &&
    snapshot.cutover.versionId !== current &&
    snapshot.cutover.versionId === previous
  ) {
    // The crash may have come before or during the push: push again (idempotent), then record.
    const restored = stages.current?.kind === 'credential' ? stages.current.value : undefined;
    if (restored)
      await setSecret(deps, { secretId: snapshot.arn, token: current, pending: restored, userName });
    await recordCutover(deps, snapshot.arn, current);
    return {
      userName,
      secretName: snapshot.name,
      restoredKeyId: keyIdOf(stages.current) ?? '',
      reactivated: false,
      completed: true,
    };
  }
  if (current === undefined || previous === undefined || stages.previous === undefined) {
    throw new KeyrotError(
      `${snapshot.name} has no previous version to roll back to: keyrot has stored only one key of ${userName} so far. A key from before keyrot, if the user had one, is unchanged in IAM until retirement takes it out; \`keyrot status --user ${userName}\` shows the keys.`,
    );
  }
  if (stages.previous.kind !== 'credential' || stages.previous.value.UserName !== userName) {
    throw new KeyrotError(
      `The previous version of ${snapshot.name} holds no keyrot credential of ${userName}; nothing to roll back to.`,
    );
  }
  const restore = stages.previous.value;
  const replacedKeyId = keyIdOf(stages.current);
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
  if (snapshot.versions.get(current)?.includes(STAGE.pending)) {
    await secrets.send(
      new UpdateSecretVersionStageCommand({
        SecretId: snapshot.arn,
        VersionStage: STAGE.pending,
        RemoveFromVersionId: current,
      }),
    );
  }
  await secrets.send(
    new UpdateSecretVersionStageCommand({
      SecretId: snapshot.arn,
      VersionStage: STAGE.current,
      MoveToVersionId: previous,
      RemoveFromVersionId: current,
    }),
  );
  await setSecret(deps, { secretId: snapshot.arn, token: previous, pending: restore, userName });
  await recordCutover(deps, snapshot.arn, previous);
  return {
    userName,
    secretName: snapshot.name,
    restoredKeyId: restore.AccessKeyId,
    reactivated,
    ...(replacedKeyId ? { replacedKeyId } : {}),
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
